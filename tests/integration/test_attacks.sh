#!/bin/bash
# What the network may send: replayed, tampered, stale and inner-spoofed DATA packets are
# dropped and counted; garbage datagrams of every size never hurt the server.
#
#   c1 (vpn-probe, our test client) ==UDP==> srv (vpn-server) --> lan 192.168.100.10
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
start_server -t 2 || { fail "server starts"; finish; }

out=$(cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" alice "$ALICE_TOKEN" attacks 2>&1)
echo "$out"
check "the two good pings are answered, the four bad packets are not" grep -q "good_replies 2" <<<"$out"
sleep 0.3
drops() { json_get "j['drops']['enclave_$1']"; }
check "replay dropped and counted ($(drops replay))" test "$(drops replay)" -ge 1
check "tampered packet dropped and counted ($(drops auth))" test "$(drops auth)" -ge 1
check "stale packet dropped and counted ($(drops stale))" test "$(drops stale)" -ge 1
check "spoofed inner source dropped and counted ($(drops spoofed_source))" test "$(drops spoofed_source)" -ge 1

# Garbage: every length from 0 to 1500 bytes, random bytes and valid-looking headers.
cli 1 python3 - <<'PY'
import os, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(0, 1501, 7):
    s.sendto(os.urandom(n), ("172.31.0.1", 51820))
for t in range(0, 9):
    for n in (16, 44, 100, 272, 1500):
        body = os.urandom(n - 16)
        s.sendto(struct.pack(">BBHIQ", t, 1, len(body), 0, 0) + body, ("172.31.0.1", 51820))
PY
sleep 0.5
check "server survives garbage" kill -0 "$SERVER_PID"
check "garbage counted as bad headers ($(json_get "j['drops']['rx_header']"))" test "$(json_get "j['drops']['rx_header']")" -ge 100
out=$(cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" alice "$ALICE_TOKEN" attacks 2>&1)
check "still serving after the garbage" grep -q "good_replies 2" <<<"$out"
finish
