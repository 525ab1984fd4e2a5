#!/bin/bash
# What the client accepts of the session configuration a server pushes (client/push_policy.c):
# every pushed route, also those that cover the server's own address (the helper's throw route
# keeps that address outside the tunnel, client/routes.h); [network] allowed_routes narrows
# them to their overlap, pull_routes = false installs none; a configuration with an unusable
# tunnel prefix or client address is refused whole (nothing configured, retried later); an
# MTU out of range is clamped with a WARN.
#
#   c1 (vpn-client) ==UDP 51820==> srv (vpn-server, pushes 128.0.0.0/1, which covers its own
#                                       172.31.0.1, and a host route to itself besides the
#                                       LAN) --> lan 192.168.100.10
#   c1 (vpn-client) ==UDP 51821==> srv (vpn-fake-server: answers with the test's configuration)
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf "network.push_routes=192.168.100.0/24, 10.77.0.0/16, 128.0.0.0/1, 172.31.0.1/32"
start_server -t 1 || { fail "server starts"; finish; }
make_client_conf alice alice "$ALICE_TOKEN"
routes() { ip netns exec "$PREFIX-c1" ip -4 route show table 51830 2>/dev/null | grep -v '^throw '; }
has_route() { routes | grep -q "^$1 dev tun0"; }
lacks_route() { ! has_route "$1"; }
route_dev() { ip netns exec "$PREFIX-c1" ip route get "$1" 2>/dev/null | grep -o 'dev [^ ]*' | head -n1; }

# 1. Default policy: everything pushed, the server's own address outside the tunnel.
start_client 1 alice || fail "client connects"
check "pushed 192.168.100.0/24 is installed" has_route 192.168.100.0/24
check "pushed 10.77.0.0/16 is installed" has_route 10.77.0.0/16
check "pushed 128.0.0.0/1 (covers the server 172.31.0.1) is installed" has_route 128.0.0.0/1
check "the server's address is the throw route, not a route into tun0" \
    bash -c "ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -qx 'throw 172.31.0.1 ' && ! ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -q '^172.31.0.1 dev'"
check "the server's address stays outside the tunnel ($(route_dev 172.31.0.1))" test "$(route_dev 172.31.0.1)" = "dev $PREFIX-c1"
check "an address under 128.0.0.0/1 goes into the tunnel" test "$(route_dev 172.31.9.9)" = "dev tun0"
check "no WARN about any route" bash -c "! grep -q 'Not installing' $WORK/alice.log"
check "the tunnel works" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
stop_pid "$CLIENT_PID_alice"
check "exit: table 51830 is empty" test -z "$(ip netns exec "$PREFIX-c1" ip -4 route show table 51830 2>/dev/null)"

# 2. allowed_routes: the overlap of each pushed route with the listed networks.
: >"$WORK/alice.log"
python3 "$ROOT/tools/ini-set.py" "$WORK/alice.conf" "network.allowed_routes=192.168.0.0/16, 10.77.5.0/24"
start_client 1 alice || fail "client connects with allowed_routes"
check "allowed_routes: 192.168.100.0/24 (inside 192.168.0.0/16) is installed" has_route 192.168.100.0/24
check "allowed_routes: of 10.77.0.0/16 only 10.77.5.0/24" bash -c "ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -q '^10.77.5.0/24 dev tun0' && ! ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -q '^10.77.0.0/16'"
check "allowed_routes: an INFO line names the part" grep -q "\[INFO\] Pushed route 10.77.0.0/16: installing its part 10.77.5.0/24 (\[network\] allowed_routes)" "$WORK/alice.log"
check "allowed_routes: of 128.0.0.0/1 only 192.168.0.0/16" bash -c "ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -q '^192.168.0.0/16 dev tun0' && ! ip netns exec $PREFIX-c1 ip -4 route show table 51830 | grep -q '^128.0.0.0/1'"
check "allowed_routes: 172.31.0.1/32 is not allowed, with a WARN" grep -q "\[WARN\] Not installing pushed route 172.31.0.1/32: outside \[network\] allowed_routes" "$WORK/alice.log"
check "allowed_routes: the tunnel works" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
stop_pid "$CLIENT_PID_alice"

# 3. pull_routes = false: no pushed route at all.
: >"$WORK/alice.log"
python3 "$ROOT/tools/ini-set.py" "$WORK/alice.conf" network.pull_routes=false
start_client 1 alice || fail "client connects with pull_routes = false"
check "pull_routes = false: no route in the table" test -z "$(routes)"
check "pull_routes = false: no rule either" bash -c "! ip netns exec $PREFIX-c1 ip -4 rule show | grep -q 'proto 86'"
check "pull_routes = false: one line says so" grep -q "Ignoring 4 pushed route(s): \[network\] pull_routes = false" "$WORK/alice.log"
check "pull_routes = false: the LAN is not routed into the tunnel" bash -c "! ip netns exec $PREFIX-c1 ping -c 1 -W 1 -q 192.168.100.10 >/dev/null 2>&1"
stop_pid "$CLIENT_PID_alice"

# 4. A server answering with configurations vpn-server would never send.
make_client_conf fake alice "$ALICE_TOKEN"
python3 "$ROOT/tools/ini-set.py" "$WORK/fake.conf" client.server_port=51821
fake_pid=
no_tun_address() { ! ip netns exec "$PREFIX-c1" ip -4 addr show tun0 2>/dev/null | grep -q inet; }
refused_case() {   # refused_case "what" "reason in the log" FIELD=VALUE...
    local what=$1 why=$2; shift 2
    start_fake "$@" || { fail "$what: fake server starts"; return; }
    run_fake_client
    if wait_for "$WORK/fake.log" "\[ERROR\] Refused the server's session configuration: $why" 5 &&
       wait_for "$WORK/fake.out" "answered 1" 1 && no_tun_address && ! grep -q "Connected!" "$WORK/fake.log" &&
       kill -0 "$fake_client" 2>/dev/null; then
        pass "$what: refused, nothing configured, still retrying"
    else
        fail "$what"; cat "$WORK/fake.log"; ip netns exec "$PREFIX-c1" ip -4 addr show tun0
    fi
    stop_pid "$fake_client"
    stop_pid "$fake_pid"
}
refused_case "tunnel prefix /0" "tunnel prefix length outside /8../30" prefix=0
refused_case "tunnel prefix /31" "tunnel prefix length outside /8../30" prefix=31 client=10.8.0.1 server=10.8.0.0
refused_case "loopback client address" "client address in loopback" prefix=8 client=127.0.0.10 server=127.0.0.1
refused_case "multicast client address" "client address in multicast" client=224.0.0.10 server=224.0.0.1
refused_case "client address outside the tunnel" "client address outside the tunnel network" client=10.9.0.10
refused_case "client address = the network's broadcast" "client address is the tunnel network's broadcast address" client=10.8.0.255
refused_case "client address = the network address" "client address is the tunnel network's network address" client=10.8.0.0
refused_case "client address = the server's" "client address is the server's tunnel address" client=10.8.0.1

start_fake mtu=65535 || fail "fake server starts"
run_fake_client
check "MTU 65535: connects" wait_for "$WORK/fake.log" "Connected!" 5
check "MTU 65535: clamped with a WARN" grep -q "\[WARN\] The server pushed MTU 65535, outside 576..1500: using 1500" "$WORK/fake.log"
check "MTU 65535: tun0 has MTU 1500" bash -c "ip netns exec $PREFIX-c1 ip link show tun0 | grep -q 'mtu 1500 '"
stop_pid "$fake_client"
stop_pid "$fake_pid"
finish
