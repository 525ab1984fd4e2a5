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
# PSS (server, launcher, enclave) is read before and after. Replies to the spoofed sources
# are routed back to c1, which drops them.
#
# Usage (root):  bench/run-flood.sh
# Environment:   RATES="0 10000 50000 200000"  (the last: as fast as the sender goes)
#                ATTEMPTS=10   connects per rate        THREADS=2   the server's -t
#                OUT=bench/results/flood-DATE.md        PREFIX=flNNNNN
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
FLOOD=$ROOT/build/tests/tools/vpn-flood
LAB=$ROOT/tools/vpn-lab.sh
RATES=${RATES:-"0 10000 50000 200000"}
ATTEMPTS=${ATTEMPTS:-10}
THREADS=${THREADS:-2}
PREFIX=${PREFIX:-fl$(($$ % 100000))}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/flood-$STAMP.md}
WORK=$(mktemp -d /tmp/vpnse-flood.XXXXXX)
chmod 755 "$WORK"
ALICE_TOKEN=7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8
BOB_TOKEN=bf7edd34d4fb2e476d0094c3b523323477daf22760cccb39cb4c201d616851c0
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    "$LAB" down "$PREFIX" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
die() { echo "run-flood: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$FLOOD" ] && [ -x "$BIN/vpn-server" ] || die "build first: make all unit"
"$ROOT/tools/create-users.sh" >/dev/null || die "cannot create the system users"
"$LAB" up "$PREFIX" 3 >/dev/null || die "cannot build the lab"
srv() { ip netns exec "$PREFIX-srv" "$@"; }
cli() { local k=$1; shift; ip netns exec "$PREFIX-c$k" "$@"; }
srv ip route add 10.99.0.0/16 via 172.31.0.11

cp "$ROOT/conf/server.conf" "$ROOT/conf/qos_classes.conf" "$WORK/"
install -m 600 "$ROOT/conf/users.conf.example" "$WORK/users.conf"
python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" "qos.enabled=false" \
    "security.control_socket=$WORK/run/server.sock" "logging.level=INFO"
client_conf() {     # client_conf NAME USER TOKEN
    install -m 600 /dev/null "$WORK/$1.conf"
    cat >"$WORK/$1.conf" <<EOF2
[client]
server_ip = 172.31.0.1
server_port = 51820
username = $2
auth_token = $3
known_servers_file = $WORK/known_servers
control_socket = $WORK/$1.sock
[network]
tun_device = tun0
[logging]
level = DEBUG
EOF2
}
client_conf alice alice "$ALICE_TOKEN"
client_conf bob bob "$BOB_TOKEN"

ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" -t "$THREADS" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for _ in $(seq 1 100); do grep -q "VPN server is running" "$WORK/server.log" && break; sleep 0.1; done
grep -q "VPN server is running" "$WORK/server.log" || die "server did not start: $(tail -3 "$WORK/server.log")"
KEY=$("$BIN/vpn-keygen" pubkey <"$WORK/server.key")

pss() {     # PSS in kB of the server and every process below it
    local total=0 p
    for p in $SERVER_PID $(pgrep -P "$SERVER_PID") $(for q in $(pgrep -P "$SERVER_PID"); do pgrep -P "$q"; done) \
             $(for q in $(pgrep -P "$SERVER_PID"); do for r in $(pgrep -P "$q"); do pgrep -P "$r"; done; done); do
        total=$((total + $(awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

ip netns exec "$PREFIX-c2" "$BIN/vpn-client" connect -c "$WORK/bob.conf" --server-key "$KEY" >"$WORK/bob.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 100); do grep -q "Connected!" "$WORK/bob.log" && break; sleep 0.1; done
grep -q "Connected!" "$WORK/bob.log" || die "bob did not connect"
pss_start=$(pss)

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
        [ -z "${pss_flood:-}" ] && pss_flood=$(pss)     # the first flood has touched every page
    fi
    times=() good=0
    for i in $(seq 1 "$ATTEMPTS"); do
        t=$(connect_once "$rate-$i")
        times+=("$t")
        [ "$t" != fail ] && [ "$t" -le 1000 ] && good=$((good + 1))
        sleep 0.3
    done
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
    rows+="| ${rate} | ${reached:-?} | $good/$ATTEMPTS | ${median:-–} | ${worst:-–} | ${loss}% |"$'\n'
done
pss_end=$(pss)
load=$(cut -d' ' -f1-3 /proc/loadavg)
report="## Handshake flood ($(date -u +%Y-%m-%d), $(nproc) CPUs, load $load, vpn-server -t $THREADS)

| flood requests/s asked | reached | connect + ping within 1 s | median ms | worst ms | loss of an existing session's pings |
|---:|---:|---:|---:|---:|---:|
$rows
Server PSS (server, launcher, enclave): ${pss_start} kB before the floods, ${pss_flood:-?} kB
2 s into the first flood (its rings' pages touched), ${pss_end} kB after the last.
"
echo "$report"
mkdir -p "$(dirname "$OUT")"
echo "$report" >"$OUT"
echo "written to $OUT"
