#!/bin/bash
# bench/run-scale.sh: a thousand real clients ("Hold under attack and at scale", item 3).
# CLIENTS simulated clients (bin/vpn-loadgen), each a real user with its own random token, its
# own UDP socket bound to its own source address, all connected at once to vpn-server -t 4 and
# kept up for DURATION seconds: a PING every 25 s (answered by PONG), an ICMP echo to the LAN
# host through the tunnel every TRAFFIC seconds (a DATA packet whose inner source is the
# client's tunnel address, answered back through the tunnel), a rekey every REKEY seconds as
# vpn-client does (every 45 s by default, so that a rekey of all clients at once happens a
# dozen times), one last echo each at the end.
#
#   PREFIX-c1                                   PREFIX-srv                          PREFIX-lan
#   172.31.0.11 + 10.99.0.1 .. 10.99.3.232 --veth-- br-wan 172.31.0.1               192.168.100.10
#   (one address per client, /32 each)          route 10.99.0.0/22 via 172.31.0.11  ICMP echo
#   vpn-loadgen: 1000 sockets  ==== UDP ====>   vpn-server -t 4, tun0 10.8.0.1/21 -- forwarding -->
#
# Measured and checked (PASS/FAIL lines at the end; exit status 0 only if all pass):
#   - all CLIENTS up; the time to connect them all and the handshake rate meanwhile;
#   - the server's session count (vpnctl) is CLIENTS in every sample from all-up to the end;
#     no session ended by the server (its "ended" log lines: only "replaced by a new
#     handshake" after a rekey and "client disconnected" at the very end are expected); no
#     DISCONNECT or SESSION_UNKNOWN reached a client; no enclave or worker restart;
#   - every rekey succeeded (client side), and the server logged as many;
#   - every client's last echo answered; keepalives answered;
#   - sessions spread evenly over the enclave workers; no handshake refused or dropped;
#   - PSS of vpn-server, its launcher and every vpn-enclave process at the end within 5 % of
#     PSS after the first minute (after DURATION/2 when that is shorter), the shared rings
#     apart (their pages count from a slot's first use; see tree_stats) and, in the full run,
#     all of it. Runs shorter than a minute report PSS without judging it.
#
# Usage (root, after make):
#   bench/run-scale.sh            1000 clients for 600 s (about 12 minutes)
#   bench/run-scale.sh --quick    200 clients for 60 s
# Environment (overrides): CLIENTS, DURATION (s), REKEY (rekey_interval, s), TRAFFIC (s between
# a client's echoes), KEEPALIVE (s), WORKERS (-t), WINDOW (first handshakes in flight, 0 = all
# at once), SAMPLE (s between samples), QOS (1/0), OUT (report file), LOGDIR (keep the logs),
# PREFIX (lab prefix, 1-8 chars).
# The report goes to bench/results/scale-DATE.md (scale-quick-DATE.md with --quick).
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
MODE=full
case "${1:-}" in
    --quick) MODE=quick ;;
    "") ;;
    *) echo "usage: bench/run-scale.sh [--quick]" >&2; exit 2 ;;
esac
PREFIX=${PREFIX:-sc$$}
source "$BENCH/../tests/integration/lib.sh"

if [ "$MODE" = quick ]; then
    CLIENTS=${CLIENTS:-200} DURATION=${DURATION:-60} REKEY=${REKEY:-15} SAMPLE=${SAMPLE:-2}
else
    CLIENTS=${CLIENTS:-1000} DURATION=${DURATION:-600} REKEY=${REKEY:-45} SAMPLE=${SAMPLE:-5}
fi
TRAFFIC=${TRAFFIC:-5}
KEEPALIVE=${KEEPALIVE:-25}
WORKERS=${WORKERS:-4}
WINDOW=${WINDOW:-0}
QOS=${QOS:-1}
STAMP=$(date +%Y%m%d-%H%M%S)
if [ "$MODE" = quick ]; then OUT=${OUT:-$BENCH/results/scale-quick-$STAMP.md}
else OUT=${OUT:-$BENCH/results/scale-$STAMP.md}; fi
LOGDIR=${LOGDIR:-}
SOURCES_NET=10.99.0.0
LAN_HOST=192.168.100.10

say() { echo "run-scale: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root (network namespaces)"; exit 2; }
for b in vpn-server vpn-enclave vpn-loadgen vpn-token vpnctl; do
    [ -x "$BIN/$b" ] || { say "build first (make): $BIN/$b missing"; exit 2; }
