#!/usr/bin/env bash
# bench/run-ping-walk.sh: where one ping's time goes, hop by hop (issue 11). bob (c2) pings the
# LAN host through the tunnel while bench/ping-walk.bt stamps every hand-off (his client, the
# server's threads, its enclave workers, the kernel); alice (c1) may load the tunnel meanwhile
# with iperf3 TCP. Prints per hop p50 / p90 / p99 / max (bench/lib-ping-walk.py).
#
# Usage (root, bpftrace installed):  bench/run-ping-walk.sh
# Environment:   LOAD="idle upload download" THREADS=2 PINGS=300 PING_INTERVAL=0.01
#                OUT=bench/results/ping-walk-DATE.md  RAW=DIR (keeps the traces there)
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-alice-bob.sh"

LOAD=${LOAD:-"idle upload download"}
THREADS=${THREADS:-2}
PINGS=${PINGS:-300}
PING_INTERVAL=${PING_INTERVAL:-0.01}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/ping-walk-$STAMP.md}
TARGET=$LAN_HOST
DURATION=$(awk -v n="$PINGS" -v i="$PING_INTERVAL" 'BEGIN {printf "%d", n * i * 1.6 + 8}')

bench_need run-ping-walk bpftrace iperf3 ping
bench_tracefs run-ping-walk
bench_lab_up run-ping-walk
bench_alice_bob_up run-ping-walk "$THREADS"
sleep 1

tables=()
for load in $LOAD; do
    iperf_pid=
    case $load in
    upload) cli 1 iperf3 -c "$TARGET" -t "$DURATION" >/dev/null 2>&1 & iperf_pid=$! ;;
    download) cli 1 iperf3 -c "$TARGET" -t "$DURATION" -R >/dev/null 2>&1 & iperf_pid=$! ;;
    esac
    [ -n "$iperf_pid" ] && PIDS+=("$iperf_pid")
    # The uprobes name the enclave's binary by path; bpftrace runs from the tree's root.
    # shellcheck disable=SC2154 # set by start_client
    (cd "$ROOT" && exec bpftrace bench/ping-walk.bt "$SERVER_PID" "$CLIENT_PID_bob") \
        >"$WORK/walk-$load.txt" 2>"$WORK/bpftrace-$load.log" &
    bt_pid=$!
    PIDS+=("$bt_pid")
    for _ in $(seq 1 100); do
        grep -q "^Attaching" "$WORK/walk-$load.txt" && break
        sleep 0.1
    done
    sleep 2     # the transfer reaches its rate first
    cli 2 ping -n -c "$PINGS" -i "$PING_INTERVAL" -W 2 "$TARGET" >"$WORK/ping-$load.txt" 2>&1
    kill -INT "$bt_pid" 2>/dev/null
    wait "$bt_pid" 2>/dev/null
    if [ -n "$iperf_pid" ]; then
        kill -TERM "$iperf_pid" 2>/dev/null
        wait "$iperf_pid" 2>/dev/null
    fi
    [ -n "${RAW:-}" ] && mkdir -p "$RAW" && cp "$WORK/walk-$load.txt" "$RAW/"
    tables+=("$(python3 "$ROOT/bench/lib-ping-walk.py" "$WORK/walk-$load.txt" \
        "bob's ping, alice $load" || tail -n 5 "$WORK/bpftrace-$load.log")")
done

mkdir -p "$(dirname "$OUT")"
{
    echo "## One ping's walk ($(date '+%Y-%m-%d %H:%M'), $(nproc) CPUs, $(uname -r), build $(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
    echo
    echo "vpn-server -t $THREADS; bob (c2) pings $TARGET $PINGS times every $PING_INTERVAL s while alice (c1) runs iperf3 TCP to it (or nothing: idle). Each hop: from the stage before it that was seen, in µs (bench/ping-walk.bt)."
    for t in "${tables[@]}"; do
        echo
        echo "$t"
    done
} | tee "$OUT"
