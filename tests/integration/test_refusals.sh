#!/bin/bash
# Clear one-line refusals with exit status 1, not a timeout: wrong token, unknown user,
# server full. And a changed server key is refused loudly.
#
#   c1, c2 (vpn-client) ==UDP==> srv (vpn-server, max_clients = 1)
source "$(dirname "$0")/lib.sh"

lab_up 2
make_server_conf security.max_clients=1
start_server -t 1 || { fail "server starts"; finish; }

make_client_conf wrong alice 0000000000000000000000000000000000000000000000000000000000000000
start=$(date +%s)
cli 1 "$BIN/vpn-client" connect -c "$WORK/wrong.conf" --server-key "$(server_key)" >"$WORK/wrong.log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
check "wrong token: exit status 1 (got $rc)" test $rc -eq 1
check "wrong token: one clear line" grep -q "\[ERROR\] Authentication failed: wrong username or auth_token" "$WORK/wrong.log"
check "wrong token: answered at once, not a timeout (${took}s)" test $took -le 3
check "server logs the refusal" grep -q "refused: AUTH_FAILED" "$WORK/server.log"

make_client_conf nobody mallory "$ALICE_TOKEN"
cli 1 "$BIN/vpn-client" connect -c "$WORK/nobody.conf" --server-key "$(server_key)" >"$WORK/nobody.log" 2>&1
check "unknown user: exit 1 with the same message" bash -c "[ $? -eq 1 ] && grep -q 'Authentication failed' $WORK/nobody.log"

make_client_conf alice alice "$ALICE_TOKEN"
start_client 1 alice || fail "alice connects"
make_client_conf bob bob "$BOB_TOKEN"
cli 2 "$BIN/vpn-client" connect -c "$WORK/bob.conf" --server-key "$(server_key)" >"$WORK/bob.log" 2>&1
rc=$?
check "server full: exit status 1 (got $rc)" test $rc -eq 1
check "server full: one clear line" grep -q "\[ERROR\] Connection refused: the server is full" "$WORK/bob.log"
check "alice's tunnel is undisturbed" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10

# The key is now pinned for 172.31.0.1:51820; another key must be refused loudly.
other=$("$BIN/vpn-keygen" genkey | "$BIN/vpn-keygen" pubkey)
cli 2 "$BIN/vpn-client" connect -c "$WORK/bob.conf" --server-key "$other" >"$WORK/changed.log" 2>&1
rc=$?
check "changed server key: exit 1 (got $rc)" test $rc -eq 1
check "changed server key: refused loudly" grep -q "HAS CHANGED" "$WORK/changed.log"

# Bad configuration of the client: exit 2 with file and line.
install -m 600 /dev/null "$WORK/bad.conf"
printf '[client]\nserver_ip = 172.31.0.1\nusername = alice\nauth_token = xyz\n' >"$WORK/bad.conf"
"$BIN/vpn-client" connect -c "$WORK/bad.conf" >"$WORK/bad.log" 2>&1
rc=$?
check "bad client config: exit 2 (got $rc)" test $rc -eq 2
check "bad client config: names file, line and key" grep -q "bad.conf:4: \[client\] auth_token" "$WORK/bad.log"
finish
