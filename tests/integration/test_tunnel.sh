#!/bin/bash
# The tunnel end to end: the brief's start-up and connect lines, ping and a 50 MB checksummed
# transfer to the LAN host behind the server, both directions, and a clean shutdown.
#
#   c1 (vpn-client, tun0 10.8.0.x) ==UDP 51820==> srv (vpn-server, tun0 10.8.0.1) --> lan 192.168.100.10
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 2 || { fail "server starts"; finish; }

expected_server=("Starting VPN server..." "Enclave process started (PID: " "TUN interface created: tun0"
                 "TUN IP configured: 10.8.0.1/24" "UDP server listening on port 51820"
                 "VPN server is running...")
order_ok=true
last=0
for line in "${expected_server[@]}"; do
    n=$(grep -n -F -- "[INFO] $line" "$WORK/server.log" | head -n1 | cut -d: -f1)
    if [ -z "$n" ] || [ "$n" -le "$last" ]; then order_ok=false; echo "missing or out of order: $line"; fi
    last=${n:-$last}
done
check "server prints the brief's start-up lines in order" $order_ok
enclave_pid=$(sed -n 's/.*Enclave process started (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log")
check "the logged enclave PID is a live vpn-enclave" test "$(cat /proc/$enclave_pid/comm 2>/dev/null)" = vpn-enclave

start_client 1 alice || fail "client connects"
for line in "Connecting to 172.31.0.1:51820..." "Authentication successful" "VPN IP assigned: 10.8.0.10" \
            "TUN interface configured" "Connected! You can now access internal network."; do
    check "client prints '$line'" grep -q -F -- "[INFO] $line" "$WORK/alice.log"
done
check "client tun0 has the assigned address" bash -c "ip netns exec $PREFIX-c1 ip -4 addr show tun0 | grep -q 'inet 10.8.0.10/24'"
check "pushed route 192.168.100.0/24 goes through tun0" bash -c "ip netns exec $PREFIX-c1 ip route get 192.168.100.10 | grep -q 'dev tun0'"
check "ping 192.168.100.10 through the tunnel" cli 1 ping -c 3 -i 0.2 -W 2 -q 192.168.100.10

# A lone packet's reply is taken by the client's TUN thread when it comes soon (reply_wait.h):
# 50 pings all answered, and the status says most replies came that way (the server is a few
# hundred microseconds away here; a busy machine may let some come later than the window).
waits() { cli 1 "$BIN/vpn-client" status -c "$WORK/alice.conf" | sed -n "s/^replies waited for: \([0-9]*\), taken by the TUN thread: \([0-9]*\)$/\1 \2/p"; }
# Neither the client's main thread nor the server's TUN thread, asleep meanwhile, is woken for
# those replies (vpn/fd_watch.h): before, each reply woke both (50-odd switches each); now the
# main thread wakes for its 250 ms timeouts and the TUN thread not at all.
switches() { sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$1/status"; }
tun_tid=$(grep -lx vpn-tun /proc/"$SERVER_PID"/task/*/comm | cut -d/ -f5)
main_tid=$CLIENT_PID_alice
read -r waits0 caught0 <<<"$(waits)"
main0=$(switches "$main_tid"); tun0=$(switches "$tun_tid")
check "50 pings at 20 ms all answered" cli 1 ping -c 50 -i 0.02 -W 2 -q 192.168.100.10
main1=$(switches "$main_tid"); tun1=$(switches "$tun_tid")
read -r waits1 caught1 <<<"$(waits)"
check "the client waited for the replies ($((waits1 - waits0)) waits) and took at least 25 itself ($((caught1 - caught0)))" \
    test "$((waits1 - waits0))" -ge 25 -a "$((caught1 - caught0))" -ge 25
check "the client's main thread slept through the replies ($((main1 - main0)) wake-ups)" \
    test "$((main1 - main0))" -lt 25
check "the server's TUN thread slept through the replies ($((tun1 - tun0)) wake-ups)" \
    test "$((tun1 - tun0))" -lt 25

# 50 MB each way, checksummed at both ends.
head -c 50000000 /dev/urandom >"$WORK/up.bin"
want=$(sha256sum <"$WORK/up.bin" | cut -d' ' -f1)
start=$(date +%s.%N)
transfer "$PREFIX-lan" 192.168.100.10 7001 "$PREFIX-c1" 192.168.100.10 "$WORK/recv.bin"
secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")
got=$(sha256sum <"$WORK/recv.bin" | cut -d' ' -f1)
check "50 MB client -> LAN arrives intact (${secs}s)" test "$want" = "$got"

transfer "$PREFIX-c1" 0.0.0.0 7002 "$PREFIX-lan" 10.8.0.10 "$WORK/down.bin"
got=$(sha256sum <"$WORK/down.bin" | cut -d' ' -f1)
check "50 MB LAN -> client arrives intact" test "$want" = "$got"

# The status socket knows the session.
shows_alice() { server_status | grep -q 'user: alice'; }
check "control socket shows alice's session" shows_alice

# Clean shutdown: DISCONNECT reaches the client, nothing is left behind.
workers=$(pgrep -P "$enclave_pid" | tr '\n' ' ')
stop_pid "$SERVER_PID"
check "server exits 0 on SIGTERM" test $? -eq 0
check "client is told (DISCONNECT)" wait_for "$WORK/alice.log" "The server ended the session" 3
check "server TUN is gone" bash -c "! ip netns exec $PREFIX-srv ip link show tun0 >/dev/null 2>&1"
alive_procs() {
    alive=""
    for p in $enclave_pid $workers; do
        [ -d /proc/$p ] && [ "$(awk '/^State/ {print $2}' /proc/$p/status 2>/dev/null)" != Z ] && alive="$alive $p"
    done
    [ -z "$alive" ]
}
for _ in $(seq 1 20); do alive_procs && break; sleep 0.1; done
check "enclave and workers exited (left:${alive:- none})" test -z "$alive"
check "control socket removed" test ! -e "$CONTROL_SOCKET"

stop_pid "${CLIENT_PID_alice}"
check "client exits 0 on SIGTERM" test $? -eq 0
check "client TUN is gone" bash -c "! ip netns exec $PREFIX-c1 ip link show tun0 >/dev/null 2>&1"
finish
