#!/bin/bash
# M1 of the security review: an on-path attacker flips one byte of the zero padding of the
# client's CONNECT_REQ at a routine rekey. The server must drop that request (never answer it
# with a genuine AUTH_FAILED the client would believe), and the client must not exit: it
# retries and rekeys, and the tunnel keeps working.
#
#   c1 (vpn-client) --UDP--> relay 172.31.0.1:51900 (flips a padding byte of request 2) --> srv :51820
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf security.rekey_interval=15
start_server -t 2 || { fail "server starts"; finish; }
srv python3 "$ROOT/tests/tools/udp-relay.py" 172.31.0.1 51900 172.31.0.1 51820 --flip 2 \
    --log "$WORK/relay.log" &
PIDS+=("$!")
make_client_conf alice alice "$ALICE_TOKEN"
sed -i 's/^server_port = 51820/server_port = 51900/' "$WORK/alice.conf"
sleep 0.5
start_client 1 alice || { fail "client connects through the relay"; finish; }
# The rekey is due after 15 s; the tampered request is dropped and the client retries after
# its backoff (about 1 s): wait until the server logs a rekey.
wait_for "$WORK/server.log" "alice rekeyed" 30
check "the relay flipped a padding byte of the rekey request" grep -q "flipped 2" "$WORK/relay.log"
check "the client is still running" kill -0 "$CLIENT_PID_alice"
check "the client did not report an authentication failure" \
    bash -c "! grep -q 'Authentication failed' $WORK/alice.log"
check "the server answered no request with a failure (no 96/108-byte CONNECT_RESP)" \
    bash -c "! grep -Eq '^resp (96|108)$' $WORK/relay.log"
check "the server refused nothing with AUTH_FAILED" bash -c "! grep -q 'refused: AUTH_FAILED' $WORK/server.log"
check "the client rekeyed after the tampered request" grep -q "alice rekeyed" "$WORK/server.log"
check "the tunnel works after the rekey" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
check "the dropped request is counted (enclave handshake drops)" \
    test "$(json_get 'j["drops"]["enclave_handshake"]')" -ge 1
finish
