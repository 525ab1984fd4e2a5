#!/usr/bin/env bash
# bench/run-latency-load.sh: latency under load (issue 11). Client c1 (alice) saturates the
# tunnel with iperf3 TCP to the LAN host, one direction at a time; meanwhile client c2 (bob)
# pings the LAN host through its own session. The ping's avg / p99 / max with the tunnel idle,
# under upload and under download, with QoS off and on.
#
#   PREFIX-c1 alice: iperf3 -c ---+                                +--- PREFIX-lan 192.168.100.10
#   PREFIX-c2 bob:   ping -i 0.01 -+== br-wan == vpn-server -t T ==+    iperf3 -s, answers pings
#
# QoS on: total_bandwidth QOS_TOTAL; alice's class (vip) may take all of it (ceil = total), bob
# is in the normal class (3 Mbit/s guaranteed): what the HTB tree gives an interactive user
# while a bulk user fills the link. QoS off: nothing shapes; alice is as fast as the CPUs go.
#
# SERVER_CPUS=LIST (e.g. 0): the server and its enclave on those CPUs, everything else (both
# clients, iperf3 at both ends, ping, the kernel's work on their behalf) on the others: the
# shape of a Pi whose clients are other machines, which this one-VM lab otherwise lacks.
#
# Usage (root):  bench/run-latency-load.sh
# Environment:   THREADS=2 PINGS=500 PING_INTERVAL=0.01 QOS_TOTAL=500Mbps MODES="off on"
#                SERVER_CPUS= OUT=bench/results/latency-load-DATE.md
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib-alice-bob.sh"

THREADS=${THREADS:-2}
PINGS=${PINGS:-500}
PING_INTERVAL=${PING_INTERVAL:-0.01}
QOS_TOTAL=${QOS_TOTAL:-500Mbps}
VIP_RATE=${VIP_RATE:-400Mbps}   # alice's guaranteed rate (the guarantees must fit the total)
MODES=${MODES:-"off on"}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/latency-load-$STAMP.md}
TARGET=$LAN_HOST
SERVER_CPUS=${SERVER_CPUS:-}
DURATION=$(awk -v n="$PINGS" -v i="$PING_INTERVAL" 'BEGIN {printf "%d", n * i * 1.6 + 4}')

bench_need run-latency-load iperf3 ping

# stats FILE: "avg p99 max loss%" of ping's output in FILE (p99 by nearest rank).
stats() {
    local loss
    loss=$(sed -n 's/.* \([0-9.]*%\) packet loss.*/\1/p' "$1")
    sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1" | sort -g | awk -v loss="${loss:-?}" '
        {t[++n] = $1; s += $1}
        END {if (!n) {print "n/a n/a n/a " loss; exit}
             r = int((99 * n + 99) / 100); printf "%.3f %.3f %.3f %s\n", s / n, t[r], t[n], loss}'
}

# ping_during LOAD: bob's ping while LOAD runs (idle | upload | download); prints stats and
# alice's Mbit/s.
ping_during() {
    local load=$1 iperf_pid= mbps=- args=()
    case $load in
    upload) args=() ;;
    download) args=(-R) ;;
    esac
    if [ "$load" != idle ]; then
        cli 1 iperf3 -c "$TARGET" -t "$DURATION" -J "${args[@]}" >"$WORK/iperf-$load.json" 2>&1 &
        iperf_pid=$!
        PIDS+=("$iperf_pid")
        sleep 2     # the transfer reaches its rate first
    fi
    cli 2 ping -n -c "$PINGS" -i "$PING_INTERVAL" -W 2 "$TARGET" >"$WORK/ping-$load.txt" 2>&1
    if [ -n "$iperf_pid" ]; then
        wait "$iperf_pid"
        mbps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' \
            "$WORK/iperf-$load.json" 2>/dev/null || echo "?")
    fi
    echo "$(stats "$WORK/ping-$load.txt") $mbps"
}

# pin_tree CPUS PID: every thread of PID and of its descendants (lib.sh) onto CPUS.
pin_tree() {
    local cpus=$1 p
    for p in "$2" $(descendants "$2"); do
        taskset -a -p -c "$cpus" "$p" >/dev/null || return 1
    done
}
OTHER_CPUS=
if [ -n "$SERVER_CPUS" ]; then
    OTHER_CPUS=$(python3 - "$SERVER_CPUS" "$(nproc --all)" <<'PY'
import sys
used = set()
for part in sys.argv[1].split(","):
    a, _, b = part.partition("-")
    used.update(range(int(a), int(b or a) + 1))
print(",".join(str(c) for c in range(int(sys.argv[2])) if c not in used))
PY
)
    [ -n "$OTHER_CPUS" ] || { echo "run-latency-load: SERVER_CPUS leaves no CPU for the rest" >&2; exit 2; }
    # This shell and all it starts from now on (clients, iperf3, ping) run on the others.
    taskset -p -c "$OTHER_CPUS" $$ >/dev/null
fi

bench_lab_up run-latency-load

rows=()
for mode in $MODES; do
    if [ "$mode" = on ]; then
        make_server_conf qos.enabled=true "qos.total_bandwidth=$QOS_TOTAL"
        python3 "$ROOT/tools/ini-set.py" "$WORK/qos_classes.conf" "class:vip.ceil=$QOS_TOTAL" \
            "class:vip.rate=$VIP_RATE"
    else
        make_server_conf
    fi
    : >"$WORK/server.log"
    start_server -t "$THREADS" || { echo "run-latency-load: server did not start (QoS $mode)" >&2; exit 1; }
    if [ -n "$SERVER_CPUS" ]; then
        pin_tree "$SERVER_CPUS" "$SERVER_PID" ||
            { echo "run-latency-load: cannot pin the server to CPUs $SERVER_CPUS" >&2; exit 1; }
    fi
    bench_clients_up "run-latency-load (QoS $mode)"
    sleep 1
    for load in idle upload download; do
        read -r avg p99 max loss mbps <<<"$(ping_during "$load")"
        rows+=("| $mode | $load | $mbps | $avg | $p99 | $max | $loss |")
        echo "QoS $mode, $load: alice $mbps Mbit/s, bob's ping avg $avg p99 $p99 max $max ms, loss $loss" >&2
    done
    # shellcheck disable=SC2154 # set by start_client
    for p in "$CLIENT_PID_alice" "$CLIENT_PID_bob" "$SERVER_PID"; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
done

mkdir -p "$(dirname "$OUT")"
{
    echo "## Latency under load ($(date '+%Y-%m-%d %H:%M'), $(nproc --all) CPUs, $(uname -r), build $(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
    echo
    if [ -n "$SERVER_CPUS" ]; then
        echo "The server and its enclave on CPUs $SERVER_CPUS; clients, iperf3, ping and the LAN host on CPUs $OTHER_CPUS."
        echo
    fi
    echo "vpn-server -t $THREADS; alice (c1) runs iperf3 TCP to $TARGET (upload, then download with -R) while bob (c2) pings $TARGET: $PINGS pings every $PING_INTERVAL s. QoS on: total $QOS_TOTAL, alice's class may take all of it, bob in the normal class."
    echo
    echo "| QoS | alice's load | alice Mbit/s | bob's ping avg ms | p99 ms | max ms | loss |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee "$OUT"
