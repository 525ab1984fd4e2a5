#!/bin/bash
# The multithreaded pipeline: with -t 4 and three clients (so sessions land on different
# workers), many UDP flows of sequence-numbered datagrams at a moderate rate arrive at the LAN
# host complete and in order, per flow; and the server starts and stops cleanly at every -t.
#
#   c1, c2, c3 (vpn-client) ==UDP==> srv (vpn-server -t 4) --> lan 192.168.100.10 (receiver)
source "$(dirname "$0")/lib.sh"

lab_up 3
make_server_conf
start_server -t 4 || { fail "server starts with -t 4"; finish; }
make_client_conf alice alice "$ALICE_TOKEN"
make_client_conf bob bob "$BOB_TOKEN"
make_client_conf guest1 guest1 69b59ab4b198c8766bbae9048844a543577ef6bf23170192648db671b90fd1ad
start_client 1 alice && start_client 2 bob && start_client 3 guest1 || fail "clients connect"
workers=$(json_get "len(set(p['worker'] for p in j['peers']))")
check "the three sessions are spread over $workers workers" test "$workers" -ge 2

FLOWS=8 COUNT=1500
lan python3 - "$WORK/recv.txt" $((3 * FLOWS)) <<'PY' &
import socket, sys, select, time
out, nflows = sys.argv[1], int(sys.argv[2])
socks = []
for f in range(nflows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("192.168.100.10", 9000 + f)); socks.append(s)
last = {f: -1 for f in range(nflows)}; got = {f: 0 for f in range(nflows)}; reorder = 0
deadline = time.time() + 30; idle = None
while time.time() < deadline:
    r, _, _ = select.select(socks, [], [], 0.5)
    if not r:
        if idle and time.time() - idle > 2: break
        continue
    idle = time.time()
    for s in r:
        data = s.recv(2048)
        f, seq = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
        if seq <= last[f]: reorder += 1
        last[f] = max(last[f], seq); got[f] += 1
with open(out, "w") as fh:
    fh.write(f"reordered {reorder}\n")
    for f in range(nflows): fh.write(f"flow {f} {got[f]}\n")
PY
rpid=$!; PIDS+=("$rpid")
sleep 0.5
send_flows() {   # send_flows CLIENT FIRST_FLOW: FLOWS flows, COUNT datagrams each, about 30 Mbit/s per client
    cli "$1" python3 - "$2" "$FLOWS" "$COUNT" <<'PY'
import socket, sys, time
first, flows, count = map(int, sys.argv[1:4])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
pad = bytes(1000)
for seq in range(count):
    for f in range(flows):
        socks[f].sendto((first + f).to_bytes(4, "big") + seq.to_bytes(4, "big") + pad,
                        ("192.168.100.10", 9000 + first + f))
    if seq % 5 == 0:
        time.sleep(0.01)
PY
}
send_flows 1 0 & a=$!
send_flows 2 $FLOWS & b=$!
send_flows 3 $((2 * FLOWS)) & c=$!
wait $a $b $c
wait $rpid
cat "$WORK/recv.txt"
check "no datagram overtook another in any flow" grep -q "^reordered 0$" "$WORK/recv.txt"
lost=$(awk -v c=$COUNT '/^flow/ {l += c - $3} END {print l}' "$WORK/recv.txt")
check "no loss at moderate load ($lost of $((3 * FLOWS * COUNT)) lost)" test "$lost" -eq 0
stop_pid "$SERVER_PID"
check "-t 4 stops cleanly" test $? -eq 0

for t in 1 2 3; do
    : >"$WORK/server.log"
    start_server -t $t || { fail "-t $t starts"; continue; }
    n=$(grep -o "Enclave workers: [0-9]*" "$WORK/server.log" | awk '{print $3}')
    check "-t $t runs $t workers" test "$n" = "$t"
    check "-t $t: clients get back in and ping" bash -c "for i in \$(seq 1 30); do ip netns exec $PREFIX-c1 ping -c1 -W1 -q 192.168.100.10 >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1"
    stop_pid "$SERVER_PID"
    check "-t $t stops cleanly" test $? -eq 0
done
finish
