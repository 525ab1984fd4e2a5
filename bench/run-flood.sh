#!/usr/bin/env bash
# bench/run-flood.sh: handshakes under a flood of spoofed CONNECT_REQs (the issue "Hold under
# attack and at scale", item 2).
#
#   PREFIX-c1 (vpn-flood: spoofed sources 10.99.0.0/16) --+
#   PREFIX-c2 (vpn-client bob: a ping every 50 ms)        --+-- br-wan -- srv: vpn-server -t N -- lan
#   PREFIX-c3 (vpn-client alice: connects again and again)--+
#
# For each flood rate (requests per second; each a well-formed extension-1 request with a
# correct mac1 for a real user and a wrong token, i.e. one that costs a Diffie-Hellman when it
# gets through): ATTEMPTS times, a fresh vpn-client connects from c3 and must pass a ping;
# the time from its start to the first answered ping is measured. Meanwhile bob's session
# (made before the flood) pings every 50 ms: its loss is measured per rate. The server's
# PSS (server, launcher, enclave) is read 2 s into each flood and at its end; then the last
# rate floods on alone for SOAK seconds with PSS sampled every 10 s, to show whether memory
# grows with the number of requests (it must not) or only with the rate (ring slots and
# allocator arenas first touched by a faster flood). Replies to the spoofed sources are
# routed back to c1, which drops them.
#
# Usage (root):  bench/run-flood.sh
# Environment:   RATES="0 10000 50000 200000"  (the last: as fast as the sender goes)
#                ATTEMPTS=10   connects per rate        THREADS=2   the server's -t
#                SOAK=60       seconds of the last rate alone, PSS every 10 s (0: none)
#                OUT=bench/results/flood-DATE.md        PREFIX=flNNNNN
set -u

# The lab, work directory, clean-up on exit or signal, configs and start-up of lib.sh.
PREFIX=${PREFIX:-fl$(($$ % 100000))}
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"
FLOOD=$ROOT/build/tests/tools/vpn-flood
RATES=${RATES:-"0 10000 50000 200000"}
ATTEMPTS=${ATTEMPTS:-10}
THREADS=${THREADS:-2}
SOAK=${SOAK:-60}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/flood-$STAMP.md}
die() { echo "run-flood: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$FLOOD" ] && [ -x "$BIN/vpn-server" ] || die "build first: make all unit"
lab_up 3 || die "cannot build the lab"
srv ip route add 10.99.0.0/16 via 172.31.0.11

make_server_conf "logging.level=INFO"
make_client_conf alice alice "$ALICE_TOKEN"
make_client_conf bob bob "$BOB_TOKEN"
sed -i 's/^level = INFO$/level = DEBUG/' "$WORK/alice.conf"
start_server -t "$THREADS" || die "server did not start: $(tail -3 "$WORK/server.log")"
KEY=$(server_key)


ip netns exec "$PREFIX-c2" "$BIN/vpn-client" connect -c "$WORK/bob.conf" --server-key "$KEY" >"$WORK/bob.log" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/bob.log" "Connected!" 10 >/dev/null || die "bob did not connect"
pss_start=$(server_pss_kb) anon_start=$(server_anon_kb) shm_start=$(server_shmem_kb)

# Background processes are started with `ip netns exec` itself (which execs in place), never
# through a shell function, so that $! is the process to stop.
# One connect of alice from c3: ms from start to the first answered ping, or "fail".
connect_once() {
    local log=$WORK/alice-$1.log t0 t1 pid ok=0
    t0=$(date +%s%N)
    ip netns exec "$PREFIX-c3" "$BIN/vpn-client" connect -c "$WORK/alice.conf" --server-key "$KEY" >"$log" 2>&1 &
    pid=$!
    local deadline=$((t0 + 10000000000))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        if grep -q "Connected!" "$log" && cli 3 ping -c 1 -W 0.2 -q 192.168.100.10 >/dev/null 2>&1; then
            ok=1; break
        fi
        sleep 0.02
    done
    t1=$(date +%s%N)
    kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    [ $ok = 1 ] && echo $(( (t1 - t0) / 1000000 )) || echo fail
}

