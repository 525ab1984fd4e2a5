#!/bin/bash
# Garbage at volume, the short version of bench/run-garbage.sh (which has the whole story):
# 20,000 random and mutated datagrams at the server and 20,000 at a connected client while a
# ping runs through the tunnel; both survive, every session keeps working, the ping loses at
# most 1 %, a checksummed transfer passes afterwards, and every datagram that arrived is in
# exactly one counter (the kernel's, a drop reason, or taken) on each side.
#
#   c1 (vpn-client alice) ==UDP==> srv (vpn-server) --> lan 192.168.100.10
#   c2 (vpn-garbage as bob) ==garbage==> srv:51820
#   srv (vpn-garbage, raw socket, source 172.31.0.1:51820) ==garbage==> c1's UDP port
source "$(dirname "$0")/lib.sh"

out=$(COUNT=${GARBAGE_COUNT:-20000} TRANSFER_MB=5 PREFIX="$PREFIX" OUT="$WORK/garbage.md" \
      "$ROOT/bench/run-garbage.sh" 2>&1)
rc=$?
grep -E '^(PASS|FAIL):' <<<"$out"
if [ $rc -ne 0 ]; then
    echo "bench/run-garbage.sh exit status $rc:"
    grep -vE '^(PASS|FAIL):' <<<"$out" | tail -n 60
    grep -q '^FAIL:' <<<"$out" || fail "bench/run-garbage.sh ran to the end"
fi
finish
