#!/bin/bash
# Memory and handshakes: PSS of vpn-server plus every vpn-enclave process with -t 4 at 0, 200
# and 1000 connected clients (simulated by bin/vpn-loadgen), and the handshake rate.
# Target (issue: pipeline): server + all enclave workers under 30 MB PSS with -t 4 and 200
# clients. Prints a Markdown table; OUT=file also writes it there.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/tests/integration/lib.sh"
PREFIX=mem$$
PREFIX=${PREFIX:0:8}
WORKERS=${WORKERS:-4}
lab_up 1
TOKEN=$ALICE_TOKEN
{
    cat "$ROOT/conf/users.conf.example"
    for i in $(seq 0 999); do printf '[user:load%d]\nauth_token = %s\n' "$i" "$TOKEN"; done
} >"$WORK/users.gen"
make_server_conf security.max_clients=1010 network.client_ip_pool_end=10.8.7.254 server.tun_netmask=21
install -m 600 "$WORK/users.gen" "$WORK/users.conf"
start_server -t "$WORKERS" >/dev/null || { echo "server did not start"; tail "$WORK/server.log"; exit 1; }
rows=()
rows+=("| 0 | $(server_pss_kb) | - |")
for n in 200 1000; do
    # A file per run: the redirection happens in the background job, so a shared file could
    # still hold the previous run's "sessions up" when wait_for first looks.
    out=$WORK/load-$n.out
    cli 1 "$BIN/vpn-loadgen" 172.31.0.1 51820 "$(server_key)" load "$TOKEN" "$n" 8 >"$out" 2>&1 &
    lg=$!
    wait_for "$out" "sessions up" 120 >/dev/null
    sleep 3
    up=$(awk '/^sessions up/ {print $3}' "$out")
    rate=$(awk '/^handshakes/ {print $8}' "$out" | tr -d '(')
    live=$(json_get "j['sessions']")
    rows+=("| $n (up: $up, server sees $live) | $(server_pss_kb) | $rate |")
    wait "$lg"
    sleep 1
done
table=$(printf '%s\n' "Memory of vpn-server + all vpn-enclave processes, -t $WORKERS ($(nproc) cores, $(uname -r), $(date -u +%F))" "" \
    "| clients | PSS (kB) | handshakes/s |" "|---|---|---|" "${rows[@]}")
echo "$table"
[ -n "${OUT:-}" ] && echo "$table" >"$OUT"
exit 0