done
case $CLIENTS in ''|*[!0-9]*) say "CLIENTS: a number"; exit 2 ;; esac
if [ "$CLIENTS" -lt 1 ] || [ "$CLIENTS" -gt 2046 ]; then
    say "CLIENTS: 1..2046 (max_clients is at most 2048)"; exit 2
fi
# Smallest network from 10.99.0.0 with an address per client (network and broadcast aside).
len=30
while [ $(( (1 << (32 - len)) - 2 )) -lt "$CLIENTS" ]; do len=$((len - 1)); done
SOURCES=$SOURCES_NET/$len
# The tunnel: a /21 (2045 addresses in the pool) holds every client up to max_clients.
POOL_END=10.8.7.254
# PSS is compared with its value after the first minute (half the run when that is shorter).
# The default rekey intervals put the first rekey and its 10 s overlap before that moment:
# the overlap holds two sessions per client, and the memory that takes is kept for the next
# rekey (the allocator's high-water mark), so a baseline before it would see a step, not a leak.
BASELINE=$(( DURATION / 2 < 60 ? DURATION / 2 : 60 ))

# Keep the logs when asked, before lib.sh's EXIT trap removes the work directory.
keep_logs() {
    [ -n "$LOGDIR" ] || return 0
    mkdir -p "$LOGDIR" && cp "$WORK"/*.log "$WORK"/*.out "$WORK"/*.tsv "$WORK"/*.json \
        "$LOGDIR"/ 2>/dev/null
    say "logs copied to $LOGDIR"
}
trap 'keep_logs; cleanup' EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }
LOAD_START=$(load1)
UPTIME_START=$(uptime)

# ---- lab: one client namespace with an address per client ----------------------------------
lab_up 1 || { say "lab set-up failed"; exit 1; }
python3 - "$SOURCES_NET" "$CLIENTS" "$PREFIX-c1" >"$WORK/addrs.batch" <<'PY'
import ipaddress, sys
net, n, dev = ipaddress.IPv4Address(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for i in range(n):
    print(f"address add {net + 1 + i}/32 dev {dev}")
PY
ip -n "$PREFIX-c1" -batch "$WORK/addrs.batch" || { say "adding $CLIENTS addresses failed"; exit 1; }
ip -n "$PREFIX-srv" route add "$SOURCES" via 172.31.0.11 ||
    { say "route to $SOURCES failed"; exit 1; }
naddr=$(ip -n "$PREFIX-c1" -4 -o addr show dev "$PREFIX-c1" | grep -c ' 10\.99\.')
[ "$naddr" = "$CLIENTS" ] || { say "$naddr source addresses on $PREFIX-c1, expected $CLIENTS"; exit 1; }

# ---- users: one per client, each with its own vpn-token --random token ----------------------
for i in $(seq 1 "$CLIENTS"); do
    "$BIN/vpn-token" --random --users-line "$(printf 'user%04d' "$i")"
done >"$WORK/users-load.conf" || { say "vpn-token failed"; exit 1; }
chmod 600 "$WORK/users-load.conf"
qos_enabled=false
[ "$QOS" = 1 ] && qos_enabled=true
make_server_conf "security.max_clients=$CLIENTS" "server.tun_netmask=21" \
    "network.client_ip_pool_end=$POOL_END" "security.rekey_interval=$REKEY" \
    "security.keepalive=$KEEPALIVE" "qos.enabled=$qos_enabled"
cat "$WORK/users-load.conf" >>"$WORK/users.conf"

start_server -t "$WORKERS" >/dev/null || { say "server did not start"; tail "$WORK/server.log" >&2; exit 1; }

# ---- measurement helpers ---------------------------------------------------------------------
# "PSS_KB RING_PSS_KB TICKS NPROCS RING_SIZE_KB" of vpn-server and every descendant that is its launcher or
# a vpn-enclave process (supervisor, workers); PSS as bench/run-memory.sh measures it, and the
# part of it that is the shared rings (the memfd "vpn-rings"): their pages count once a slot
# has been used, so that part grows until every slot of every ring has carried a packet, up to
# the size of the memfd (RING_SIZE_KB: vpn-server maps all of it).
tree_stats() {
    python3 - "$SERVER_PID" <<'PY'
import os, sys
root = int(sys.argv[1])
ppid, comm = {}, {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        s = open(f"/proc/{d}/stat").read()
    except OSError:
        continue
    ppid[int(d)] = int(s[s.rindex(")") + 2:].split()[1])
    comm[int(d)] = s[s.index("(") + 1:s.rindex(")")]
sel, grew = {root}, True
while grew:
    grew = False
    for p, pp in ppid.items():
        if pp in sel and p not in sel and comm[p] in ("vpn-server", "vpn-launcher",
                                                      "vpn-enclave"):
            sel.add(p)
            grew = True
pss = rings = ticks = n = size = 0
for p in sel:
    try:
        ring = False
        for line in open(f"/proc/{p}/smaps"):
            if line.startswith("Pss:"):
                kb = int(line.split()[1])
                pss += kb
                rings += kb if ring else 0
            elif line.startswith("Size:") and ring and p == root:
                size += int(line.split()[1])
            elif not line[0].isupper():
                ring = "memfd:vpn-rings" in line
        f = open(f"/proc/{p}/stat").read()
        f = f[f.rindex(")") + 2:].split()
        ticks += int(f[11]) + int(f[12])
        n += 1
    except OSError:
        pass
print(pss, rings, ticks, n, size)
PY
}

# A failed query is a sample of "-" and its reason a line of status.log.
status_json() {
    server_status json >"$WORK/status.json" 2>"$WORK/status.err" && return 0
    echo "$(date +%T.%N) $(cat "$WORK/status.err")" >>"$WORK/status.log"
    return 1
}
jfield() {   # jfield 'python expression on j' (from the last status_json)
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$WORK/status.json" \
        2>/dev/null
}

# ---- run -------------------------------------------------------------------------------------
read -r PSS0 RINGS0 _ _ RINGS_SIZE <<<"$(tree_stats)"
say "$CLIENTS clients from $SOURCES for ${DURATION}s, rekey ${REKEY}s, echo every ${TRAFFIC}s," \
    "-t $WORKERS, QoS $qos_enabled; load $(load1)"
cli 1 "$BIN/vpn-loadgen" --server 172.31.0.1 --server-key "$(server_key)" \
    --users "$WORK/users-load.conf" --clients "$CLIENTS" --sources "$SOURCES" \
    --duration "$DURATION" --keepalive "$KEEPALIVE" --traffic "$TRAFFIC" --target "$LAN_HOST" \
    --window "$WINDOW" --report 30 >"$WORK/load.out" 2>"$WORK/load.log" &
LOADGEN_PID=$!
PIDS+=("$LOADGEN_PID")
for _ in $(seq 1 1200); do
    grep -q '^sessions up' "$WORK/load.out" 2>/dev/null && break
    kill -0 "$LOADGEN_PID" 2>/dev/null || break
    sleep 0.1
done
grep -q '^sessions up' "$WORK/load.out" || { say "the clients never came up"; cat "$WORK/load.log" >&2; exit 1; }
T_UP=$(date +%s.%N)
read -r _ _ TICKS_UP _ _ <<<"$(tree_stats)"
say "$(head -1 "$WORK/load.out"); sampling every ${SAMPLE}s"

# The server's session count now: a number; "-" when the server did not answer (its reason in
# status.log); "late" when the clients had begun to disconnect before the answer came (a busy
# host can make the sampling loop overrun the run), which says nothing about the server.
sample_sessions() {
    local n=-
    status_json && n=$(jfield "j['sessions']")
    grep -q '^disconnecting' "$WORK/load.out" 2>/dev/null && n=late
    echo "${n:--}"
}

# Samples until the end of the run: seconds since all up, server sessions, PSS, load.
echo -e "t\tsessions\tpss_kb\trings_kb\tload1\tprocs" >"$WORK/samples.tsv"
PSS_BASE=
next=0
took=0   # seconds the last sample took (PSS from smaps is slow): the next one must end in time
while :; do
    now=$(date +%s.%N)
    t=$(python3 -c "print(round($now - $T_UP, 1))")
    python3 -c "import sys; sys.exit(0 if $t + 2 * $took < $DURATION - 0.5 else 1)" || break
    kill -0 "$LOADGEN_PID" 2>/dev/null || break
    sessions=$(sample_sessions)
    read -r pss rings _ procs _ <<<"$(tree_stats)"
    echo -e "$t\t$sessions\t$pss\t$rings\t$(load1)\t$procs" >>"$WORK/samples.tsv"
    if [ -z "$PSS_BASE" ] && python3 -c "import sys; sys.exit(0 if $t >= $BASELINE else 1)"; then
        PSS_BASE=$pss
        RINGS_BASE=$rings
        PSS_BASE_T=$t
    fi
    took=$(python3 -c "print(round($(date +%s.%N) - $now, 2))")
    next=$((next + SAMPLE))
    left=$(python3 -c "print(max(0.0, min($next - ($(date +%s.%N) - $T_UP), $DURATION - 0.5 - ($(date +%s.%N) - $T_UP))))")
    sleep "$left"
done
# The end: the last sample, just before the clients' final echoes.
sessions=$(sample_sessions)
read -r PSS_END RINGS_END TICKS_END procs _ <<<"$(tree_stats)"
T_END=$(python3 -c "print(round($(date +%s.%N) - $T_UP, 1))")
echo -e "$T_END\t$sessions\t$PSS_END\t$RINGS_END\t$(load1)\t$procs" >>"$WORK/samples.tsv"
LOAD_END=$(load1)
UPTIME_END=$(uptime)
cp "$WORK/status.json" "$WORK/status-end.json" 2>/dev/null

for _ in $(seq 1 600); do kill -0 "$LOADGEN_PID" 2>/dev/null || break; sleep 0.1; done
wait "$LOADGEN_PID"
LOADGEN_RC=$?
sleep 1      # the DISCONNECTs reach the server
status_json
stop_pid "$SERVER_PID"
SERVER_RC=$?

# ---- evaluate --------------------------------------------------------------------------------
lg() { awk -v k="$1" '$1 == k {print $2}' "$WORK/load.out"; }
# Server log lines matching $1 before the server was told to stop (at the stop, sessions still
# in their rekey overlap end "server stopping").
logc() { sed '/Received SIGTERM/,$d' "$WORK/server.log" | grep -c -- "$1"; }
CONNECTED=$(lg connected)
CONNECT_S=$(lg connect_seconds)
HS_RATE=$(lg handshake_rate)
UP_END=$(lg up_at_end)
# Session counts: the min and max of the answers; every sample but the late ones must be one.
S_MIN=$(awk -F'\t' 'NR > 1 && $2 ~ /^[0-9]+$/ {print $2}' "$WORK/samples.tsv" | sort -n | head -1)
S_MAX=$(awk -F'\t' 'NR > 1 && $2 ~ /^[0-9]+$/ {print $2}' "$WORK/samples.tsv" | sort -n | tail -1)
S_LATE=$(awk -F'\t' 'NR > 1 && $2 == "late"' "$WORK/samples.tsv" | wc -l)
S_UNANSWERED=$(awk -F'\t' 'NR > 1 && $2 == "-"' "$WORK/samples.tsv" | wc -l)
S_BAD=$(awk -F'\t' -v n="$CLIENTS" 'NR > 1 && $2 != n && $2 != "late"' "$WORK/samples.tsv" | wc -l)
S_N=$(($(wc -l <"$WORK/samples.tsv") - 1 - S_LATE))
S_NOTE="min ${S_MIN:--}, max ${S_MAX:--}"
[ "$S_UNANSWERED" = 0 ] || S_NOTE+=", $S_UNANSWERED unanswered (status.log)"
[ "$S_LATE" = 0 ] || S_NOTE+="; $S_LATE more taken after the clients began to disconnect, not counted"
ENDED_ALL=$(logc ' ended: ')
ENDED_REKEY=$(logc ' ended: replaced by a new handshake')
ENDED_BYE=$(logc ' ended: client disconnected')
ENDED_OTHER=$((ENDED_ALL - ENDED_REKEY - ENDED_BYE))
SRV_CONNECTED=$(logc ' connected from ')
SRV_REKEYED=$(logc ' rekeyed from ')
RESTARTS=$(grep -c 'Enclave restarted\|Enclave worker [0-9]* restarted' "$WORK/server.log")
jend() { python3 -c "import json; j = json.load(open('$WORK/status-end.json')); print($1)" 2>/dev/null || echo '?'; }
REFUSED=$(jend "j['handshakes_refused']")
HS_DROPPED=$(jend "j.get('handshakes_dropped', 0)")
# Key slots per enclave worker at the end (current sessions and those in a rekey overlap).
SLOTS=$(jend "' / '.join(str(w['sessions']) for w in j['enclave_workers'])")
SLOTS_SPREAD=$(jend "max(w['sessions'] for w in j['enclave_workers']) - min(w['sessions'] for w in j['enclave_workers'])")
DROPS=$(python3 -c "
import json
d = json.load(open('$WORK/status-end.json')).get('drops', {})
print(', '.join(f'{k} {v}' for k, v in sorted(d.items()) if v) or 'none')" 2>/dev/null || echo '?')
PSS_BASE=${PSS_BASE:-$PSS_END}
RINGS_BASE=${RINGS_BASE:-$RINGS_END}
PSS_BASE_T=${PSS_BASE_T:-$T_END}
pct() { python3 -c "print(f'{($2 - $1) * 100.0 / $1:+.1f}')"; }
within5() {   # within5 BASE END [SLACK_KB]: |END - BASE| <= max(5 % of BASE, SLACK_KB)
    python3 -c "import sys; sys.exit(0 if abs($2 - $1) <= max(0.05 * $1, ${3:-0}) else 1)"
}
PSS_PCT=$(pct "$PSS_BASE" "$PSS_END")
REST_BASE=$((PSS_BASE - RINGS_BASE))
REST_END=$((PSS_END - RINGS_END))
REST_PCT=$(pct "$REST_BASE" "$REST_END")

RUN_S=$(python3 -c "print(f'{$T_END:.0f}')")
CPU_PCT=$(python3 -c "import os; print(f'{($TICKS_END - $TICKS_UP) * 100.0 / os.sysconf(\"SC_CLK_TCK\") / max($T_END, 1):.1f}')")
LOAD_MEAN=$(awk -F'\t' 'NR > 1 {s += $5; n++} END {if (n) printf "%.2f", s / n}' "$WORK/samples.tsv")
mb() { python3 -c "print(f'{$1 / 1024:.1f}')"; }

# "PASS: what" / "FAIL: what" (tests/run.sh counts them).
VERDICTS=()
FAILS=0
verdict() {   # verdict "what" condition...
    local what=$1; shift
    if "$@"; then VERDICTS+=("PASS: $what"); else VERDICTS+=("FAIL: $what"); FAILS=$((FAILS + 1)); fi
}
verdict "all $CLIENTS clients connected ($CONNECTED)" test "${CONNECTED:-0}" = "$CLIENTS"
verdict "server session count $CLIENTS in all $S_N samples from all up to the end ($S_NOTE)" \
    test "$S_BAD" = 0 -a "$S_N" -gt 0
verdict "no session ended by the server ($ENDED_OTHER 'ended' lines other than rekey and final DISCONNECT)" \
    test "$ENDED_OTHER" = 0
verdict "no DISCONNECT or SESSION_UNKNOWN reached a client ($(lg disconnects_received), $(lg session_unknown_received))" \
    test "$(lg disconnects_received)" = 0 -a "$(lg session_unknown_received)" = 0
verdict "every client up at the end ($UP_END)" test "${UP_END:-0}" = "$CLIENTS"
verdict "every rekey succeeded ($(lg rekeys_done) of $(lg rekeys_started); server logged $SRV_REKEYED)" \
    test "$(lg rekeys_done)" = "$(lg rekeys_started)" -a "$SRV_REKEYED" = "$(lg rekeys_done)"
verdict "no handshake refused (clients: $(lg refused_auth)/$(lg refused_full)/$(lg refused_pool)/$(lg refused_rate)/$(lg refused_stale) auth/full/pool/rate/stale; server: $REFUSED)" \
    test "$REFUSED" = 0 -a "$(lg failed)" = 0
verdict "no handshake dropped by the server ($HS_DROPPED)" test "$HS_DROPPED" = 0
verdict "no enclave or worker restart ($RESTARTS)" test "$RESTARTS" = 0
# The control thread hands each accept to the least loaded worker, counting accepts in flight.
verdict "sessions spread over the workers (key slots per worker $SLOTS)" \
    test "$SLOTS_SPREAD" != '?' -a "$SLOTS_SPREAD" -le $(( CLIENTS / 20 > 2 ? CLIENTS / 20 : 2 ))
verdict "every client's last echo answered ($(lg last_echo_answered) of $(lg last_echo_sent))" \
    test "$(lg last_echo_answered)" = "$CLIENTS"
verdict "keepalives answered ($(lg pongs_received) PONG for $(lg pings_sent) PING)" \
    test "$(lg pongs_received)" = "$(lg pings_sent)"
# The rings' pages count from their first use: a run too short or too light to use every slot
# of every ring in its first minute sees that part grow, boundedly. The leak check is
# therefore on the rest; the whole is checked too when the run is the full one. The rest is
# mostly heap, whose high-water mark moves by a few hundred kB from sample to sample (the
# status reply this script asks for every SAMPLE s is 300 kB at 1000 sessions, twice that
# during a rekey overlap), hence 5 % or 512 kB, whichever is more. Runs shorter than a minute
# (the smoke test) report PSS without judging it.
if [ "$DURATION" -ge 60 ]; then
    verdict "PSS other than the rings at the end within 5 % (or 512 kB) of the same after ${PSS_BASE_T%.*} s ($(mb "$REST_BASE") -> $(mb "$REST_END") MB, $REST_PCT %)" \
        within5 "$REST_BASE" "$REST_END" 512
fi
if [ "$MODE" = full ]; then
    verdict "PSS at the end within 5 % of PSS after ${PSS_BASE_T%.*} s ($(mb "$PSS_BASE") -> $(mb "$PSS_END") MB, $PSS_PCT %)" \
        within5 "$PSS_BASE" "$PSS_END"
fi
verdict "vpn-loadgen's own verdict ($(lg result), exit $LOADGEN_RC)" test "$LOADGEN_RC" = 0
verdict "server stopped cleanly (exit $SERVER_RC)" test "$SERVER_RC" = 0

{
    echo "# $CLIENTS clients from $CLIENTS source addresses, $RUN_S s ($(date -u +%F), $MODE)"
    echo
    echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))," \
         "Linux $(uname -r), vpn-server -t $WORKERS, max_clients $CLIENTS, QoS $qos_enabled," \
         "rekey_interval $REKEY s, keepalive $KEEPALIVE s, an echo per client every $TRAFFIC s."
    echo "Load (1-min average) at the start $LOAD_START, mean of the samples $LOAD_MEAN, at the end $LOAD_END."
    echo "uptime at the start: \`$(echo "$UPTIME_START" | sed 's/^ *//')\`"
    echo "uptime at the end: \`$(echo "$UPTIME_END" | sed 's/^ *//')\`"
    echo
    echo "| metric | value |"
    echo "|---|---:|"
    echo "| clients / distinct source addresses | $CLIENTS / $CLIENTS ($SOURCES) |"
    echo "| connected (requests sent for them), server's connect lines | $CONNECTED ($(lg connect_attempts)), $SRV_CONNECTED |"
    echo "| time to connect all (first request to last session up) | $CONNECT_S s |"
    echo "| handshakes/s while all connect | $HS_RATE |"
    echo "| run after all up | $RUN_S s |"
    echo "| server sessions over $S_N samples | $S_NOTE |"
    echo "| sessions ended by the server | $ENDED_OTHER |"
    echo "| DISCONNECT / SESSION_UNKNOWN received by clients | $(lg disconnects_received) / $(lg session_unknown_received) |"
    echo "| rekeys done / started (requests sent), server's rekey lines | $(lg rekeys_done) / $(lg rekeys_started) ($(lg rekey_attempts)), $SRV_REKEYED |"
    echo "| longest rekey | $(lg rekey_max_ms) ms |"
    echo "| keepalive PONG / PING | $(lg pongs_received) / $(lg pings_sent) |"
    echo "| echoes through the tunnel answered / sent | $(lg echo_answered) / $(lg echo_sent) |"
    echo "| echo RTT p50 / p99 / max | $(lg echo_rtt_ms_p50) / $(lg echo_rtt_ms_p99) / $(lg echo_rtt_ms_max) ms |"
    echo "| last echo answered | $(lg last_echo_answered) of $CLIENTS |"
    echo "| PSS idle (0 clients) | $(mb "$PSS0") MB |"
    echo "| PSS after ${PSS_BASE_T%.*} s / at the end | $(mb "$PSS_BASE") / $(mb "$PSS_END") MB ($PSS_PCT %) |"
    echo "| of which the rings (used slots; $(mb "$RINGS_SIZE") MB if all were used) | $(mb "$RINGS_BASE") / $(mb "$RINGS_END") MB |"
    echo "| PSS other than the rings | $(mb "$REST_BASE") / $(mb "$REST_END") MB ($REST_PCT %) |"
    echo "| CPU of server + enclave during the run | $CPU_PCT % of one core |"
    echo "| key slots per enclave worker at the end | $SLOTS |"
    echo "| handshakes refused / dropped by the server | $REFUSED / $HS_DROPPED |"
    echo "| server drop counters (nonzero) | $DROPS |"
    echo
    printf '%s\n' "${VERDICTS[@]}"
} >"$WORK/report.md"
cat "$WORK/report.md"
mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
say "report written to $OUT"
[ "$FAILS" = 0 ]
