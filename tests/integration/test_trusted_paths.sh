#!/bin/bash
# Where vpn-server finds the programs it runs (security review, info findings).
#
#   srv: vpn-server [qos] on, nat_interface = PREFIX-s2l      PATH=$WORK/fakebin:$PATH
#        |-- tc, iptables: only from /usr/sbin, /sbin, /usr/bin, /bin
#        `-- vpn-enclave: beside vpn-server, or VPN_ENCLAVE if it passes the checks
#
# - a fake tc, iptables and vpn-enclave first in PATH (and in the working directory) never
#   run: no marker file appears, and QoS and NAT are set up by the real tools;
# - VPN_ENCLAVE is honoured only for an absolute path to a regular file owned by root (or by
#   the server's user) and writable by nobody else; anything else is refused with the reason,
#   before anything is set up (exit 1, no TUN left behind).
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf qos.enabled=true qos.total_bandwidth=50Mbps "network.nat_interface=$PREFIX-s2l"
mkdir -p "$WORK/fakebin"
for tool in tc iptables ip vpn-enclave; do
    printf '#!/bin/sh\necho "$0 $*" >>"%s/marker"\nexit 0\n' "$WORK" >"$WORK/fakebin/$tool"
    chmod 755 "$WORK/fakebin/$tool"
done
cp "$WORK/fakebin/vpn-enclave" "$WORK/vpn-enclave"     # and one in the working directory

# Only the server gets that PATH and working directory (env execs it in place: $! is its PID).
ip netns exec "$PREFIX-srv" env -C "$WORK" PATH="$WORK/fakebin:$PATH" "$BIN/vpn-server" \
    -c "$WORK/server.conf" -t 1 >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!; PIDS+=("$SERVER_PID")
wait_for "$WORK/server.log" "VPN server is running" 10 || { fail "server starts"; finish; }
check "QoS set up (by the real tc)" grep -q "QoS initialized on tun0" "$WORK/server.log"
check "NAT set up (by the real iptables)" grep -q "NAT enabled" "$WORK/server.log"
htb_on_tun() { srv tc qdisc show dev tun0 | grep -q htb; }
check "the HTB tree is there" htb_on_tun
stop_pid "$SERVER_PID"
check "no fake tool ran (no marker)" test ! -e "$WORK/marker"
[ -e "$WORK/marker" ] && cat "$WORK/marker"

# VPN_ENCLAVE: what is refused, and why.
no_tun() { ! srv ip link show tun0 >/dev/null 2>&1; }
refused() {   # refused "what" VALUE "expected reason"
    local what=$1 value=$2 reason=$3 rc
    : >"$WORK/refused.log"
    VPN_ENCLAVE=$value ip netns exec "$PREFIX-srv" timeout 10 "$BIN/vpn-server" \
        -c "$WORK/server.conf" >"$WORK/refused.log" 2>&1
    rc=$?
    check "VPN_ENCLAVE $what: refused (exit 1)" test $rc -eq 1
    check "VPN_ENCLAVE $what: says why" grep -qF "Failed to start enclave process: VPN_ENCLAVE=$value: $reason" "$WORK/refused.log"
    check "VPN_ENCLAVE $what: nothing set up (no tun0)" no_tun
}
install -m 755 "$ROOT/bin/vpn-enclave" "$WORK/enclave-ok"
install -m 775 "$ROOT/bin/vpn-enclave" "$WORK/enclave-group-writable"
install -m 757 "$ROOT/bin/vpn-enclave" "$WORK/enclave-world-writable"
install -m 755 -o 65534 "$ROOT/bin/vpn-enclave" "$WORK/enclave-nobody"
refused "relative path" "bin/vpn-enclave" "must be an absolute path"
refused "missing file" "$WORK/no-such-enclave" "No such file or directory"
refused "directory" "$WORK/fakebin" "not a regular file"
refused "group-writable" "$WORK/enclave-group-writable" "writable by group or others (mode 775)"
refused "world-writable" "$WORK/enclave-world-writable" "writable by group or others (mode 757)"
refused "owned by another user" "$WORK/enclave-nobody" "owned by uid 65534, expected root"

# A good one is used (the tests' own test build goes the same way, see test_enclave.sh).
mv "$WORK/server.log" "$WORK/server-fakebin.log"
VPN_ENCLAVE=$WORK/enclave-ok start_server -t 1 || fail "server starts with VPN_ENCLAVE=$WORK/enclave-ok"
enclave_pid=$(sed -n 's/.*Enclave process started (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log")
check "VPN_ENCLAVE to a root-owned 0755 file: that file runs" \
    test "$(readlink "/proc/$enclave_pid/exe")" = "$WORK/enclave-ok"
stop_pid "$SERVER_PID"
finish
