#!/bin/bash
# A full tunnel with pushed DNS, across a router (README "Full tunnel and DNS"; client/routes.h,
# client/dns_apply.h, client/underlay.h): the server pushes 0.0.0.0/0 and dnsmasq on its
# tunnel address as the resolver; the client reaches a host beyond the server and "the
# internet" through the tunnel while the server's own underlay address stays reachable
# outside it; its resolv.conf (/etc/netns/NAME/resolv.conf, which `ip netns exec` mounts on
# /etc/resolv.conf) names the pushed resolver and search domain, and names resolve through
# it. Routes, rules and resolv.conf come back byte for byte after a clean exit, after kill -9
# of the client (its helper restores), and after kill -9 of client and helper followed by a
# restart (the next start removes the leftovers). The client follows the underlay: moved to
# another network, it reconnects from there. The server's name is looked up at every
# reconnect (a changed address is followed) and a failed lookup is retried, not fatal.
#
#   PREFIX-c1 (vpn-client)      PREFIX-rt (router)                 PREFIX-srv (vpn-server,
#   10.66.1.2 (and 10.66.2.2) -- 10.66.1.1 / 10.66.2.1             dnsmasq on 10.8.0.1,
#   default via 10.66.1.1        172.31.0.254 ------------------- 172.31.0.1, NAT out of s2r)
#   tun0 10.8.0.x ==UDP 51820==> 203.0.113.1 ("the internet")      192.168.100.1 -- PREFIX-lan
#                                                                                   192.168.100.10
source "$(dirname "$0")/lib.sh"

routed_lab_up || { fail "routed lab comes up"; finish; }
make_server_conf "network.push_routes=0.0.0.0/0" "network.nat_interface=$PREFIX-s2r" \
    "network.dns=10.8.0.1" "network.dns_search=home.lan" "security.keepalive=2"
start_server -t 1 || { fail "server starts"; finish; }
srv dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-dynamic \
    --listen-address=10.8.0.1 --address=/www.home.lan/192.168.100.10 \
    --pid-file= --log-facility="$WORK/dnsmasq.log" >/dev/null 2>&1 &
PIDS+=("$!")

# The client namespace's own resolv.conf and hosts, as a machine would have them.
mkdir -p "/etc/netns/$PREFIX-c1"
printf 'nameserver 192.0.2.53\noptions timeout:1 attempts:1\n' >"/etc/netns/$PREFIX-c1/resolv.conf"
cp "/etc/netns/$PREFIX-c1/resolv.conf" "$WORK/resolv.orig"
printf '127.0.0.1 localhost\n172.31.0.1 vpn.test\n' >"/etc/netns/$PREFIX-c1/hosts"
make_client_conf alice alice "$ALICE_TOKEN"
python3 "$ROOT/tools/ini-set.py" "$WORK/alice.conf" "client.server_ip=vpn.test" \
    "client.state_dir=$WORK/state"
RESOLV=/etc/netns/$PREFIX-c1/resolv.conf

route_dev() { cli 1 ip route get "$1" 2>/dev/null | grep -o 'dev [^ ]*' | head -n1; }
no_leftovers() {   # no_leftovers WHAT: rules, table, resolv.conf and backup as before
    local ok=true
    cli 1 ip -4 rule show | grep -q 'proto 86' && { echo "$1: a rule is left"; cli 1 ip -4 rule show; ok=false; }
    [ -z "$(cli 1 ip -4 route show table 51830 2>/dev/null)" ] || { echo "$1: table 51830 not empty"; ok=false; }
    cmp -s "$RESOLV" "$WORK/resolv.orig" || { echo "$1: resolv.conf differs:"; cat "$RESOLV"; ok=false; }
    [ ! -e "$WORK/state/resolv.conf.tun0" ] || { echo "$1: the backup is left"; ok=false; }
    $ok
}
wait_no_leftovers() { for _ in $(seq 1 30); do no_leftovers "$1" >/dev/null && return 0; sleep 0.1; done; no_leftovers "$1"; }
helper_of() { ps -o pid= --ppid "$1" | tr -d ' ' | head -n1; }

check "before: the internet is reached through the router" cli 1 ping -c 1 -W 2 -q "$ROUTED_OUTSIDE"
check "before: nothing of the client's" no_leftovers before

