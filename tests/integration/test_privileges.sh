#!/bin/bash
# The main process after set-up: only CAP_NET_ADMIN and CAP_NET_RAW, optionally as the
# configured unprivileged [security] user, and it still tears down its qdisc and NAT rule.
#
#   c1 (vpn-client) ==UDP==> srv (vpn-server, user = nobody, QoS and NAT on) --> lan
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf security.user=nobody qos.enabled=true qos.total_bandwidth=50Mbps \
    "network.nat_interface=$PREFIX-s2l"
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 2 || { fail "server starts"; finish; }
start_client 1 alice || fail "client connects"
field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
uid=$(field "$SERVER_PID" Uid)
check "main process runs as nobody (uid $uid)" test "$uid" = "$(id -u nobody)"
for t in /proc/$SERVER_PID/task/*; do
    name=$(cat "$t/comm")
    eff=$(awk '$1 == "CapEff:" {print $2}' "$t/status")
    # At most the two kept capabilities (a helper thread liburcu started before the uid
    # change keeps none at all).
    check "thread $name has at most CAP_NET_ADMIN+CAP_NET_RAW ($eff)" test $(( 0x$eff & ~0x3000 )) -eq 0
done
check "the packet threads keep CAP_NET_ADMIN+CAP_NET_RAW for the teardown" bash -c \
    "grep -l vpn-tx /proc/$SERVER_PID/task/*/comm | xargs -n1 dirname | xargs -I{} grep -q 'CapEff:.*0000000000003000' {}/status"
check "tunnel works" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
stop_pid "$SERVER_PID"
check "server exits 0" test $? -eq 0
check "no qdisc left (tc ran with the kept capability)" bash -c "! ip netns exec $PREFIX-srv tc qdisc show dev tun0 2>/dev/null | grep -q htb"
check "no MASQUERADE rule left" bash -c "! ip netns exec $PREFIX-srv iptables -t nat -S POSTROUTING | grep -q MASQUERADE"
check "no TUN left" bash -c "! ip netns exec $PREFIX-srv ip link show tun0 >/dev/null 2>&1"
finish
