#!/usr/bin/env bash
# bench/run-idle.sh: what an idle server costs. vpn-server -t THREADS with CLIENTS connected
# clients that send nothing but their keepalives (every KEEPALIVE s); after SETTLE s, the CPU
# time of the server's processes (server, launcher, enclave supervisor and workers, every
# thread) and of the clients is read from /proc/PID/task/*/schedstat (nanoseconds on a CPU,
# exact, not sampled ticks) over SECONDS s, and the context switches of the server's threads.
# Target (issue 11): under 1 % of one core for the server.
#
#   PREFIX-c1..cN --veth-- br-wan 172.31.0.1 (vpn-server) -- PREFIX-lan
#
# Usage (root):  bench/run-idle.sh
# Environment:   SECONDS_IDLE=60 CLIENTS=3 THREADS=2 KEEPALIVE=25 SETTLE=5
#                OUT=bench/results/idle-DATE.md
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

SECONDS_IDLE=${SECONDS_IDLE:-60}
CLIENTS=${CLIENTS:-3}
THREADS=${THREADS:-2}
KEEPALIVE=${KEEPALIVE:-25}
SETTLE=${SETTLE:-5}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/idle-$STAMP.md}
USERS=(alice bob guest1)
TOKENS=("$ALICE_TOKEN" "$BOB_TOKEN" 69b59ab4b198c8766bbae9048844a543577ef6bf23170192648db671b90fd1ad)
[ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le ${#USERS[@]} ] || { echo "CLIENTS: 1 to ${#USERS[@]}" >&2; exit 2; }

# cpu_ns PID...: nanoseconds on a CPU and context switches (voluntary + involuntary) of every
# thread of the PIDs, summed: "NS SWITCHES".
cpu_ns() {
    local p t ns=0 sw=0 a b c v n
    for p in "$@"; do
        for t in /proc/"$p"/task/*; do
            read -r a b c 2>/dev/null <"$t/schedstat" || continue
            ns=$((ns + a))
            v=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null)
            n=$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null)
            sw=$((sw + ${v:-0} + ${n:-0}))
        done
    done
    echo "$ns $sw"
}

lab_up "$CLIENTS"
make_server_conf "security.keepalive=$KEEPALIVE"
start_server -t "$THREADS" || { echo "FAIL: the server did not start"; exit 1; }
CLIENT_PIDS=()
for ((k = 1; k <= CLIENTS; k++)); do
    make_client_conf "c$k" "${USERS[k - 1]}" "${TOKENS[k - 1]}"
    start_client "$k" "c$k" || { echo "FAIL: client $k did not connect"; exit 1; }
    CLIENT_PIDS+=("$(eval echo "\$CLIENT_PID_c$k")")
done
sleep "$SETTLE"

tree=$(server_tree)
# shellcheck disable=SC2086 # lists of PIDs
{ read -r s0 w0 <<<"$(cpu_ns $tree)"; read -r c0 _ <<<"$(cpu_ns "${CLIENT_PIDS[@]}")"; }
sleep "$SECONDS_IDLE"
# shellcheck disable=SC2086
{ read -r s1 w1 <<<"$(cpu_ns $tree)"; read -r c1 _ <<<"$(cpu_ns "${CLIENT_PIDS[@]}")"; }

pct() { awk -v ns="$1" -v s="$SECONDS_IDLE" 'BEGIN {printf "%.3f", 100 * ns / (s * 1e9)}'; }
server_pct=$(pct $((s1 - s0)))
client_pct=$(pct $(((c1 - c0) / CLIENTS)))
ok=$(awk -v p="$server_pct" 'BEGIN {print (p < 1) ? "yes" : "NO"}')
mkdir -p "$(dirname "$OUT")"
{
    echo "## Idle cost ($(date '+%Y-%m-%d %H:%M'), $(nproc) CPUs, $(uname -r), build $(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
    echo
    echo "vpn-server -t $THREADS, $CLIENTS clients connected, keepalive $KEEPALIVE s, no other traffic; ${SECONDS_IDLE} s measured after $SETTLE s."
    echo
    echo "| what | CPU time | % of one core | context switches |"
    echo "|---|---:|---:|---:|"
    echo "| server (all $(echo "$tree" | wc -w) processes, every thread) | $(((s1 - s0) / 1000000)) ms | $server_pct | $((w1 - w0)) |"
    echo "| one client (average of $CLIENTS) | $(((c1 - c0) / CLIENTS / 1000000)) ms | $client_pct | |"
    echo
    echo "Server under 1 % of one core: $ok"
} | tee "$OUT"
[ "$ok" = yes ] && echo "PASS: idle server at $server_pct % of one core" || echo "FAIL: idle server at $server_pct % of one core"
