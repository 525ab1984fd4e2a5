#!/bin/bash
# The kill switch ([network] kill_switch = true; client/killswitch.h): from the client's start
# to its clean exit, nothing leaves the machine but through tun0 and to the server's UDP port.
# A ping to an outside address is dropped while the tunnel is down (before the first
# connection, and while the server is away) and passes through the tunnel while it is up;
# the router counts what reaches it from the client, so "nothing leaked" is measured where it
# would arrive. nftables first; iptables when nft is not there (hidden in a mount namespace).
# A clean exit removes the switch; kill -9 of client and helper leaves it armed (fail closed)
# until the next start.
#
#   PREFIX-c1 (vpn-client,      PREFIX-rt (router, counts ICMP    PREFIX-srv (vpn-server,
#   kill_switch = true)          from 10.66.0.0/16)                pushes 0.0.0.0/0, NATs)
#   10.66.1.2 ---------------- 10.66.1.1 / 172.31.0.254 --------- 172.31.0.1
#                              203.0.113.1 ("the internet")
source "$(dirname "$0")/lib.sh"

routed_lab_up || { fail "routed lab comes up"; finish; }
make_server_conf "network.push_routes=0.0.0.0/0" "network.nat_interface=$PREFIX-s2r" \
    "security.keepalive=2"
make_client_conf alice alice "$ALICE_TOKEN"
python3 "$ROOT/tools/ini-set.py" "$WORK/alice.conf" "client.state_dir=$WORK/state" \
    "network.kill_switch=true"
# What reaches the router from the client's networks, directly (not via the server's NAT).
ip netns exec "$PREFIX-rt" iptables -A INPUT -s 10.66.0.0/16 -p icmp
leaked() { ip netns exec "$PREFIX-rt" iptables -L INPUT -v -n -x | awk 'NR == 3 {print $1}'; }
outside() { cli 1 ping -c 1 -W 1 -q "$ROUTED_OUTSIDE" >/dev/null 2>&1; }
blocked() { ! outside; }
armed_nft() { cli 1 nft list table inet vpnse_tun0 >/dev/null 2>&1; }
run_client() {   # run_client [PREFIX COMMAND...]: vpn-client in c1 in the background: $pid
    : >"$WORK/alice.log"
    "$@" ip netns exec "$PREFIX-c1" "$BIN/vpn-client" connect -c "$WORK/alice.conf" \
        --server-key "$(server_key)" >>"$WORK/alice.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
}
# The server's key exists only once it has started: make it now, then stop it.
start_server -t 1 || { fail "server starts"; finish; }
stop_pid "$SERVER_PID"

b0=$(leaked)
check "before: the internet is reached through the router" outside
base=$(leaked)
check "the router counts what comes from the client ($b0 -> $base)" test "$base" -gt "$b0"

# 1. The client starts while the server is away: armed at once, nothing gets out.
run_client
check "armed at start (log)" wait_for "$WORK/alice.log" "Kill switch armed: nothing leaves but through tun0 and to the server" 5
check "an nft table inet vpnse_tun0" armed_nft
check "tunnel down: a ping to the internet is dropped" blocked
check "tunnel down: a ping to the server's address is dropped (only its UDP port passes)" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 1 -W 1 -q 172.31.0.1 >/dev/null 2>&1"
check "tunnel down: the router saw nothing from the client ($base -> $(leaked))" test "$(leaked)" = "$base"
check "tunnel down: the switch counted the drops" bash -c "ip netns exec $PREFIX-c1 nft list table inet vpnse_tun0 | grep -q 'counter packets [1-9]'"

# 2. The server comes: the client connects through the switch, the internet through tun0.
start_server -t 1 || fail "server starts"
check "connects through the switch" wait_for "$WORK/alice.log" "Connected!" 15
tx=$(cli 1 cat /sys/class/net/tun0/statistics/tx_packets)
check "tunnel up: a ping to the internet passes" outside
check "  ... through tun0" test "$(cli 1 cat /sys/class/net/tun0/statistics/tx_packets)" -gt "$tx"
check "  ... and not around it (router: $base -> $(leaked))" test "$(leaked)" = "$base"

# 3. The server goes away: the client reconnects, and nothing leaks meanwhile.
stop_pid "$SERVER_PID"
check "server gone: the client is reconnecting" wait_for "$WORK/alice.log" "The server ended the session: reconnecting" 5
check "server gone: a ping to the internet is dropped" blocked
check "server gone: the switch is still there" armed_nft
check "server gone: the router saw nothing from the client" test "$(leaked)" = "$base"
start_server -t 1 || fail "server starts again"
check "server back: reconnected" wait_for "$WORK/alice.log" "Reconnected" 15
check "server back: the internet through the tunnel" outside

