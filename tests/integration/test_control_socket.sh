#!/bin/bash
# The control socket against a local client that misbehaves (security review L10).
#
#   c1: vpn-loadgen (LOAD sessions), vpn-probe as user q"uo\te, vpn-client alice
#        |
#        | UDP 51820
#        v
#   srv: vpn-server --- control socket $CONTROL_SOCKET <--- stall_client.py ("show", never
#                                                       <--- vpnctl            reads)
#
# - the socket is created 0600; a symlink planted at its path before the start is replaced,
#   and the file it pointed to keeps its mode;
# - a client that asks "show" and never reads a reply larger than the socket buffers does not
#   hold the control thread (which also finishes handshakes): alice still connects and pings
#   within the usual time, and vpnctl answers right after;
# - a user name with '"' and '\' comes out of `vpnctl show --json` as valid JSON.
source "$(dirname "$0")/lib.sh"

LOAD=1000
QUSER='q"uo\te'
# Long names make each session's status entry longer: a bigger reply with fewer sessions.
LOADNAME=loadgen-simulated-user-with-a-long-name-for-a-big-status-

lab_up 1
make_server_conf security.max_clients=$((LOAD + 20)) network.client_ip_pool_end=10.8.7.254 \
    server.tun_netmask=21
{
    printf '\n[user:%s]\nauth_token = %s\n' "$QUSER" "$BOB_TOKEN"
    for i in $(seq 0 $((LOAD - 1))); do
        printf '[user:%s%d]\nauth_token = %s\n' "$LOADNAME" "$i" "$ALICE_TOKEN"
    done
} >>"$WORK/users.conf"
printf '\n[user:%s]\nvpn_ip = 10.8.0.30\nclass = normal\n' "$QUSER" >>"$WORK/qos_classes.conf"

# A file the server must not touch, and a link to it where the socket goes.
echo precious >"$WORK/precious"
chmod 644 "$WORK/precious"
mkdir -p "$(dirname "$CONTROL_SOCKET")"
ln -s "$WORK/precious" "$CONTROL_SOCKET"

start_server -t 2 || { fail "server starts"; finish; }
check "control socket is a socket of mode 0600" \
    test "$(stat -c '%F %a' "$CONTROL_SOCKET")" = "socket 600"
check "the symlinked file keeps mode 0644" test "$(stat -c %a "$WORK/precious")" = 644
check "the symlinked file is unchanged" test "$(cat "$WORK/precious")" = precious

# JSON: a name with a quote and a backslash.
cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" "$QUSER" "$BOB_TOKEN" keys 60 >"$WORK/probe.out" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/probe.out" "k_c2s" 5 || fail "probe handshake as $QUSER"
srv "$BIN/vpnctl" show --json -s "$CONTROL_SOCKET" >"$WORK/show.json"
check "vpnctl show --json with user $QUSER parses (python3 -m json.tool)" \
    python3 -m json.tool "$WORK/show.json" /dev/null
check "the JSON names the user $QUSER exactly" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert [p['user'] for p in j['peers']] == [sys.argv[2]], j['peers']" "$WORK/show.json" "$QUSER"

# Many sessions, so that one status reply is larger than what the socket buffers hold.
cli 1 "$BIN/vpn-loadgen" 172.31.0.1 51820 "$(server_key)" "$LOADNAME" "$ALICE_TOKEN" "$LOAD" 60 \
    >"$WORK/load.out" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/load.out" "sessions up" 60 || fail "loadgen sessions"
check "loadgen: all $LOAD sessions up" grep -q "^sessions up $LOAD\$" "$WORK/load.out"
# On a Unix stream socket the sender's SO_SNDBUF (net.core.wmem_default) bounds what can be
# queued for a reader that does not read; the reader's receive buffer does not count.
reply=$(srv "$BIN/vpnctl" show -s "$CONTROL_SOCKET" | wc -c)
sndbuf=$(cat /proc/sys/net/core/wmem_default)
check "one reply ($reply bytes) is larger than the server's send buffer ($sndbuf bytes)" \
    test "$reply" -gt $((sndbuf + sndbuf / 4))

python3 "$ROOT/tests/integration/stall_client.py" "$CONTROL_SOCKET" show 30 >"$WORK/stall.out" 2>&1 &
stall=$!; PIDS+=("$stall")
wait_for "$WORK/stall.out" "sent" 5 || fail "stalling client connects"
sleep 0.5
make_client_conf alice alice "$ALICE_TOKEN"
t0=$(date +%s%N)
check "with a client stalled on the control socket, alice still connects (10 s)" start_client 1 alice
check "and pings through the tunnel" cli 1 ping -c 1 -W 2 -q 192.168.100.10
echo "alice connected and pinged in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "vpnctl answers while that client still holds its connection" \
    bash -c "timeout 5 ip netns exec $PREFIX-srv $BIN/vpnctl show -s $CONTROL_SOCKET | grep -q 'user: alice'"
check "the stalled client is still connected (it was dropped, not waited for)" kill -0 "$stall"
finish
