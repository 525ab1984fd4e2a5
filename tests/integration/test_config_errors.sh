#!/bin/bash
# Bad configuration: one message naming file, line and key, exit status 2, and nothing half
# set up (no TUN, no enclave process, no socket).
source "$(dirname "$0")/lib.sh"

lab_up 1
bad_case() {   # bad_case "description" "expected text" section.key=value...
    local what=$1 want=$2; shift 2
    make_server_conf "$@"
    # timeout: a configuration wrongly accepted would otherwise start a server that stays up
    timeout 10 ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" >"$WORK/bad.log" 2>&1
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$want" "$WORK/bad.log" && ! srv ip link show tun0 >/dev/null 2>&1 &&
       [ ! -e "$CONTROL_SOCKET" ]; then
        pass "$what"
    else
        fail "$what (rc=$rc)"; cat "$WORK/bad.log"
    fi
}
bad_case "bad port" "server.conf:[0-9]*: \[server\] listen_port" server.listen_port=70000
bad_case "pool outside the tunnel network" "client_ip_pool_start" network.client_ip_pool_start=10.9.0.10
bad_case "unknown key" "\[server\] colour" server.colour=blue
bad_case "bad bandwidth unit" "total_bandwidth" qos.enabled=true qos.total_bandwidth=50Mbs
bad_case "bad mtu" "\[server\] mtu" server.mtu=100000
bad_case "the enclave's user as the main process's" "\[security\] user: .*vpnse-enclave" \
    security.user=vpnse-enclave
bad_case "the WireGuard port the same as ours" "\[wireguard\] listen_port: 51820 is \[server\]" \
    wireguard.enabled=true wireguard.listen_port=51820

make_server_conf
"$BIN/vpn-server" -c "$WORK/server.conf" --check-config >"$WORK/check.log" 2>&1
check "--check-config accepts the shipped configuration" test $? -eq 0
printf '[class:vip]\nclassid = 1:10\nrate = 20Mbps\nceil = 10Mbps\n' >"$WORK/qos_classes.conf"
"$BIN/vpn-server" -c "$WORK/server.conf" --check-config >"$WORK/check.log" 2>&1
rc=$?
check "--check-config: rate above ceil in the classes file is exit 2 (got $rc)" test $rc -eq 2
check "  ... naming the classes file" grep -q "qos_classes.conf:[0-9]*:" "$WORK/check.log"

# The secret files too, read by vpn-enclave --check (the main process never reads them).
make_server_conf
"$BIN/vpn-server" -c "$WORK/server.conf" --check-config >"$WORK/check.log" 2>&1
check "--check-config reads the users file (3 users) and tells a missing key is made at start" \
    bash -c "[ $? -eq 0 ] && grep -q 'users.conf: 3 users' $WORK/check.log && grep -q 'server.key: no server key yet' $WORK/check.log"
"$BIN/vpn-keygen" "$WORK/server.key" >/dev/null
"$BIN/vpn-server" -c "$WORK/server.conf" --check-config >"$WORK/check.log" 2>&1
check "--check-config: a key file gives its public key" \
    bash -c "[ $? -eq 0 ] && grep -q \"server.key: server key, public key $(server_key)\" $WORK/check.log"
chmod 644 "$WORK/users.conf"
echo "not a key" >"$WORK/server.key"
"$BIN/vpn-server" -c "$WORK/server.conf" --check-config >"$WORK/check.log" 2>&1
rc=$?
check "--check-config: world-readable users file and a broken key: exit 2 (got $rc)" test $rc -eq 2
check "  ... naming both" bash -c "grep -q 'users.conf.*chmod 600' $WORK/check.log && grep -q 'server.key: not a key file' $WORK/check.log"
check "  ... and no OK" bash -c "! grep -q 'Configuration OK' $WORK/check.log"
rm -f "$WORK/server.key"

# Secrets readable by others are refused by the enclave, and nothing is left.
make_server_conf
chmod 644 "$WORK/users.conf"
ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" >"$WORK/perm.log" 2>&1
rc=$?
check "world-readable users file: refused (rc=$rc)" bash -c "[ $rc -ne 0 ] && grep -q 'chmod 600' $WORK/perm.log"
check "  ... and no TUN left" bash -c "! ip netns exec $PREFIX-srv ip link show tun0 >/dev/null 2>&1"
enclave_of_this_test() {
    for p in $(pgrep -x vpn-enclave); do
        tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q -F "$WORK/" && return 0
    done
    return 1
}
check "  ... and no enclave left" bash -c "$(declare -f enclave_of_this_test); WORK=$WORK; ! enclave_of_this_test"
"$BIN/vpn-server" -c /nonexistent.conf >"$WORK/missing.log" 2>&1
check "missing config file: exit 2" test $? -eq 2
"$BIN/vpn-server" -c "$WORK/server.conf" -t 0 >"$WORK/t.log" 2>&1
check "-t 0: exit 2 with a clear message" bash -c "[ $? -eq 2 ] && grep -q 'expected a number of workers' $WORK/t.log"
finish
