#!/bin/bash
# vpnctl's WireGuard onboarding (tools/vpnctl/wg_onboard.c, device_cmd.c) against a running
# server that is never restarted: device add writes [wireguard:USER:DEVICE] to users.conf
# (still 0600) and [device:USER:DEVICE] to qos_classes.conf, the server reloads both; the
# printed wg-quick configuration is taken by `wg-quick strip` and `wg setconf` into a real
# wireguard-go interface (its key is the device's, its peer the server's WireGuard key, the
# preshared key, endpoint, allowed IPs and keepalive as configured); the PNG decodes with
# zbarimg to exactly that configuration; list, remove, user add --wireguard, user remove;
# bad input refused with its reason and nothing changed; two concurrent adds both land.
# When this build's server runs with WireGuard on (the listener and the enclave's part,
# docs/WIREGUARD.md), the printed configuration also connects: wireguard-go pings the server
# through it, as a WireGuard session of that device.
#
#   c1: vpn-client carol (holds a pool address)    srv: vpn-server (control socket),
#       wireguard-go PREFIXw (configuration only)        public_endpoint 172.31.0.1
source "$(dirname "$0")/lib.sh"
for p in wg wg-quick wireguard-go zbarimg; do
    command -v $p >/dev/null || { fail "$p is not installed (tools/install-deps.sh)"; finish; }
done

lab_up 1
umask 077
wg genkey >"$WORK/wireguard.key"
WG_PUB=$(wg pubkey <"$WORK/wireguard.key")
make_server_conf server.public_endpoint=172.31.0.1 network.dns=10.8.0.1 \
    network.dns_search=home.lan "wireguard.private_key_file=$WORK/wireguard.key" \
    wireguard.listen_port=51821
