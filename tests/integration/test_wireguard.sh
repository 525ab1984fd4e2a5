#!/bin/bash
# WireGuard clients through vpn-server (issue 15, docs/WIREGUARD.md): Debian's wireguard-go in
# the client namespace connects to the server's WireGuard port as alice's device "laptop";
# our own client (bob) works on its own port at the same time.
#
#   c1: wireguard-go PREFIXw 10.8.0.31 --udp/51821--> srv: vpn-server (keys in the enclave)
#       vpn-client tun0 (bob)          --udp/51820-->      tun0 10.8.0.1 --> lan 192.168.100.10
#
# wireguard-go's control sockets (/var/run/wireguard/NAME.sock) are shared by all namespaces:
# the interfaces carry the lab's prefix.
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null && command -v wg >/dev/null ||
    { fail "wireguard-go and wireguard-tools are not installed (tools/install-deps.sh)"; finish; }

lab_up 1
umask 077
make_server_conf "wireguard.enabled=true" "wireguard.listen_port=51821"
for n in laptop tablet stranger carol; do
    wg genkey >"$WORK/$n.key"
    eval "PUB_$n=\$(wg pubkey <\"$WORK/$n.key\")"
done
wg genpsk >"$WORK/laptop.psk"
wg genpsk >"$WORK/tablet.psk"
wg genpsk >"$WORK/wrong.psk"
cat >>"$WORK/users.conf" <<EOF2

[wireguard:alice:laptop]
public_key = $PUB_laptop
preshared_key = $(cat "$WORK/laptop.psk")

[wireguard:alice:tablet]
public_key = $PUB_tablet
preshared_key = $(cat "$WORK/tablet.psk")

