#!/bin/bash
# Connect and disconnect hooks (issue 14 item 4, README "Hooks").
#
#   c1 alice --br-wan-- vpn-server ([hooks] on_connect / on_disconnect write their environment,
#                                    identity and capabilities to files; a slow one is killed)
source "$(dirname "$0")/lib.sh"

lab_up 1
HOOKS=$WORK/hooks
mkdir -p "$HOOKS"
chmod 1777 "$HOOKS"     # the hooks run as the server's user (vpnse), not root
cat >"$HOOKS/record.sh" <<'EOF'
#!/bin/sh
out=$1/$VPN_EVENT.env
env | grep '^VPN_' | sort >"$out"
echo "UID=$(id -u)" >>"$out"
grep '^CapEff\|^CapPrm\|^NoNewPrivs' /proc/self/status | tr -d '\t' >>"$out"
EOF
chmod 755 "$HOOKS/record.sh"
make_server_conf "hooks.on_connect=$HOOKS/record.sh $HOOKS" \
    "hooks.on_disconnect=$HOOKS/record.sh $HOOKS" hooks.timeout=2
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 2 || { fail "server did not start"; finish; }
start_client 1 alice || fail "alice did not connect"

check "on_connect ran" wait_for "$HOOKS/connect.env" "UID=" 5
check "on_connect: user, address, event" \
    bash -c "grep -qx VPN_USER=alice '$HOOKS/connect.env' && grep -qx VPN_ADDRESS=10.8.0.10 '$HOOKS/connect.env' && grep -qx VPN_EVENT=connect '$HOOKS/connect.env'"
check "on_connect: the client's endpoint" grep -q '^VPN_ENDPOINT=172.31.0.11:' "$HOOKS/connect.env"
check "the hook is not root" bash -c "! grep -qx UID=0 '$HOOKS/connect.env' && grep -qx UID=$(id -u vpnse) '$HOOKS/connect.env'"
check "the hook has no capabilities and cannot gain any" \
    bash -c "grep -qx CapEff:0000000000000000 '$HOOKS/connect.env' && grep -qx CapPrm:0000000000000000 '$HOOKS/connect.env' && grep -qx NoNewPrivs:1 '$HOOKS/connect.env'"

cli 1 ping -c 3 -i 0.2 -W 2 192.168.100.10 >/dev/null
# shellcheck disable=SC2154 # set by start_client
stop_pid "$CLIENT_PID_alice"
check "on_disconnect ran when the client left" wait_for "$HOOKS/disconnect.env" "UID=" 5
check "on_disconnect: the reason" grep -q '^VPN_REASON=.' "$HOOKS/disconnect.env"
rx=$(sed -n 's/^VPN_RX_BYTES=//p' "$HOOKS/disconnect.env")
check "on_disconnect: the bytes of the session (rx $rx)" [ "${rx:-0}" -ge 252 ]

# A hook that outlives the timeout is killed, with what it started; the server goes on.
stop_pid "$SERVER_PID"
: >"$WORK/server.log"
python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" \
    "hooks.on_connect=sleep 30 & echo \$! >$HOOKS/child.pid; wait" "hooks.on_disconnect="
start_server -t 2 || fail "server did not start again"
: >"$WORK/alice.log"
start_client 1 alice || fail "alice did not connect again"
check "a slow hook is killed at the timeout" wait_for "$WORK/server.log" "longer than \[hooks\] timeout" 6
sleep 0.5
child=$(cat "$HOOKS/child.pid" 2>/dev/null)
# Gone, or a zombie waiting for whoever reaps orphans here (PID 1 is not an init on this VM).
check "what the hook started is gone too" \
    bash -c "[ -n '$child' ] && { ! [ -e /proc/$child ] || grep -q '^State:.Z' /proc/$child/status; }"
check "the tunnel works meanwhile" cli 1 ping -c 2 -W 2 192.168.100.10
finish
