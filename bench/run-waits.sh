#!/usr/bin/env bash
# bench/run-waits.sh: how long vpn-server's data threads wait for each other while one client
# saturates the tunnel (issue 11). alice (c1) runs iperf3 TCP to the LAN host, upload then
# download; for SECONDS of each, bench/waits.bt sorts every sched_yield of the server's
# threads by what it waits for, and counts the TX role's runs per thread (the TX thread's, and
# the RX and TUN threads' borrows). Prints a table per direction, and alice's Mbit/s.
#
# Usage (root, bpftrace installed):  bench/run-waits.sh
# Environment:   LOAD="upload download" THREADS=2 SECONDS_TRACED=8 OUT=bench/results/waits-DATE.md
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-alice-bob.sh"

LOAD=${LOAD:-"upload download"}
THREADS=${THREADS:-2}
SECONDS_TRACED=${SECONDS_TRACED:-8}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/waits-$STAMP.md}
TARGET=$LAN_HOST

bench_need run-waits bpftrace iperf3
bench_tracefs run-waits
bench_lab_up run-waits
bench_alice_bob_up run-waits "$THREADS"
sleep 1

# table FILE: bpftrace's maps as markdown rows.
table() {
    python3 - "$1" <<'PY'
import re, sys
runs, yields, us = {}, {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"@(runs|yields|us)\[([^,\]]+)(?:, (.*))?\]: (\d+)", line.strip())
    if not m:
        continue
    kind, comm, why, v = m.group(1), m.group(2), m.group(3), int(m.group(4))
    {"runs": runs, "yields": yields, "us": us}[kind][(comm, why)] = v
print("| thread | waits for | yields | ms yielded |")
print("|---|---|---:|---:|")
for k in sorted(yields, key=lambda k: -us.get(k, 0)):
    print(f"| {k[0]} | {k[1]} | {yields[k]} | {us.get(k, 0) / 1000:.0f} |")
print()
print("TX role runs: " + ", ".join(f"{c} {n}" for (c, _), n in sorted(runs.items())) + ".")
PY
}

tables=()
for load in $LOAD; do
    args=()
    [ "$load" = download ] && args=(-R)
    cli 1 iperf3 -c "$TARGET" -t $((SECONDS_TRACED + 4)) -J "${args[@]}" >"$WORK/iperf-$load.json" 2>&1 &
    iperf_pid=$!
    PIDS+=("$iperf_pid")
    sleep 2     # the transfer reaches its rate first
    timeout -s INT "$SECONDS_TRACED" bpftrace "$ROOT/bench/waits.bt" "$SERVER_PID" "$BIN/vpn-server" \
        >"$WORK/waits-$load.txt" 2>"$WORK/bpftrace-$load.log"
    wait "$iperf_pid"
    mbps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' \
        "$WORK/iperf-$load.json" 2>/dev/null || echo "?")
    tables+=("### alice's $load, $mbps Mbit/s
$(table "$WORK/waits-$load.txt")")
done

mkdir -p "$(dirname "$OUT")"
{
    echo "## Where the server's threads wait ($(date '+%Y-%m-%d %H:%M'), $(nproc) CPUs, $(uname -r), build $(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
    echo
    echo "vpn-server -t $THREADS, QoS off; alice (c1) runs iperf3 TCP to $TARGET; ${SECONDS_TRACED} s traced (bench/waits.bt)."
    for t in "${tables[@]}"; do
        echo
        echo "$t"
    done
} | tee "$OUT"