[user:carol]
auth_token = $(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
disabled = true

[wireguard:carol:phone]
public_key = $PUB_carol
EOF2
cat >>"$WORK/qos_classes.conf" <<EOF2

[device:alice:laptop]
vpn_ip = 10.8.0.31

[device:carol:phone]
vpn_ip = 10.8.0.32

[device:alice:tablet]
vpn_ip = 10.8.0.34
EOF2
umask 022
start_server -t 2 || { fail "server starts with [wireguard] enabled"; finish; }
check "the server listens on the WireGuard port" \
    grep -q "WireGuard listening on UDP port 51821, public key " "$WORK/server.log"
SERVER_WG_PUB=$(sed -n 's/.*WireGuard listening on UDP port 51821, public key \([^ ]*\).*/\1/p' "$WORK/server.log")
check "  ... and its public key is the one of the key file it made (root's, 0600)" \
    bash -c "test \"\$(wg pubkey <'$WORK/wireguard.key')\" = '$SERVER_WG_PUB' &&
             test \"\$(stat -c %a '$WORK/wireguard.key')\" = 600"


wg_peer w "$WORK/laptop.key" 10.8.0.31 "$WORK/laptop.psk"
check "wireguard-go pings the LAN host through the server (handshake, transport both ways)" \
    cli 1 ping -c 3 -i 0.2 -W 3 -q 192.168.100.10
check "  ... wireguard-go records the handshake" test "$(handshakes w)" -gt 0
check "  ... the server logs alice's WireGuard device" \
    grep -q "Client alice WireGuard device laptop connected from 172.31.0.11:" "$WORK/server.log"
check "  ... vpnctl show names the session's protocol and device" \
    bash -c "$(declare -f server_status json_get); CONTROL_SOCKET=$CONTROL_SOCKET BIN=$BIN
             json_get \"[s['device'] for s in j['peers'] if s['protocol'] == 'wireguard']\" | grep -q laptop"
check "  ... and counts it as a WireGuard session" test "$(json_get "j['wireguard_sessions']")" = 1
check "the server pings the WireGuard device's address" srv ping -c 2 -i 0.2 -W 3 -q 10.8.0.31

# 50 MB each way, checksummed at both ends (as test_tunnel.sh does for our own client).
head -c 50000000 /dev/urandom >"$WORK/up.bin"
want=$(sha256sum <"$WORK/up.bin" | cut -d' ' -f1)
transfer "$PREFIX-lan" 192.168.100.10 7001 "$PREFIX-c1" 192.168.100.10 "$WORK/recv.bin"
check "50 MB WireGuard device -> LAN arrives intact" \
    test "$want" = "$(sha256sum <"$WORK/recv.bin" | cut -d' ' -f1)"
transfer "$PREFIX-c1" 10.8.0.31 7002 "$PREFIX-lan" 10.8.0.31 "$WORK/down.bin"
check "50 MB LAN -> WireGuard device arrives intact" \
    test "$want" = "$(sha256sum <"$WORK/down.bin" | cut -d' ' -f1)"

# Our own protocol on its port at the same time.
make_client_conf bob bob "$BOB_TOKEN"
python3 "$ROOT/tools/ini-set.py" "$WORK/bob.conf" "network.tun_device=tun7"
start_client 1 bob || fail "bob's own client connects beside the WireGuard peer"
check "bob pings through his tunnel while the WireGuard peer is up" \
    cli 1 ping -c 2 -i 0.2 -W 3 -q -I tun7 192.168.100.10
check "  ... and the WireGuard peer still does" cli 1 ping -c 2 -i 0.2 -W 3 -q -I "${PREFIX}w" 192.168.100.10

# Keys in the enclave: the WireGuard static private key and the device's preshared key are in
# a worker's memory and nowhere in the main process's.
b64hex() { python3 -c "import base64,sys; print(base64.b64decode(open(sys.argv[1]).read()).hex())" "$1"; }
needles="wg_static=$(b64hex "$WORK/wireguard.key") wg_psk=$(b64hex "$WORK/laptop.psk")"
# shellcheck disable=SC2086 # two needles
main_scan=$(python3 "$ROOT/tests/integration/memscan.py" "$SERVER_PID" $needles)
enclave_pid=$(sed -n 's/.*Enclave process started (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log")
w0=$(ps -o pid= --ppid "$enclave_pid" | tr -d ' ' | head -n1)
# shellcheck disable=SC2086
worker_scan=$(python3 "$ROOT/tests/integration/memscan.py" "$w0" $needles)
for n in wg_static wg_psk; do
    check "the main process's memory holds no $n" grep -q "^$n absent" <<<"$main_scan"
    check "  ... the same scan finds it in worker $w0" grep -q "^$n found" <<<"$worker_scan"
done

# A new handshake under traffic (the peer forgotten and set again, as a rekey does): the old
# session keeps receiving for the overlap, the new one takes over; the ping barely notices.
cli 1 ping -c 40 -i 0.05 -W 1 -q 192.168.100.10 >"$WORK/rekey-ping.txt" 2>&1 &
ping_pid=$!
sleep 0.5
cli 1 wg set "${PREFIX}w" peer "$SERVER_WG_PUB" remove
cli 1 wg set "${PREFIX}w" peer "$SERVER_WG_PUB" endpoint 172.31.0.1:51821 \
    allowed-ips 10.8.0.0/24,192.168.100.0/24 preshared-key "$WORK/laptop.psk"
cli 1 ip route add 192.168.100.0/24 dev "${PREFIX}w" 2>/dev/null
wait "$ping_pid"
check "a new handshake under traffic is the device's rekey" \
    grep -q "Client alice WireGuard device laptop rekeyed" "$WORK/server.log"
check "  ... and the ping lost at most 3 of 40 ($(grep -o '[0-9]* received' "$WORK/rekey-ping.txt"))" \
    test "$(grep -o '[0-9]* received' "$WORK/rekey-ping.txt" | cut -d' ' -f1)" -ge 37

# Roaming: the client's source port changes mid-ping; the server follows its authenticated
# datagrams.
cli 1 ping -c 30 -i 0.05 -W 1 -q 192.168.100.10 >"$WORK/roam-ping.txt" 2>&1 &
ping_pid=$!
sleep 0.5
cli 1 wg set "${PREFIX}w" listen-port 40123
wait "$ping_pid"
check "roaming: the server follows the device to its new port" \
    grep -q "session of alice moved from 172.31.0.11:[0-9]* to 172.31.0.11:40123" "$WORK/server.log"
check "  ... and the ping lost at most 3 of 30 ($(grep -o '[0-9]* received' "$WORK/roam-ping.txt"))" \
    test "$(grep -o '[0-9]* received' "$WORK/roam-ping.txt" | cut -d' ' -f1)" -ge 27

# Passive keepalive (whitepaper 6.5): data from the device that nothing answers (the LAN host
# drops it) is answered by an empty message after KEEPALIVE_TIMEOUT (10 s), or wireguard-go
# would take the server for gone after 15 s and handshake again.
lan iptables -A INPUT -p udp --dport 9 -j DROP
ka_before=$(json_get "j['wireguard_keepalives_sent']")
wg_rx() { cli 1 wg show "${PREFIX}w" transfer | awk '{print $2}'; }
rx_before=$(wg_rx)
hs_before=$(handshakes w)
# Bound to the WireGuard interface: bob's tunnel in the same namespace routes the LAN too.
cli 1 python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'${PREFIX}w')
s.sendto(b'one-way', ('192.168.100.10', 9))"
keepalive_sent() {
    for _ in $(seq 1 70); do
        [ "$(json_get "j['wireguard_keepalives_sent']")" -gt "$ka_before" ] && return 0
        sleep 0.2
    done
    return 1
}
check "one-way data from the device gets a keepalive back within 14 s" keepalive_sent
sleep 0.5
check "  ... which wireguard-go received: 32 bytes ($rx_before -> $(wg_rx))" \
    test "$(wg_rx)" = $((rx_before + 32))
sleep 5
check "  ... and 15 s after its data, wireguard-go has made no new handshake" \
    test "$(handshakes w)" = "$hs_before"
check "  ... one keepalive for one datagram" \
    test "$(json_get "j['wireguard_keepalives_sent']")" = $((ka_before + 1))

# A spoofed inner source: the device may use its own address only.
drops_before=$(json_get "j['drops'].get('enclave_spoofed_source', 0)")
cli 1 ip addr add 10.8.0.99/32 dev "${PREFIX}w"
cli 1 ping -c 3 -i 0.2 -W 1 -q -I 10.8.0.99 192.168.100.10 >/dev/null 2>&1
drops_after=$(json_get "j['drops'].get('enclave_spoofed_source', 0)")
check "packets from another inner source are dropped and counted ($drops_before -> $drops_after)" \
    test "$drops_after" -ge $((drops_before + 3))

# A flood of initiations from spoofed sources (correct mac1, so each would cost a worker a
# Diffie-Hellman): the WireGuard port goes under load and answers cookie replies instead; the
# device, handshaking anew in the middle of it, gets a cookie reply, comes back with mac2 and
# is let through (whitepaper 5.4.7).
srv ip route add 10.99.0.0/16 via 172.31.0.11
cookies_before=$(json_get "j['cookies_sent']")
to_workers_before=$(json_get "j['drops'].get('enclave_handshake', 0)")
ip netns exec "$PREFIX-c1" "$ROOT/build/tests/tools/vpn-flood" --wireguard 172.31.0.1 51821 "$SERVER_WG_PUB" - \
    20000 30 10.99.0.0/16 >"$WORK/flood.log" 2>&1 &
flood_pid=$!
PIDS+=("$flood_pid")
loaded() {
    for _ in $(seq 1 30); do
        [ "$(json_get "j['under_load']")" = True ] && return 0
        sleep 0.1
    done
    return 1
}
check "a flood of WireGuard initiations puts the server under load" loaded
handshakes_before=$(grep -c "Client alice WireGuard device laptop rekeyed" "$WORK/server.log")
cli 1 wg set "${PREFIX}w" peer "$SERVER_WG_PUB" remove
cli 1 wg set "${PREFIX}w" peer "$SERVER_WG_PUB" endpoint 172.31.0.1:51821 \
    allowed-ips 10.8.0.0/24,192.168.100.0/24 preshared-key "$WORK/laptop.psk"
cli 1 ip route add 192.168.100.0/24 dev "${PREFIX}w" 2>/dev/null
check "  ... the device handshakes through it (cookie reply, then mac2) and pings" \
    cli 1 ping -c 1 -w 20 -q 192.168.100.10
check "  ... a new session of the device" \
    test "$(grep -c "Client alice WireGuard device laptop rekeyed" "$WORK/server.log")" -gt "$handshakes_before"
cookies_after=$(json_get "j['cookies_sent']")
check "  ... cookie replies were sent ($cookies_before -> $cookies_after)" \
    test "$cookies_after" -gt "$cookies_before"
kill -TERM "$flood_pid" 2>/dev/null
wait "$flood_pid" 2>/dev/null
check "  ... while the flood ran ($(cat "$WORK/flood.log"))" grep -q "per second" "$WORK/flood.log"
# Each flood initiation a worker saw is one it refused (its key is random): the count of those
# refusals is what reached the enclave. Under load only mac2-bearing ones may pass, which the
# flood cannot make, so all but the first few (before the load was seen) stay in RX.
flood_sent=$(sed -n 's/^sent \([0-9]*\) requests.*/\1/p' "$WORK/flood.log")
to_workers=$(( $(json_get "j['drops'].get('enclave_handshake', 0)") - to_workers_before ))
check "  ... of which at most 1 % reached the workers ($to_workers of ${flood_sent:-?})" \
    test "${flood_sent:-0}" -gt 1000 -a "$to_workers" -lt $(( ${flood_sent:-0} / 100 ))
unloaded() {
    for _ in $(seq 1 50); do
        [ "$(json_get "j['under_load']")" = False ] && return 0
        sleep 0.1
    done
    return 1
}
check "  ... and the load ends with it" unloaded

# An unknown key and a disabled user's device: no answer at all.
wg_peer s "$WORK/stranger.key" 10.8.0.33
check "an unknown key gets no answer" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -W 2 -q -I ${PREFIX}s 192.168.100.10"
check "  ... wireguard-go has no handshake" test "$(handshakes s)" -eq 0
check "  ... counted by the enclave as an unknown peer" \
    test "$(json_get "j['drops'].get('enclave_wg_unknown_peer', 0)")" -gt 0
# device_sessions_end DEVICE: within 15 s the server has no session of that WireGuard device.
device_sessions_end() {
    for _ in $(seq 1 150); do
        [ "$(json_get "sum(1 for x in j['peers'] if x.get('device') == '$1')")" = 0 ] && return 0
        sleep 0.1
    done
    server_status >&2
    return 1
}

# A device's key with a wrong preshared key: the response does not open at the client.
wg_peer p "$WORK/tablet.key" 10.8.0.34 "$WORK/wrong.psk"
check "a wrong preshared key: no handshake completes" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -W 2 -q -I ${PREFIX}p 192.168.100.10"
check "  ... wireguard-go has no handshake" test "$(handshakes p)" -eq 0
cli 1 ip link del "${PREFIX}p"
# The server answered (it cannot tell a wrong preshared key from the initiation), but no
# transport message confirms its keys: that session ends after two REKEY_TIMEOUTs.
check "  ... and the server's unconfirmed session ends" device_sessions_end tablet

wg_peer c "$WORK/carol.key" 10.8.0.32
check "a disabled user's device gets no answer" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -W 2 -q -I ${PREFIX}c 192.168.100.10"
check "  ... wireguard-go has no handshake" test "$(handshakes c)" -eq 0
check "  ... counted by the enclave as a disabled user's request" \
    test "$(json_get "j['drops'].get('enclave_user_disabled', 0)")" -gt 0

# The device removed from the users file and the server reloaded: its session ends at once,
# and its next handshake gets no answer.
python3 - "$WORK/users.conf" <<'PY'
import re, sys
p = sys.argv[1]
text = open(p).read()
open(p, "w").write(re.sub(r"\[wireguard:alice:laptop\][^\[]*", "", text))
PY
before=$(grep -c "Users reloaded" "$WORK/server.log")
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do [ "$(grep -c "Users reloaded" "$WORK/server.log")" -gt "$before" ] && break; sleep 0.1; done
check "a removed device's session ends at the reload" device_sessions_end laptop
check "  ... and the log says why" \
    grep -q "WireGuard device laptop of user alice removed or re-keyed" "$WORK/server.log"
check "  ... and it gets no answer any more" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 3 -W 2 -q -I ${PREFIX}w 192.168.100.10"
finish
