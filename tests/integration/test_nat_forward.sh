#!/bin/bash
# nat_interface on a host whose FORWARD policy is DROP (as Docker leaves it): the server's own
# chain, jumped to from the top of FORWARD, lets the tunnel's traffic out and its answers back;
# the chain and the jump go at exit, the policy stays the operator's, and a chain left by a
# killed server is replaced, not doubled, at the next start.
#
#   c1 ==UDP==> srv (vpn-server, nat_interface = PREFIX-s2l; iptables -P FORWARD DROP) --> lan
source "$(dirname "$0")/lib.sh"

lab_up 1
CHAIN=vpnse-fwd-tun0
srv iptables -P FORWARD DROP
make_server_conf "network.nat_interface=$PREFIX-s2l"
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 1 || { fail "server starts"; finish; }
start_client 1 alice || fail "client connects"
check "one jump to $CHAIN at the top of FORWARD" \
    bash -c "ip netns exec $PREFIX-srv iptables -S FORWARD | sed -n 2p | grep -q -- '-j $CHAIN'"
check "the chain accepts tun0 -> $PREFIX-s2l" \
    bash -c "ip netns exec $PREFIX-srv iptables -S $CHAIN | grep -q -- '-i tun0 -o $PREFIX-s2l'"
check "ping to the LAN host through the tunnel despite FORWARD DROP" \
    cli 1 ping -c 3 -i 0.2 -W 2 -q 192.168.100.10
# The jump is what makes it work: without it the policy drops the tunnel's packets.
srv iptables -D FORWARD -m comment --comment vpn-server -j $CHAIN
check "without our jump, FORWARD DROP stops the ping" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -i 0.2 -W 1 -q 192.168.100.10 >/dev/null"
srv iptables -I FORWARD 1 -m comment --comment vpn-server -j $CHAIN
check "TCP too (answers come back through conntrack's ESTABLISHED)" \
    bash -c "ip netns exec $PREFIX-lan timeout 5 python3 -c '
import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"192.168.100.10\", 8099)); s.listen(1); c, _ = s.accept(); c.sendall(c.recv(5))' &
sleep 0.5; ip netns exec $PREFIX-c1 timeout 5 python3 -c '
import socket; s = socket.create_connection((\"192.168.100.10\", 8099), 3); s.sendall(b\"hello\")
assert s.recv(5) == b\"hello\"'"

# A killed server leaves its rules; the next start replaces them (one jump, not two).
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
sleep 0.5
: >"$WORK/server.log"
start_server -t 1 || fail "server starts again after kill -9"
check "still exactly one jump after a restart" \
    test "$(srv iptables -S FORWARD | grep -c -- "-j $CHAIN")" = 1
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "server exits 0" test $? -eq 0
check "no jump left in FORWARD" bash -c "! ip netns exec $PREFIX-srv iptables -S FORWARD | grep -q $CHAIN"
check "no chain left" bash -c "! ip netns exec $PREFIX-srv iptables -S $CHAIN >/dev/null 2>&1"
check "the FORWARD policy is still the operator's DROP" \
    bash -c "ip netns exec $PREFIX-srv iptables -S FORWARD | grep -qx -- '-P FORWARD DROP'"
check "no MASQUERADE rule left" \
    bash -c "! ip netns exec $PREFIX-srv iptables -t nat -S POSTROUTING | grep -q MASQUERADE"
finish