# 4. Clean exit: the switch goes.
stop_pid "$pid"
check "clean exit: status 0" test $? -eq 0
check "clean exit: no nft table left" bash -c "! ip netns exec $PREFIX-c1 nft list table inet vpnse_tun0 >/dev/null 2>&1"
check "clean exit: the internet through the router again" outside

# 5. kill -9 of client and helper: fail closed until the next start.
run_client
wait_for "$WORK/alice.log" "Connected!" 15 || fail "client connects"
kill -KILL "$(ps -o pid= --ppid "$pid" | tr -d ' ' | head -n1)" "$pid"
sleep 0.3
check "both killed: the switch stays armed" armed_nft
check "both killed: the internet stays blocked" blocked
run_client
check "the next start: connected" wait_for "$WORK/alice.log" "Connected!" 15
check "the next start: the old switch was removed" grep -q "Removed what an earlier vpn-client of tun0 left behind: routes kill switch" "$WORK/alice.log"
check "the next start: one table, its own" test "$(cli 1 nft list tables | grep -c vpnse_tun0)" -eq 1
stop_pid "$pid"
check "after the next start's exit: no switch, the internet again" bash -c "! ip netns exec $PREFIX-c1 nft list table inet vpnse_tun0 >/dev/null 2>&1 && ip netns exec $PREFIX-c1 ping -c 1 -W 1 -q $ROUTED_OUTSIDE >/dev/null"

# 6. No nft program (hidden by an empty mount in a namespace of the client's own): iptables.
base=$(leaked)
run_client unshare -m sh -c 'mount --bind /dev/null "$(command -v nft)" && exec "$@"' sh
check "iptables: connected" wait_for "$WORK/alice.log" "Connected!" 15
check "iptables: no nft table" bash -c "! ip netns exec $PREFIX-c1 nft list table inet vpnse_tun0 >/dev/null 2>&1"
check "iptables: chain vpnse-tun0, jumped to first from OUTPUT" \
    bash -c "ip netns exec $PREFIX-c1 iptables -S OUTPUT | sed -n 2p | grep -qx -- '-A OUTPUT -j vpnse-tun0'"
check "iptables: the server's UDP port is the one exception" \
    bash -c "ip netns exec $PREFIX-c1 iptables -S vpnse-tun0 | grep -q -- '-d 172.31.0.1/32 -p udp -m udp --dport 51820 -j ACCEPT'"
check "iptables: IPv6 dropped too" bash -c "ip netns exec $PREFIX-c1 ip6tables -S vpnse-tun0 | grep -q -- '-A vpnse-tun0 -j DROP'"
check "iptables: the internet through the tunnel" outside
check "iptables: the server's address but its UDP port is dropped" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 1 -W 1 -q 172.31.0.1 >/dev/null 2>&1"
check "iptables: the router saw nothing from the client" test "$(leaked)" = "$base"
stop_pid "$pid"
check "iptables: clean exit removes chain and jump (both families)" \
    bash -c "! ip netns exec $PREFIX-c1 iptables -S vpnse-tun0 >/dev/null 2>&1 && ! ip netns exec $PREFIX-c1 ip6tables -S vpnse-tun0 >/dev/null 2>&1 && ! ip netns exec $PREFIX-c1 iptables -S OUTPUT | grep -q vpnse"
check "iptables: the internet through the router again" outside

# 7. The server by name, known only to a resolver beyond the router: the switch lets DNS out
#    while the lookup runs, and only then.
rt_dns() { ip netns exec "$PREFIX-rt" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address=10.66.1.1 --bind-interfaces --address=/vpn.test/172.31.0.1 \
    --address=/other.test/192.0.2.7 --pid-file= >/dev/null 2>&1 & PIDS+=("$!"); }
rt_dns
mkdir -p "/etc/netns/$PREFIX-c1"
echo "nameserver 10.66.1.1" >"/etc/netns/$PREFIX-c1/resolv.conf"
python3 "$ROOT/tools/ini-set.py" "$WORK/alice.conf" "client.server_ip=vpn.test"
check "by name: the resolver answers before the client runs" \
    bash -c "for i in \$(seq 1 20); do ip netns exec $PREFIX-c1 getent hosts other.test >/dev/null && exit 0; sleep 0.1; done; exit 1"
run_client
check "by name: the lookup passes the switch, the client connects" wait_for "$WORK/alice.log" "Connected!" 15
check "by name: after the lookup, DNS is blocked again" \
    bash -c "! ip netns exec $PREFIX-c1 getent hosts other.test >/dev/null"
check "by name: no DNS exception left in the rules" \
    bash -c "! ip netns exec $PREFIX-c1 nft list table inet vpnse_tun0 | grep -q 'dport 53'"
stop_pid "$pid"
finish
