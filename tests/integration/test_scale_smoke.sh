#!/bin/bash
# Scale smoke test: bench/run-scale.sh made small (50 clients from 50 source addresses, 20 s,
# one rekey each), so that `make check` runs the scale benchmark's whole path: its lab, users
# with a token each, vpn-loadgen with --sources, the server's checks. Every PASS/FAIL line is
# the benchmark's own.
#
#   PREFIX-c1 172.31.0.11 + 10.99.0.1 .. 10.99.0.50 --veth-- PREFIX-srv br-wan 172.31.0.1
#   vpn-loadgen: 50 sockets, one per address      ==UDP==>  vpn-server -t 4 (max_clients 50,
#     PING every 25 s, echo every 5 s, rekey 15 s            tun0 10.8.0.1/21) --> PREFIX-lan
#                                                                                192.168.100.10
# Checked: all 50 up; the server's session count 50 throughout; nothing ended, refused or
# dropped; every rekey done; sessions spread over the four workers; every last echo answered.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d /tmp/vpnse-scale-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

CLIENTS=50 DURATION=20 REKEY=15 SAMPLE=2 OUT="$tmp/report.md" PREFIX="ss$$" \
    bash "$ROOT/bench/run-scale.sh" --quick >"$tmp/out" 2>&1
rc=$?
grep -E '^(PASS|FAIL): ' "$tmp/out"
if [ $rc -ne 0 ]; then
    tail -n 60 "$tmp/out"
    grep -q '^FAIL: ' "$tmp/out" || echo "FAIL: bench/run-scale.sh exited $rc"
    exit 1
fi
exit 0
