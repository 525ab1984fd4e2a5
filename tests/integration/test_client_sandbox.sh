#!/bin/bash
# The client after set-up (client/sandbox.c): uid nobody, CAP_NET_ADMIN only (bounding set
# too), no ambient capabilities, NoNewPrivs, not dumpable, and a seccomp filter on every
# thread; and under all that it still passes traffic, reconfigures its TUN address, MTU and
# routes when a restarted server hands out another network, answers status, and on SIGTERM
# sends DISCONNECT, exits 0 and leaves no TUN or route behind. `user = root` keeps uid 0 with
# a loud WARN but still gives up everything else.
#
#   c1 (vpn-client, user nobody) ==UDP==> srv (vpn-server, restarted on 10.9.0.0/24) --> lan
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 1 || { fail "server starts"; finish; }
start_client 1 alice || { fail "client connects"; finish; }
pid=$CLIENT_PID_alice
field() { awk -v k="$2:" '$1 == k {print $2}' "$1/status"; }
nobody=$(id -u nobody)

sandboxed() {   # sandboxed TASKDIR UID: what every thread of the client must show
    local t=$1 uid=$2 ok=true
    read -r -a uids <<<"$(awk '$1 == "Uid:" {print $2, $3, $4, $5}' "$t/status")"
    for u in "${uids[@]}"; do [ "$u" = "$uid" ] || ok=false; done
    [ "$(field "$t" CapEff)" = 0000000000001000 ] || ok=false
    [ "$(field "$t" CapPrm)" = 0000000000001000 ] || ok=false
    [ "$(field "$t" CapBnd)" = 0000000000001000 ] || ok=false
    [ "$(field "$t" CapInh)" = 0000000000000000 ] || ok=false
    [ "$(field "$t" CapAmb)" = 0000000000000000 ] || ok=false
    [ "$(field "$t" NoNewPrivs)" = 1 ] || ok=false
    [ "$(field "$t" Seccomp)" = 2 ] || ok=false
    $ok || grep -E '^(Name|Uid|Cap|NoNewPrivs|Seccomp):' "$t/status"
    $ok
}
check "Uid (real, effective, saved, fs) is nobody's ($(awk '$1 == "Uid:" {print $2}' /proc/$pid/status))" \
    bash -c "awk '\$1 == \"Uid:\" {exit !(\$2 == $nobody && \$3 == $nobody && \$4 == $nobody && \$5 == $nobody)}' /proc/$pid/status"
check "Gid is nobody's group" bash -c "awk '\$1 == \"Gid:\" {exit !(\$2 == $(id -g nobody) && \$3 == \$2)}' /proc/$pid/status"
check "CapEff is CAP_NET_ADMIN only ($(field /proc/$pid CapEff))" test "$(field /proc/$pid CapEff)" = 0000000000001000
check "NoNewPrivs: 1" test "$(field /proc/$pid NoNewPrivs)" = 1
check "Seccomp: 2 (filter)" test "$(field /proc/$pid Seccomp)" = 2
check "not dumpable: /proc/$pid/status belongs to root" test "$(stat -c %u /proc/$pid/status)" = 0
for t in /proc/$pid/task/*; do
    check "thread $(cat "$t/comm"): nobody, CAP_NET_ADMIN only (bounding too), no ambient, NoNewPrivs, seccomp" sandboxed "$t" "$nobody"
done
check "two threads (main, TUN)" test "$(ls /proc/$pid/task | wc -l)" -eq 2
check "ping through the tunnel" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
check "status over the control socket" bash -c "ip netns exec $PREFIX-c1 $BIN/vpn-client status -c $WORK/alice.conf | grep -q 'state: connected'"

# The server comes back on another tunnel network with another MTU: the client must set a
# new address, MTU and routes with its ioctls, unprivileged, inside its filter.
stop_pid "$SERVER_PID"
: >"$WORK/qos_classes.conf"     # alice's fixed 10.8.0.10 would lie outside 10.9.0.0/24
python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" server.tun_ip=10.9.0.1 server.mtu=1300 \
    network.client_ip_pool_start=10.9.0.50 network.client_ip_pool_end=10.9.0.60
: >"$WORK/server.log"
start_server -t 1 || fail "server starts again"
check "client reconnects by itself" wait_for "$WORK/alice.log" "Reconnected" 15
check "still alive, still filtered" bash -c "[ \"\$(awk '\$1 == \"Seccomp:\" {print \$2}' /proc/$pid/status 2>/dev/null)\" = 2 ]"
tun_has() { ip netns exec "$PREFIX-c1" ip -4 addr show tun0 | grep -q "$1"; }
check "new address 10.9.0.50/24 on tun0" tun_has 'inet 10.9.0.50/24'
check "new MTU 1300 on tun0" bash -c "ip netns exec $PREFIX-c1 ip link show tun0 | grep -q 'mtu 1300 '"
check "the pushed route is in place" bash -c "ip netns exec $PREFIX-c1 ip route get 192.168.100.10 | grep -q 'dev tun0'"
check "ping after the reconnect" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10

# SIGTERM: DISCONNECT sent, exit 0, TUN and routes gone.
stop_pid "$pid"
rc=$?
check "SIGTERM: exit status 0 (got $rc)" test $rc -eq 0
check "SIGTERM: no seccomp kill in the log" bash -c "! grep -q 'seccomp' $WORK/alice.log"
check "SIGTERM: the server got DISCONNECT" wait_for "$WORK/server.log" "alice (10.9.0.50) ended: client disconnected" 3
check "SIGTERM: TUN gone" bash -c "! ip netns exec $PREFIX-c1 ip link show tun0 >/dev/null 2>&1"
check "SIGTERM: no route to the LAN left" bash -c "! ip netns exec $PREFIX-c1 ip route get 192.168.100.10 >/dev/null 2>&1"
check "SIGTERM: no rule of the client left" bash -c "! ip netns exec $PREFIX-c1 ip -4 rule show | grep -q 'proto 86'"

# user = root: the explicit opt-out keeps uid 0, says so loudly, gives up the rest.
: >"$WORK/alice.log"
python3 "$ROOT/tools/ini-set.py" "$WORK/alice.conf" client.user=root
start_client 1 alice || fail "client connects as root"
pid=$CLIENT_PID_alice
check "user = root: a loud WARN" grep -q "\[WARN\] \[client\] user = root in .*keeps uid 0" "$WORK/alice.log"
check "user = root: uid 0, CAP_NET_ADMIN only, NoNewPrivs, seccomp" sandboxed "/proc/$pid" 0
check "user = root: ping" cli 1 ping -c 1 -W 2 -q 192.168.100.10
stop_pid "$pid"
check "user = root: exit status 0 on SIGTERM" test $? -eq 0
finish