rows=""
for rate in $RATES; do
    # Every answer is a line; a background job ignores SIGINT, so ping is stopped with TERM and
    # its lines are counted rather than its summary read.
    ip netns exec "$PREFIX-c2" ping -i 0.05 -n 192.168.100.10 >"$WORK/bobping-$rate.txt" 2>&1 &
    bobping=$!
    flood_pid=""
    if [ "$rate" != 0 ]; then
        ip netns exec "$PREFIX-c1" "$FLOOD" 172.31.0.1 51820 "$KEY" alice "$rate" 3600 10.99.0.0/16 >"$WORK/flood-$rate.txt" 2>&1 &
        flood_pid=$!
        PIDS+=("$flood_pid")
        sleep 2     # the flood is in full swing
    fi
    pss_a=$(server_pss_kb) anon_a=$(server_anon_kb) shm_a=$(server_shmem_kb)
    times=() good=0
    for i in $(seq 1 "$ATTEMPTS"); do
        t=$(connect_once "$rate-$i")
        times+=("$t")
        [ "$t" != fail ] && [ "$t" -le 1000 ] && good=$((good + 1))
        sleep 0.3
    done
    pss_b=$(server_pss_kb) anon_b=$(server_anon_kb) shm_b=$(server_shmem_kb)
    if [ -n "$flood_pid" ] && [ "$rate" = "${RATES##* }" ] && [ "$SOAK" -gt 0 ]; then
        soak="" t=0
        while [ "$t" -lt "$SOAK" ]; do
            sleep 10; t=$((t + 10))
            soak+="${soak:+, }${t} s: $(server_pss_kb) / $(server_anon_kb) / $(server_shmem_kb) kB"
        done
    fi
    cookies=$("$BIN/vpnctl" show --json -s "$WORK/run/server.sock" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("cookies_sent","?"))' 2>/dev/null)
    if [ -n "$flood_pid" ]; then
        kill -TERM "$flood_pid"; wait "$flood_pid" 2>/dev/null
        reached=$(sed -n 's/.*: \([0-9]*\) per second.*/\1/p' "$WORK/flood-$rate.txt")
    else
        reached=0
    fi
    kill -TERM "$bobping"; wait "$bobping" 2>/dev/null
    sent=$(sed -n 's/.*icmp_seq=\([0-9]*\) .*/\1/p' "$WORK/bobping-$rate.txt" | tail -n1)
    got=$(grep -c "bytes from" "$WORK/bobping-$rate.txt")
    loss=$(awk -v s="${sent:-0}" -v g="$got" 'BEGIN {printf "%.2f", s ? 100 * (s - g) / s : 100}')
    sorted=$(printf '%s\n' "${times[@]}" | grep -v fail | sort -n)
    median=$(awk '{a[NR]=$1} END {print NR ? a[int((NR+1)/2)] : "-"}' <<<"$sorted")
    worst=$(tail -n1 <<<"$sorted")
    echo "rate $rate (reached ${reached:-?}/s): connects within 1 s: $good/$ATTEMPTS; times ms: ${times[*]}; bob's loss ${loss}%"
    rows+="| ${rate} | ${reached:-?} | $good/$ATTEMPTS | ${median:-–} | ${worst:-–} | ${loss}% | $pss_a / $pss_b | $anon_a / $anon_b | $shm_a / $shm_b |"$'\n'
done
pss_end=$(server_pss_kb) anon_end=$(server_anon_kb) shm_end=$(server_shmem_kb)
load=$(cut -d' ' -f1-3 /proc/loadavg)
report="## Handshake flood ($(date -u +%Y-%m-%d), $(nproc) CPUs, load $load, vpn-server -t $THREADS)

| flood requests/s asked | reached | connect + ping within 1 s | median ms | worst ms | loss of an existing session's pings | server PSS kB, 2 s in / at the end | of which heaps and stacks | of which rings |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$rows
Server PSS (server, launcher, enclave): ${pss_start} kB before the floods (heaps and stacks
${anon_start} kB, rings ${shm_start} kB), ${pss_end} kB after the last (${anon_end} kB,
${shm_end} kB).${soak:+ The last rate flooding on alone for $SOAK s more, PSS / heaps and
stacks / rings: $soak.} The rings' pages count once first touched, so that column grows with
the traffic that passes (bob's pings, the connects) up to the rings' size, $(server_rings_size_kb) kB;
heaps and stacks are what a leak would grow. The PSS of the shared libraries moves as the
clients started and stopped here map and unmap the same libraries.
"
echo "$report"
mkdir -p "$(dirname "$OUT")"
echo "$report" >"$OUT"
echo "written to $OUT"
