#!/bin/bash
# WireGuard interoperability of the enclave's handshake and transport (enclave/wg_noise.c,
# wg_transport.c), before the server carries them: Debian's wireguard-go is the initiator,
# tests/tools/wg-echo (our modules, one peer) the responder that answers pings.
#
#   PREFIX-c1 172.31.0.11                          PREFIX-srv 172.31.0.1
#   wireguard-go PREFIXa 10.99.0.2 --udp/51821-->  wg-echo (no PSK) "10.99.0.1"
#   wireguard-go PREFIXb 10.98.0.2 --udp/51822-->  wg-echo (PSK)    "10.98.0.1"
#   wireguard-go PREFIXc 10.97.0.2 --udp/51821-->  (same no-PSK echo: an unknown key)
#   wireguard-go PREFIXd 10.96.0.2 --udp/51822-->  (PSK echo, the right key, a wrong PSK)
#   wireguard-go PREFIXe 10.95.0.2 --udp/51823-->  wg-enclave-echo (PSK) "10.95.0.1": the
#                                                  enclave worker itself, seccomp-filtered
#   wireguard-go PREFIXf 10.94.0.2 --udp/51823-->  (same: an unknown key)
#   wireguard-go PREFIXg 10.93.0.2 --udp/51824-->  wg-echo --always-busy     "10.93.0.1"
#                                                  (the main process's guard, always loaded)
#
# wireguard-go's control sockets (/var/run/wireguard/NAME.sock) are shared by all namespaces:
# the interfaces carry the lab's prefix.
source "$(dirname "$0")/lib.sh"
ECHO=$ROOT/build/tests/tools/wg-echo
ENCLAVE_ECHO=$ROOT/build/tests/tools/wg-enclave-echo
command -v wireguard-go >/dev/null && command -v wg >/dev/null ||
    { fail "wireguard-go and wireguard-tools are not installed (tools/install-deps.sh)"; finish; }

lab_up 1
umask 077
wg genkey >"$WORK/server.wgkey"
SERVER_PUB=$(wg pubkey <"$WORK/server.wgkey")
for n in a b c d e f g; do
    wg genkey >"$WORK/$n.key"
    eval "PUB_$n=\$(wg pubkey <\"$WORK/$n.key\")"
done
wg genpsk >"$WORK/psk"
wg genpsk >"$WORK/wrong.psk"

# vpn-enclave --check as --check-config runs it with [wireguard] enabled: the WireGuard key read
# with server.key's rules, the users file's WireGuard devices counted, or refused by line.
printf '[user:alice]\nauth_token = %s\n[wireguard:alice:phone]\npublic_key = %s\n' \
    "$ALICE_TOKEN" "$PUB_a" >"$WORK/users.conf"
printf '[user:alice]\nauth_token = %s\n[wireguard:alice:phone]\npublic_key = x\n' \
    "$ALICE_TOKEN" >"$WORK/bad-users.conf"
enclave_check() {   # enclave_check USERS_FILE: vpn-enclave --check's output, status last
    "$BIN/vpn-enclave" --check --private-key "$WORK/none.key" --users "$1" \
        --wg-private-key "$WORK/server.wgkey" 2>&1
    echo "status $?"
}
enclave_check "$WORK/users.conf" >"$WORK/check.log"
check "vpn-enclave --check reads the WireGuard key and counts the devices" \
    bash -c "grep -qx '$WORK/server.wgkey: WireGuard key, public key $SERVER_PUB' $WORK/check.log &&
             grep -qx '$WORK/users.conf: 1 user, 1 WireGuard peer' $WORK/check.log &&
             grep -qx 'status 0' $WORK/check.log"
enclave_check "$WORK/bad-users.conf" >"$WORK/check-bad.log"
check "  ... and refuses a bad device section by file, line and key" \
    bash -c "grep -q 'bad-users.conf:4: \[wireguard:alice:phone\] public_key: expected the base64' $WORK/check-bad.log &&
             grep -qx 'status 2' $WORK/check-bad.log"

srv "$ECHO" 51821 "$(cat "$WORK/server.wgkey")" "$PUB_a" >"$WORK/echo1.log" 2>&1 &
PIDS+=($!)
srv "$ECHO" 51822 "$(cat "$WORK/server.wgkey")" "$PUB_b" "$(cat "$WORK/psk")" \
    >"$WORK/echo2.log" 2>&1 &
PIDS+=($!)
srv "$ENCLAVE_ECHO" 51823 "$(cat "$WORK/server.wgkey")" "$PUB_e" 10.95.0.2 "$(cat "$WORK/psk")" \
    >"$WORK/echo3.log" 2>&1 &
PIDS+=($!)
srv "$ECHO" --always-busy 51824 "$(cat "$WORK/server.wgkey")" "$PUB_g" >"$WORK/echo4.log" 2>&1 &
PIDS+=($!)