# 1. Connected: a full tunnel, the server's address outside it, the pushed resolver in use.
start_client 1 alice || { fail "client connects"; finish; }
check "the log names the routes and the table" grep -q "Routing into the tunnel: 0.0.0.0/0 (table 51830)" "$WORK/alice.log"
check "the log names the pushed resolver" grep -q "Using the pushed resolvers: 10.8.0.1, search home.lan" "$WORK/alice.log"
check "the internet goes through tun0 ($(route_dev "$ROUTED_OUTSIDE"))" test "$(route_dev "$ROUTED_OUTSIDE")" = "dev tun0"
check "the LAN beyond the server goes through tun0" test "$(route_dev 192.168.100.10)" = "dev tun0"
check "the server's own address stays on the underlay ($(route_dev 172.31.0.1))" test "$(route_dev 172.31.0.1)" = "dev $PREFIX-c2r"
check "the client's own network stays local" test "$(route_dev 10.66.1.1)" = "dev $PREFIX-c2r"
tx_before=$(cli 1 cat /sys/class/net/tun0/statistics/tx_packets)
check "ping a host beyond the server (LAN) through the tunnel" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
check "ping the internet through the tunnel (the server NATs)" cli 1 ping -c 2 -i 0.2 -W 2 -q "$ROUTED_OUTSIDE"
tx_after=$(cli 1 cat /sys/class/net/tun0/statistics/tx_packets)
check "  ... and the packets went into tun0 ($tx_before -> $tx_after)" test "$tx_after" -ge $((tx_before + 4))
check "ping the server's underlay address (outside the tunnel)" cli 1 ping -c 2 -i 0.2 -W 2 -q 172.31.0.1
check "resolv.conf names the pushed resolver" grep -qx "nameserver 10.8.0.1" "$RESOLV"
check "resolv.conf has the pushed search domain" grep -qx "search home.lan" "$RESOLV"
check "resolv.conf keeps the machine's options line" grep -qx "options timeout:1 attempts:1" "$RESOLV"
check "resolv.conf's first line says who wrote it and where the original is" bash -c "head -n1 '$RESOLV' | grep -q '^# vpn-client (tun0): .*$WORK/state/resolv.conf.tun0'"
check "the original is backed up, mode 0600" test "$(stat -c %a "$WORK/state/resolv.conf.tun0" 2>/dev/null)" = 600
check "a short name resolves through the pushed resolver and search domain" \
    bash -c "ip netns exec $PREFIX-c1 getent hosts www | grep -q '^192.168.100.10 .*www.home.lan'"
status=$(ip netns exec "$PREFIX-c1" "$BIN/vpn-client" status -c "$WORK/alice.conf")
check "status: the routes" grep -qx "routes into the tunnel: 1 (table 51830)" <<<"$status"
check "status: the resolvers" grep -qx "resolvers: 10.8.0.1, search home.lan" <<<"$status"
check "status: no kill switch" grep -qx "kill switch: off" <<<"$status"

# 2. Clean exit: everything as before.
stop_pid "$CLIENT_PID_alice"
check "clean exit: status 0" test $? -eq 0
check "clean exit: rules, table and resolv.conf as before" no_leftovers "clean exit"
check "clean exit: the internet through the router again" cli 1 ping -c 1 -W 2 -q "$ROUTED_OUTSIDE"

# 3. kill -9 of the client: its helper sees the socket end and restores.
: >"$WORK/alice.log"
start_client 1 alice || fail "client connects again"
helper=$(helper_of "$CLIENT_PID_alice")
check "the helper runs as root, not dumpable, with a narrow bounding set" \
    bash -c "[ \"\$(awk '\$1 == \"Uid:\" {print \$3}' /proc/$helper/status)\" = 0 ] && [ \"\$(awk '\$1 == \"CapBnd:\" {print \$2}' /proc/$helper/status)\" = 00000000000030c0 ]"
kill -KILL "$CLIENT_PID_alice"
check "kill -9: the helper restores routes and resolv.conf" wait_no_leftovers "kill -9"
# Gone or a zombie: orphaned, the helper's exit is reaped by PID 1, which here (not systemd)
# may take seconds to do it; kill -0 succeeds on a zombie (one CI run failed so).
check "kill -9: the helper is gone" bash -c "for i in \$(seq 1 20); do grep -qs '^State:[[:space:]]*[^Z]' /proc/$helper/status || exit 0; sleep 0.1; done; exit 1"

