#!/bin/bash
# Session life (PROTOCOL.md): a rekey switches the server's sending to the new session at once
# and keeps receiving on the old one for 10 s only; an idle session is removed after
# session_timeout; a real client's keepalives keep its quiet session alive.
#
#   c1 (vpn-probe, vpn-client) ==UDP==> srv (vpn-server, session_timeout = 10, keepalive = 2)
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf security.session_timeout=10 security.keepalive=2
start_server -t 2 || { fail "server starts"; finish; }

out=$(cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" alice "$ALICE_TOKEN" rekey 2>&1)
echo "$out"
reply_after() { awk -v k="$1" '$1 == k {print $2}' <<<"$out"; }
check "rekey: the old session is still received (its ping answered)" test "$(reply_after old_now)" = 1
check "rekey: the server already answers on the new session" bash -c "grep -A1 '^reply_on' <<<'$out' | head -1 | grep -q new"
check "rekey: answers go out on the new session only" bash -c "! grep -q 'reply_on old' <<<'$out'"
check "rekey: after the 10 s overlap the old session is gone" test "$(reply_after old_after_overlap)" = 0
check "rekey: the new session lives on" test "$(reply_after new_after_overlap)" = 1
check "rekey: the server logged it" grep -q "alice rekeyed" "$WORK/server.log"
check "rekey: same address kept" bash -c "[ \$(grep -c 'VPN IP 10.8.0.10' $WORK/server.log) -ge 2 ]"

out=$(cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" bob "$BOB_TOKEN" idle 13 2>&1)
check "idle: a silent session is removed after session_timeout" grep -q "after_idle_replies 0" <<<"$out"
check "idle: the server logged the idle timeout" grep -q "bob (10.8.0.20) ended: idle timeout" "$WORK/server.log"

make_client_conf guest1 guest1 69b59ab4b198c8766bbae9048844a543577ef6bf23170192648db671b90fd1ad
start_client 1 guest1 || fail "client connects"
sleep 13
check "keepalive: a quiet client's session survives the idle timeout" bash -c "! grep -q 'guest1 (10.8.0.100) ended' $WORK/server.log"
check "keepalive: and the tunnel still works" cli 1 ping -c 1 -W 2 -q 192.168.100.10
stop_pid "$CLIENT_PID_guest1"
stop_pid "$SERVER_PID"

# A real client rekeying under traffic: rekey_interval 15 s, a ping every 0.1 s for 20 s.
: >"$WORK/server.log"
make_server_conf security.rekey_interval=15
start_server -t 2 || fail "server restarts"
make_client_conf bob bob "$BOB_TOKEN"
start_client 1 bob || fail "bob connects"
loss=$(cli 1 ping -c 200 -i 0.1 -W 1 -q 192.168.100.10 | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
check "rekey under traffic: the client rekeyed by itself" grep -q "bob rekeyed" "$WORK/server.log"
check "rekey under traffic: no ping lost (loss ${loss}%)" test "$loss" = 0
finish
