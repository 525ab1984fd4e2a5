#!/bin/bash
# Clean shutdown with everything on (QoS tree, NAT rule): SIGTERM and SIGINT leave no TUN,
# qdisc, iptables rule or process behind.
#
#   c1 ==UDP==> srv (vpn-server with [qos] enabled and nat_interface = PREFIX-s2l) --> lan
source "$(dirname "$0")/lib.sh"

lab_up 1
for sig in TERM INT; do
    make_server_conf qos.enabled=true qos.total_bandwidth=50Mbps "network.nat_interface=$PREFIX-s2l"
    make_client_conf alice alice "$ALICE_TOKEN"
    start_server -t 2 || { fail "server starts"; continue; }
    start_client 1 alice || fail "client connects"
    check "[$sig] QoS initialized" grep -q "QoS initialized on tun0" "$WORK/server.log"
    check "[$sig] HTB qdisc present" bash -c "ip netns exec $PREFIX-srv tc qdisc show dev tun0 | grep -q htb"
    check "[$sig] MASQUERADE rule present" bash -c "ip netns exec $PREFIX-srv iptables -t nat -S POSTROUTING | grep -q MASQUERADE"
    check "[$sig] ping through the tunnel" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
    enclave_pid=$(sed -n 's/.*Enclave process started (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log" | tail -n1)
    kill -$sig "$SERVER_PID"
    wait "$SERVER_PID"
    check "[$sig] server exits 0" test $? -eq 0
    check "[$sig] no TUN left" bash -c "! ip netns exec $PREFIX-srv ip link show tun0 >/dev/null 2>&1"
    check "[$sig] no MASQUERADE rule left" bash -c "! ip netns exec $PREFIX-srv iptables -t nat -S POSTROUTING | grep -q MASQUERADE"
    sleep 0.3
    check "[$sig] no enclave process left" bash -c "! ps -o pid= --ppid $enclave_pid | grep -q . && ! kill -0 $enclave_pid 2>/dev/null"
    cid=CLIENT_PID_alice
    stop_pid "${!cid}"
    : >"$WORK/server.log"
    : >"$WORK/alice.log"
done
finish