cp "$WORK/server.conf" "$WORK/wg-off.conf"
python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" wireguard.enabled=true
cp "$WORK/server.conf" "$WORK/wg.conf"
chmod 644 "$WORK"/*.conf
chmod 600 "$WORK/users.conf"
# The server runs with WireGuard on when it can (the listener and the enclave's WireGuard key:
# docs/WIREGUARD.md, phase 2); a build without the enclave's part refuses to start with it, and
# then the server runs with WireGuard off and the same files (users.conf, qos_classes.conf,
# the control socket), while vpnctl reads wg.conf. What is tested here is the same either way.
ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" -t 1 >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for _ in $(seq 1 100); do
    grep -q "VPN server is running" "$WORK/server.log" && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
WG_LIVE=1
if ! grep -q "VPN server is running" "$WORK/server.log"; then
    WG_LIVE=
    echo "(vpn-server does not run with WireGuard on here: $(grep -m1 ERROR "$WORK/server.log"))"
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    cp "$WORK/wg-off.conf" "$WORK/server.conf"
    start_server -t 1 || { fail "server starts"; finish; }
fi
VPNCTL=("$BIN/vpnctl" -c "$WORK/wg.conf")
vpnctl() { "${VPNCTL[@]}" "$@"; }
conf_value() { sed -n "s/^$2 = //p" "$1"; }   # conf_value FILE KEY
keys_of() {   # keys_of FILE SECTION: the key lines of [SECTION], sorted
    awk -v h="[$2]" '$0 == h {p = 1; next} /^\[/ {p = 0} p && NF' "$1" | sort
}

# --- refused before anything changes ---
check "WireGuard off in server.conf: refused (exit 2)" \
    bash -c "'$BIN/vpnctl' -c '$WORK/wg-off.conf' device add alice --wireguard --no-qr \
             >/dev/null 2>'$WORK/err'; [ \$? = 2 ] && grep -q 'enabled = true' '$WORK/err'"
cp "$WORK/users.conf" "$WORK/users.before"
cp "$WORK/qos_classes.conf" "$WORK/classes.before"
refused() {   # refused WHAT EXPECTED ARGS...: vpnctl fails, saying EXPECTED
    local what=$1 want=$2; shift 2
    vpnctl "$@" --no-qr >/dev/null 2>"$WORK/err"
    local rc=$? said
    said=$(head -c 150 "$WORK/err")
    if [ $rc != 0 ] && grep -qF -- "$want" "$WORK/err"; then
        pass "$what: refused (exit $rc): $said"
    else
        fail "$what: refused (exit $rc), saying \"$want\": $said"
    fi
}
refused "unknown user" "no user 'zoe'" device add zoe --wireguard
refused "bad device name" "the device name \"my phone\" is not 1 to 15" device add alice --wireguard --name 'my phone'
refused "too long a device name" "the device name \"abcdefghijklmnop\" is not" device add alice --wireguard --name abcdefghijklmnop
refused "address of another user" "10.8.0.10 is already the address of [user:alice]" \
    device add bob --wireguard --address 10.8.0.10
refused "address outside the network" "10.9.0.5 is outside the tunnel network 10.8.0.0/24" \
    device add bob --wireguard --address 10.9.0.5
refused "the server's own address" "the server's own tun_ip" device add bob --wireguard --address 10.8.0.1
refused "not an address" "expected a dotted IPv4 address" device add bob --wireguard --address 10.8.0
refused "without --wireguard" "give --wireguard" device add bob
refused "an --out that cannot be written" "cannot" device add bob --wireguard --out /nonexistent/x.conf
check "... and nothing changed" \
    bash -c "cmp -s '$WORK/users.conf' '$WORK/users.before' && cmp -s '$WORK/qos_classes.conf' '$WORK/classes.before'"

# --- device add ---
vpnctl device add alice --wireguard --name phone --psk --png "$WORK/phone.png" --no-qr \
    >"$WORK/phone.conf" 2>"$WORK/add.err"
check "device add succeeds" test $? -eq 0
check "the server reloaded both files" wait_for "$WORK/server.log" "Users reloaded" 5
check "users.conf is still mode 0600 and root's" test "$(stat -c %a:%u "$WORK/users.conf")" = 600:0
check "the PNG is mode 0600" test "$(stat -c %a "$WORK/phone.png")" = 600
priv=$(conf_value "$WORK/phone.conf" PrivateKey)
pub=$(printf '%s\n' "$priv" | wg pubkey)
psk=$(conf_value "$WORK/phone.conf" PresharedKey)
check "users.conf has [wireguard:alice:phone] with the device's public key (wg pubkey of its private key) and the preshared key" \
    test "$(keys_of "$WORK/users.conf" wireguard:alice:phone)" = "$(printf 'preshared_key = %s\npublic_key = %s' "$psk" "$pub")"
check "the private key is not in users.conf" bash -c "! grep -qF -- '$priv' '$WORK/users.conf'"
check "qos_classes.conf has [device:alice:phone] vpn_ip = 10.8.0.2 (the first address outside the pool)" \
    test "$(keys_of "$WORK/qos_classes.conf" device:alice:phone)" = "vpn_ip = 10.8.0.2"
check "the configuration: address, DNS, MTU" \
    bash -c "grep -qx 'Address = 10.8.0.2/32' '$WORK/phone.conf' && grep -qx 'DNS = 10.8.0.1, home.lan' '$WORK/phone.conf' && grep -qx 'MTU = 1400' '$WORK/phone.conf'"
check "the configuration: the server's WireGuard key, endpoint, routes, keepalive" \
    bash -c "grep -qx 'PublicKey = $WG_PUB' '$WORK/phone.conf' && grep -qx 'Endpoint = 172.31.0.1:51821' '$WORK/phone.conf' && grep -qx 'AllowedIPs = 10.8.0.0/24, 192.168.100.0/24' '$WORK/phone.conf' && grep -qx 'PersistentKeepalive = 25' '$WORK/phone.conf'"

# wg-quick's own parser, then wg setconf into a real (userspace) WireGuard interface.
WGIF=${PREFIX}w
install -m 600 "$WORK/phone.conf" "$WORK/$WGIF.conf"
wg-quick strip "$WORK/$WGIF.conf" >"$WORK/stripped" 2>"$WORK/strip.err"
check "wg-quick strip takes the configuration" test $? -eq 0
cli 1 env WG_PROCESS_FOREGROUND=1 wireguard-go "$WGIF" >"$WORK/wg-go.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "/var/run/wireguard/$WGIF.sock" ] && break; sleep 0.1; done
cli 1 wg setconf "$WGIF" "$WORK/stripped" 2>"$WORK/setconf.err"
check "wg setconf takes it ($(head -c 100 "$WORK/setconf.err"))" test $? -eq 0
dump=$(cli 1 wg show "$WGIF" dump)
check "the interface's key pair is the device's" test "$(sed -n 1p <<<"$dump" | cut -f2)" = "$pub"
check "its one peer is the server's WireGuard key, with the preshared key, endpoint, allowed IPs, keepalive 25" \
    test "$(sed -n 2p <<<"$dump" | cut -f1-4,8)" = "$(printf '%s\t%s\t172.31.0.1:51821\t10.8.0.0/24,192.168.100.0/24\t25' "$WG_PUB" "$psk")"

# With the listener running, the configuration connects: the device pings the server's
# tunnel address through wireguard-go, as wg-quick would set it up.
if [ -n "$WG_LIVE" ]; then
    cli 1 ip addr add 10.8.0.2/32 dev "$WGIF"
    cli 1 ip link set "$WGIF" mtu 1400 up
    cli 1 ip route add 10.8.0.0/24 dev "$WGIF"
    check "with the listener running, the device's configuration connects (ping 10.8.0.1)" \
        cli 1 ping -c 3 -i 0.2 -W 3 -q 10.8.0.1
    check "  ... a WireGuard session of alice's device phone, at 10.8.0.2" \
        test "$(json_get "[(p['protocol'], p['device'], p['vpn_ip']) for p in j['peers'] if p['user'] == 'alice']")" = "[('wireguard', 'phone', '10.8.0.2')]"
    cli 1 ip link del "$WGIF" 2>/dev/null
fi

python3 - "$WORK/phone.png" "$WORK/phone.conf" <<'EOF'
import subprocess, sys
out = subprocess.run(["zbarimg", "--raw", "-q", sys.argv[1]], capture_output=True).stdout
want = open(sys.argv[2], "rb").read()
# zbarimg ends what it decoded with a newline of its own.
sys.exit(0 if out == want + b"\n" else 1)
EOF
check "the PNG decodes (zbarimg) to exactly the printed configuration" test $? -eq 0

# The terminal QR code: UTF-8 half blocks, black on white, after the text.
vpnctl device add bob --wireguard --qr >"$WORK/bob.out" 2>/dev/null
check "--qr prints the code after the configuration" \
    bash -c "grep -q '^PrivateKey = ' '$WORK/bob.out' && grep -c \$'\\e\\[30;107m' '$WORK/bob.out' | awk '{exit !(\$1 > 20)}'"
check "no PresharedKey without --psk" bash -c "! grep -q PresharedKey '$WORK/bob.out'"
check "a device without --name is device1, at the next free address" \
    test "$(keys_of "$WORK/qos_classes.conf" device:bob:device1)" = "vpn_ip = 10.8.0.3"
check "--full-tunnel: AllowedIPs = 0.0.0.0/0" \
    bash -c "'$BIN/vpnctl' -c '$WORK/wg.conf' device add bob --wireguard --full-tunnel --no-qr 2>/dev/null | grep -qx 'AllowedIPs = 0.0.0.0/0'"
refused "a duplicate device" "has a device 'phone' already" device add alice --wireguard --name phone
refused "an address another device has" "already the address of [device:alice:phone]" \
    device add bob --wireguard --address 10.8.0.2

# An address of the pool that a session holds now (carol connects with our own client).
vpnctl user add carol --out "$WORK/carol.conf" 2>/dev/null
python3 "$ROOT/tools/ini-set.py" "$WORK/carol.conf" "client.known_servers_file=$WORK/known_servers" \
    "client.device_file=$WORK/carol.device" "client.control_socket=$WORK/carol.sock"
start_client 1 carol || fail "carol connects"
leased=$(json_get "[p['vpn_ip'] for p in j['peers'] if p['user'] == 'carol'][0]")
refused "the address of a live session ($leased)" "held by a session" device add bob --wireguard --address "$leased"

# --- list ---
list=$(vpnctl device list)
check "device list shows alice's phone with its address, PSK and key" \
    test "$(awk '$1 == "alice" && $2 == "phone" {print $3, $4, $5, $6}' <<<"$list")" = "wireguard 10.8.0.2 yes $pub"
check "device list bob: bob's only" \
    bash -c "'$BIN/vpnctl' -c '$WORK/wg.conf' device list bob | tail -n +2 | awk '{print \$1}' | sort -u | grep -qx bob"
check "device list --json" \
    python3 -c "import json,sys; d=json.loads(sys.argv[1])['devices']; p=[x for x in d if x['device']=='phone'][0]; sys.exit(not (p['user']=='alice' and p['vpn_ip']=='10.8.0.2' and p['public_key']=='$pub' and p['preshared_key'] is True and p['protocol']=='wireguard'))" \
    "$(vpnctl device list --json)"
refused "list of an unknown user" "no user 'zoe'" device list zoe

# --- two at once: both land (the lock), each with its own address ---
vpnctl device add alice --wireguard --name tab1 --no-qr >"$WORK/tab1.conf" 2>"$WORK/tab1.err" &
a1=$!
vpnctl device add alice --wireguard --name tab2 --no-qr >"$WORK/tab2.conf" 2>"$WORK/tab2.err" &
a2=$!
wait $a1; r1=$?
wait $a2; r2=$?
check "two concurrent adds both succeed ($r1, $r2)" test "$r1$r2" = 00
ip1=$(keys_of "$WORK/qos_classes.conf" device:alice:tab1 | sed -n 's/^vpn_ip = //p')
ip2=$(keys_of "$WORK/qos_classes.conf" device:alice:tab2 | sed -n 's/^vpn_ip = //p')
check "... both in both files, with different addresses ($ip1, $ip2)" \
    bash -c "[ -n '$ip1' ] && [ -n '$ip2' ] && [ '$ip1' != '$ip2' ] && grep -q '^\[wireguard:alice:tab1\]' '$WORK/users.conf' && grep -q '^\[wireguard:alice:tab2\]' '$WORK/users.conf'"
check "... as their configurations say" \
    bash -c "grep -qx 'Address = $ip1/32' '$WORK/tab1.conf' && grep -qx 'Address = $ip2/32' '$WORK/tab2.conf'"

# --- remove ---
vpnctl device remove alice phone 2>/dev/null
check "device remove succeeds" test $? -eq 0
check "... both sections gone" \
    bash -c "! grep -q '^\[wireguard:alice:phone\]' '$WORK/users.conf' && ! grep -q '^\[device:alice:phone\]' '$WORK/qos_classes.conf'"
refused "removing it again" "has no device 'phone'" device remove alice phone

# --- user add --wireguard, user remove ---
vpnctl user add dave --wireguard --no-qr --out "$WORK/dave.conf" 2>"$WORK/dave.err"
check "user add --wireguard succeeds" test $? -eq 0
check "... the user, its first device (device1) and the configuration (mode 0600)" \
    bash -c "grep -q '^\[user:dave\]' '$WORK/users.conf' && grep -q '^\[wireguard:dave:device1\]' '$WORK/users.conf' && grep -q '^\[device:dave:device1\]' '$WORK/qos_classes.conf' && test \"\$(stat -c %a '$WORK/dave.conf')\" = 600 && grep -q '^PrivateKey = ' '$WORK/dave.conf'"
vpnctl user remove dave 2>/dev/null
check "user remove takes its devices from both files" \
    bash -c "! grep -q '^\[.*dave' '$WORK/users.conf' && ! grep -q '^\[.*dave' '$WORK/qos_classes.conf'"

check "the server took every change (no reload refused)" \
    bash -c "! grep -qiE 'reload.*(refused|failed)|keeping the' '$WORK/server.log'"
check "the seed's users still connect after all this" \
    test "$(cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" bob "$BOB_TOKEN" handshake 2>&1 | sed -n 's/^status //p')" = 0
finish
