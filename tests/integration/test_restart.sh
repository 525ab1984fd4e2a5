#!/bin/bash
# A server restart the client survives: it is told (DISCONNECT), reconnects by itself with
# backoff, keeps its address, and the tunnel works again.
#
#   c1 (vpn-client) ==UDP==> srv (vpn-server, restarted) --> lan 192.168.100.10
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 2 || { fail "server starts"; finish; }
start_client 1 alice || fail "client connects"
check "ping before the restart" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
stop_pid "$SERVER_PID"
sleep 1
start_server -t 2 || fail "server starts again"
check "client reconnects by itself" wait_for "$WORK/alice.log" "Reconnected" 15
check "same address after the reconnect" bash -c "ip netns exec $PREFIX-c1 ip -4 addr show tun0 | grep -q 'inet 10.8.0.10/'"
check "ping after the restart" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
finish