# 4. kill -9 of both: the leftovers stay, the next start removes them, its exit restores.
: >"$WORK/alice.log"
start_client 1 alice || fail "client connects a third time"
helper=$(helper_of "$CLIENT_PID_alice")
kill -KILL "$helper" "$CLIENT_PID_alice"
sleep 0.3
check "both killed: rule, table and resolv.conf left behind" bash -c "ip netns exec $PREFIX-c1 ip -4 rule show | grep -q 'lookup 51830 proto 86' && grep -q 10.8.0.1 '$RESOLV'"
: >"$WORK/alice.log"
start_client 1 alice || fail "client connects after the crash"
check "the restart says what it removed" grep -q "\[WARN\] Removed what an earlier vpn-client of tun0 left behind: routes resolv.conf" "$WORK/alice.log"
check "after the restart: the tunnel works" cli 1 ping -c 1 -W 2 -q "$ROUTED_OUTSIDE"
check "after the restart: one rule of ours, not two" test "$(cli 1 ip -4 rule show | grep -c 'proto 86')" -eq 2
stop_pid "$CLIENT_PID_alice"
check "after the restart and a clean exit: as before" no_leftovers "restart"

# 5. The underlay changes: the client's network moves to the second link. The throw route
#    needs nothing; the UDP socket picks its new source address at the reconnect.
: >"$WORK/alice.log"
start_client 1 alice || fail "client connects for the move"
cli 1 ip route replace default via 10.66.2.1
cli 1 ip addr del 10.66.1.2/24 dev "$PREFIX-c2r"
check "moved: the client reconnects by itself" wait_for "$WORK/alice.log" "Reconnected" 20
check "moved: the server's address now leaves by the new link" test "$(route_dev 172.31.0.1)" = "dev $PREFIX-c2r2"
check "moved: the internet through the tunnel again" cli 1 ping -c 2 -i 0.2 -W 2 -q "$ROUTED_OUTSIDE"
check "moved: the server saw the new address" grep -q "alice .* from 10.66.2.2:" "$WORK/server.log"
stop_pid "$CLIENT_PID_alice"
cli 1 ip addr add 10.66.1.2/24 dev "$PREFIX-c2r"
cli 1 ip route replace default via 10.66.1.1

# 6. The server's name: looked up again at each reconnect; a failed lookup is retried.
srv ip addr add 172.31.0.2/24 dev "$PREFIX-s2r"
: >"$WORK/alice.log"
start_client 1 alice || fail "client connects by name"
# In place (the mount holds the inode): the name now names the server's new address, where
# it listens after its restart.
printf '127.0.0.1 localhost\n172.31.0.2 vpn.test\n' >"/etc/netns/$PREFIX-c1/hosts"
stop_pid "$SERVER_PID"
python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" server.listen_address=172.31.0.2
start_server -t 1 || fail "server restarts"
check "the name is looked up again at the reconnect" wait_for "$WORK/alice.log" "vpn.test now resolves to 172.31.0.2:51820: following it" 20
check "  ... and the client connects there" wait_for "$WORK/alice.log" "Reconnected" 20
check "  ... the throw route follows" bash -c "ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -q '^throw 172.31.0.2 '"
check "  ... the old address's throw route is gone" bash -c "! ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -q '172.31.0.1 '"
stop_pid "$CLIENT_PID_alice"

printf '127.0.0.1 localhost\n' >"/etc/netns/$PREFIX-c1/hosts"
: >"$WORK/alice.log"
ip netns exec "$PREFIX-c1" "$BIN/vpn-client" connect -c "$WORK/alice.conf" \
    --server-key "$(server_key)" >>"$WORK/alice.log" 2>&1 &
pid=$!
PIDS+=("$pid")
check "an unknown name: warned and retried" wait_for "$WORK/alice.log" "Cannot resolve vpn.test: .*no address yet, next try in" 5
sleep 2
check "  ... still running after the failed lookups" kill -0 "$pid"
echo "172.31.0.2 vpn.test" >>"/etc/netns/$PREFIX-c1/hosts"
check "  ... connects once the name resolves" wait_for "$WORK/alice.log" "Connected!" 20
stop_pid "$pid"
check "  ... and leaves nothing behind" no_leftovers "by name"
finish
