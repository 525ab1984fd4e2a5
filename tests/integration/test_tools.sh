#!/bin/bash
# The tools: vpn-keygen interoperates with WireGuard's key format (wg, when installed, must
# agree), vpn-token is SHA-256 of "user:password", vpnctl shows a live session (text and JSON).
source "$(dirname "$0")/lib.sh"

priv=$("$BIN/vpn-keygen" genkey)
pub=$("$BIN/vpn-keygen" pubkey <<<"$priv")
check "genkey gives a 44-character base64 key" test "${#priv}" -eq 44
check "pubkey gives a 44-character base64 key" test "${#pub}" -eq 44
if command -v wg >/dev/null; then
    check "wg pubkey agrees with vpn-keygen pubkey" test "$(wg pubkey <<<"$priv")" = "$pub"
    wpriv=$(wg genkey)
    check "vpn-keygen pubkey reads wg genkey's keys" test "$("$BIN/vpn-keygen" pubkey <<<"$wpriv")" = "$(wg pubkey <<<"$wpriv")"
fi
check "vpn-keygen refuses a malformed key" bash -c "! $BIN/vpn-keygen pubkey <<<'not a key' 2>/dev/null"
want=$(printf 'alice:wonderland' | sha256sum | cut -d' ' -f1)
check "vpn-token = sha256(user:password)" test "$(printf 'wonderland' | "$BIN/vpn-token" --password-stdin alice)" = "$want"
t1=$("$BIN/vpn-token" --random alice </dev/null); t2=$("$BIN/vpn-token" --random alice </dev/null)
check "vpn-token --random: 64 hex digits, new each time" \
    bash -c "[[ '$t1' =~ ^[0-9a-f]{64}\$ ]] && [ '$t1' != '$t2' ]"
check "vpn-token refuses a name with ':'" bash -c "! printf x | $BIN/vpn-token --password-stdin 'a:b' 2>/dev/null"
# The rule of every other door (username.h): ']' cannot be in a [user:NAME] header, a space
# inside a name is fine, one at either end could be written in no file.
check "vpn-token refuses a name with ']'" bash -c "! $BIN/vpn-token --random 'a]b' </dev/null 2>/dev/null"
check "vpn-token refuses a name ending in a space" bash -c "! $BIN/vpn-token --random 'alice ' </dev/null 2>/dev/null"
check "vpn-token takes a name with a space inside" bash -c "$BIN/vpn-token --random --users-line 'Alice Smith' </dev/null | grep -q '^\[user:Alice Smith\]\$'"

lab_up 1
make_server_conf
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 2 || { fail "server starts"; finish; }
start_client 1 alice || fail "client connects"
out=$(ip netns exec "$PREFIX-srv" "$BIN/vpnctl" show -s "$CONTROL_SOCKET")
check "vpnctl show lists alice with her address" bash -c "grep -q 'user: alice' <<<'$out' && grep -q 'vpn ip: 10.8.0.10' <<<'$out'"
json=$(ip netns exec "$PREFIX-srv" "$BIN/vpnctl" show --json -s "$CONTROL_SOCKET")
check "vpnctl show --json parses and has the session" bash -c "python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[\"peers\"][0][\"user\"] == \"alice\"' <<<'$json'"
# Every counter is shown, by the name declared beside its enum (one per drop reason of each
# thread and of the enclave workers, one per header verdict).
want="rx_header rx_unexpected rx_no_session rx_ring_full handshake_rate rx_header_short
rx_header_bad_version rx_header_bad_type rx_header_bad_length tun_not_ipv4 tun_bad_gso
tun_no_session tun_ring_full tun_write udp_send upload_qos tx_no_session enclave_no_session
enclave_replay enclave_auth enclave_stale enclave_spoofed_source enclave_malformed enclave_sequence
enclave_handshake enclave_out_ring_full enclave_expired_key enclave_unanswered_legacy"
missing=$(python3 -c 'import json,sys; d=json.load(sys.stdin)["drops"]; print(" ".join(k for k in sys.argv[1:] if k not in d))' $want <<<"$json")
check "every drop reason and header verdict is in vpnctl show --json (missing: $missing)" test -z "$missing"
text_drops=$(grep -c "rx_header_bad_type [0-9]" <<<"$out")
check "and in the text output" test "$text_drops" -eq 1
check "vpnctl without a server: clear error, exit 1" bash -c "$BIN/vpnctl show -s $WORK/none.sock 2>&1 | grep -q 'cannot reach'; [ \${PIPESTATUS[0]} -eq 1 ]"
status=$(cli 1 "$BIN/vpn-client" status -c "$WORK/alice.conf")
check "vpn-client status shows the connection" grep -q "state: connected" <<<"$status"
cli 1 "$BIN/vpn-client" disconnect -c "$WORK/alice.conf" >/dev/null
check "vpn-client disconnect ends the client cleanly" wait_for "$WORK/alice.log" "Disconnected" 5
finish