# wg_peer NAME NET PORT PEER_KEY_FILE [PSK_FILE]: a wireguard-go interface PREFIX+NAME in c1 with
# address NET.2/24, its one peer the echo at 172.31.0.1:PORT for NET.1/32.
wg_peer() {
    local ifn=$PREFIX$1 net=$2 port=$3 key=$4 psk=${5:-}
    cli 1 env WG_PROCESS_FOREGROUND=1 wireguard-go "$ifn" >"$WORK/wg-$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 50); do [ -S "/var/run/wireguard/$ifn.sock" ] && break; sleep 0.1; done
    [ -S "/var/run/wireguard/$ifn.sock" ] || { cat "$WORK/wg-$1.log"; return 1; }
    cli 1 wg set "$ifn" private-key "$key" peer "$SERVER_PUB" endpoint "172.31.0.1:$port" \
        allowed-ips "$net.1/32" ${psk:+preshared-key "$psk"}
    cli 1 ip addr add "$net.2/24" dev "$ifn"
    cli 1 ip link set "$ifn" mtu 1420 up
}
handshakes() { cli 1 wg show "$PREFIX$1" latest-handshakes | awk '{print $2}'; }

wg_peer a 10.99.0 51821 "$WORK/a.key"
check "ping through wireguard-go to our responder (handshake, transport both ways)" \
    cli 1 ping -c 3 -i 0.2 -W 3 -q 10.99.0.1
check "  ... one handshake, three echoes" \
    bash -c "grep -qx 'handshake 1' $WORK/echo1.log && grep -qx 'echo 3' $WORK/echo1.log"
check "  ... and wireguard-go records the handshake" test "$(handshakes a)" -gt 0
check "  ... nothing dropped as unauthenticated" bash -c "! grep -q dropped $WORK/echo1.log"

wg_peer b 10.98.0 51822 "$WORK/b.key" "$WORK/psk"
check "with a preshared key: ping through" cli 1 ping -c 2 -i 0.2 -W 3 -q 10.98.0.1

wg_peer c 10.97.0 51821 "$WORK/c.key"
check "an unknown peer key gets no answer" bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -W 2 -q 10.97.0.1"
check "  ... refused as unknown by the responder" grep -qx 'refused unknown-peer' "$WORK/echo1.log"
check "  ... and wireguard-go has no handshake" test "$(handshakes c)" -eq 0

# The PSK echo's peer key, with a PSK the echo does not have: the response does not open.
wg_peer d 10.96.0 51822 "$WORK/b.key" "$WORK/wrong.psk"
check "a wrong preshared key: no handshake completes" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -W 2 -q 10.96.0.1"
check "  ... wireguard-go has no handshake" test "$(handshakes d)" -eq 0

# The enclave worker's own WireGuard ops (enclave/wg_worker.c) under the worker's seccomp
# filter, driven over its rings as vpn-server drives them: BLAKE2s after wg_blake2s_init must
# need no syscall the filter forbids (it would kill the worker with SIGSYS).
wg_peer e 10.95.0 51823 "$WORK/e.key" "$WORK/psk"
check "through the enclave worker (filtered): ping" cli 1 ping -c 3 -i 0.2 -W 3 -q 10.95.0.1
check "  ... the worker ran filtered, one handshake, three echoes" \
    bash -c "grep -qx 'worker filtered' $WORK/echo3.log && grep -qx 'handshake 1' $WORK/echo3.log && grep -qx 'echo 3' $WORK/echo3.log"
wg_peer f 10.94.0 51823 "$WORK/f.key"
check "  ... an unknown key gets no answer" bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -W 2 -q 10.94.0.1"
check "  ... counted as wg_unknown_peer by the worker" grep -qx 'refused wg_unknown_peer' "$WORK/echo3.log"
check "  ... and the worker never died" bash -c "! grep -q 'worker died' $WORK/echo3.log"

# Under load (whitepaper 5.4.7): the first initiation is answered with a cookie reply, which
# wireguard-go opens and keeps; its next initiation, a retransmission timeout (5 s) later,
# carries mac2 made with that cookie from the same address and port, and is answered.
wg_peer g 10.93.0 51824 "$WORK/g.key"
check "always under load: ping through once wireguard-go has answered a cookie reply" \
    cli 1 ping -c 1 -w 20 -q 10.93.0.1
check "  ... a cookie reply first, then one handshake" \
    bash -c "[ \"\$(head -n1 $WORK/echo4.log)\" = 'cookie 1' ] && grep -qx 'handshake 1' $WORK/echo4.log"
check "  ... nothing refused by the guard" bash -c "! grep -q refused $WORK/echo4.log"
check "  ... and wireguard-go records the handshake" test "$(handshakes g)" -gt 0
finish
