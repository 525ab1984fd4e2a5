#!/bin/bash
# QoS benchmark (REQUIREMENTS.md section 6): three users in their own namespaces saturate a
# 12 Mbit/s total at once, downloads and then uploads; then alice runs a UDP stream inside her
# guarantee (and is pinged from the LAN host) while the other two saturate. All of it with
# [qos] enabled = true, then again with enabled = false. Prints Markdown tables, writes them
# to bench/results/qos-<date>.md and ends with PASS/FAIL lines against the targets:
# Jain >= 0.98 (over throughput / HTB fair share), every user >= 98 % of its guarantee, nobody
# above ceil + 5 %, in-guarantee loss < 0.1 %. Exit status 0 only when all targets are met.
#
#   c1 alice  10.8.0.10  vip    5/10 Mbit prio 1 --+
#   c2 bob    10.8.0.20  normal 3/6  Mbit prio 2 --+==UDP==> srv tun0 (HTB 12 Mbit, 1:1) ---> lan 192.168.100.10
#   c3 guest1 10.8.0.100 guest  2/4  Mbit prio 3 --+         upload: per-session policer     iperf3 -s :5201-5204
#                                                                                              ping
# Needs root, iproute2, iperf3; `make` first. About 3 minutes with the defaults. Knobs:
#   DURATION (s, measured, default 15), WARMUP (s, skipped, 3), STREAMS (TCP per user, 2),
#   LOSS_SECS (UDP test, 15), UDP_RATE (alice's UDP, bit/s, 3000000), MODES ("on off"),
#   TOTAL (total_bandwidth, 12Mbps), PHASES (subset of "idle download upload loss-down loss-up"),
#   RAW_DIR (keep the phases' JSON, tc output, status and server logs there)
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
PREFIX=qb$$
source "$BENCH/../tests/integration/lib.sh"

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
STREAMS=${STREAMS:-2}
LOSS_SECS=${LOSS_SECS:-15}
UDP_RATE=${UDP_RATE:-3000000}
MODES=${MODES:-on off}
PHASES=${PHASES:-idle download upload loss-down loss-up}
TOTAL=${TOTAL:-12Mbps}
GUEST_TOKEN=69b59ab4b198c8766bbae9048844a543577ef6bf23170192648db671b90fd1ad
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=$WORK/results
OUT=$BENCH/results/qos-$STAMP.md
PY="python3 $BENCH/lib-qos.py"

[ "$(id -u)" = 0 ] || { echo "run-qos.sh: needs root (network namespaces)" >&2; exit 2; }
for tool in iperf3 tc ip; do
    command -v "$tool" >/dev/null || { echo "run-qos.sh: $tool not found" >&2; exit 2; }
done
[ -x "$BIN/vpn-server" ] || { echo "run-qos.sh: build first (make)" >&2; exit 2; }
mkdir -p "$RESULTS" "$BENCH/results"

lab_up 3 || { echo "run-qos.sh: lab set-up failed" >&2; exit 1; }
make_client_conf alice alice "$ALICE_TOKEN"
make_client_conf bob bob "$BOB_TOKEN"
make_client_conf guest1 guest1 "$GUEST_TOKEN"
for port in 5201 5202 5203 5204; do
    lan iperf3 -s -p "$port" >/dev/null 2>&1 &
    PIDS+=("$!")
done

want() { [[ " $PHASES " == *" $1 "* ]]; }

run_mode() {   # run_mode on|off
    local mode=$1 enabled=false
    [ "$mode" = on ] && enabled=true
    : >"$WORK/server.log"
    # default_class 1:40: the shipped classes file uses 1:20 for [class:normal]. The default
    # class is idle here; its 1 Mbit/s guarantee is counted in the 12 Mbit/s like the others.
    make_server_conf "qos.enabled=$enabled" "qos.total_bandwidth=$TOTAL" qos.default_rate=1Mbps \
        qos.default_ceil=2Mbps qos.default_class=1:40
    start_server -t 2 || { echo "run-qos.sh: server did not start (QoS $mode)" >&2; return 1; }
    start_client 1 alice && start_client 2 bob && start_client 3 guest1 ||
        { echo "run-qos.sh: clients did not connect (QoS $mode)" >&2; return 1; }
    if [ "$mode" = on ]; then
        grep -q "QoS initialized on tun0" "$WORK/server.log" ||
            { echo "run-qos.sh: QoS did not initialize:" >&2; grep WARN "$WORK/server.log" >&2; return 1; }
        srv tc qdisc show dev tun0 >"$RESULTS/tc-qdisc-$mode.txt"
    fi
    local common=(--prefix "$PREFIX" --work "$WORK" --mode "$mode")
    if want idle; then
        echo "== QoS $mode: idle ping" >&2
        $PY phase idle "${common[@]}" --duration 2 --out "$RESULTS/$mode-idle.json"
    fi
    for kind in download upload; do
        want "$kind" || continue
        echo "== QoS $mode: $kind, 3 users x $STREAMS TCP streams, ${WARMUP}+${DURATION} s" >&2
        $PY phase "$kind" "${common[@]}" --duration "$DURATION" --warmup "$WARMUP" \
            --streams "$STREAMS" --out "$RESULTS/$mode-$kind.json"
        [ "$mode" = on ] && srv tc -s class show dev tun0 >"$RESULTS/tc-class-$mode-$kind.txt"
        sleep 1
    done
    for kind in loss-down loss-up; do
        want "$kind" || continue
        echo "== QoS $mode: $kind, alice UDP $UDP_RATE bit/s + ping, bob and guest1 saturating" >&2
        $PY phase "$kind" "${common[@]}" --duration "$LOSS_SECS" --warmup "$WARMUP" \
            --streams "$STREAMS" --udp-bps "$UDP_RATE" --out "$RESULTS/$mode-$kind.json"
        sleep 1
    done
    server_status >"$RESULTS/status-$mode.txt" 2>&1
    local k=1
    for name in alice bob guest1; do
        local pid=CLIENT_PID_$name
        cli "$k" "$BIN/vpn-client" status -c "$WORK/$name.conf" >"$RESULTS/client-$name-$mode.txt" 2>&1
        stop_pid "${!pid}"
        k=$((k + 1))
    done
    stop_pid "$SERVER_PID"
    if [ "$mode" = on ] && srv tc qdisc show | grep -q htb; then
        echo "run-qos.sh: an htb qdisc is left after the server exited" >&2
    fi
    cp "$WORK/server.log" "$RESULTS/server-$mode.log"
}

for mode in $MODES; do
    run_mode "$mode" || FAILS=$((FAILS + 1))
done

$PY report --results "$RESULTS" --out "$OUT" --total "$(python3 -c "
import re, sys
m = re.fullmatch(r'(\d+(?:\.\d+)?)([kKmMgG]?)(bps|bit)', sys.argv[1])
print(float(m.group(1)) * {'': 1, 'k': 1e3, 'm': 1e6, 'g': 1e9}[m.group(2).lower()])" "$TOTAL")" \
    --classes "$WORK/qos_classes.conf"
rc=$?
echo "results: $OUT"
if [ -n "${RAW_DIR:-}" ]; then
    mkdir -p "$RAW_DIR" && cp -r "$RESULTS"/. "$RAW_DIR"/ && echo "raw data: $RAW_DIR"
fi
[ $FAILS -eq 0 ] && exit $rc
exit 1
