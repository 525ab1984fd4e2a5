#!/usr/bin/env bash
# bench/run-garbage.sh: garbage at volume. COUNT random and mutated datagrams at the server's
# port and COUNT at a connected client's UDP port, with a ping through the tunnel the whole
# time; then: both still run, the ping lost at most MAX_PING_LOSS %, the tunnel carries a
# checksummed transfer, and every datagram that arrived is accounted for by a counter: the
# kernel's (a full socket buffer), a drop reason, or taken.
#
#   PREFIX-c1 172.31.0.11                PREFIX-srv 172.31.0.1                 PREFIX-lan
#   vpn-client alice (tun0) ==UDP 51820==> vpn-server -t THREADS -----------> 192.168.100.10
#     ping -i PING_INTERVAL, transfer      ^  |                                 ping, transfer
#   PREFIX-c2 172.31.0.12                  |  | vpn-garbage client: raw socket, source
#   vpn-garbage server (user bob) ---------+  v 172.31.0.1:51820 (a connected client takes
#     its own session: real ids, keys,        nothing else), material captured on br-wan
#     counters to mutate                      from the server's real datagrams to c1
#
# Phase "server": vpn-garbage handshakes as bob, then sends the mix at 172.31.0.1:51820.
# Phase "client": vpn-garbage captures the server's datagrams to the client for a few
# seconds, then sends the mix at the client's port (found with ss in its namespace).
# Arrivals are counted by iptables rules in the receiving namespace (a chain of our own),
# kernel drops by /proc/net/snmp (Udp InErrors) in that namespace; the rest by the server's
# `vpnctl show --json` ("drops", the workers' "decrypted", "handshakes_*") and the client's
# `vpn-client status` (receive drops by reason, received and other received packets).
#
# Usage (root):  bench/run-garbage.sh
# Environment:   COUNT=1000000      datagrams per phase (SERVER_COUNT, CLIENT_COUNT apart)
#                RATE=0             datagrams per second per phase (0: as fast as they go)
#                PHASES="server client"
#                THREADS=2          vpn-server -t
#                PING_INTERVAL=0.05 MAX_PING_LOSS=1 (percent)
#                TRANSFER_MB=20     the checksummed transfer after the garbage
#                SEED=              vpn-garbage's seed (default: from the clock)
#                OUT=bench/results/garbage-DATE.md  (the summary is printed too)
#                PREFIX=gbNNNNN     lab prefix (1-8 chars); must not be in use
# Prints PASS:/FAIL: lines for its checks (tests/integration/test_garbage.sh runs a short
# version in make check) and exits 1 when one failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
TOOL=$ROOT/build/tests/tools/vpn-garbage
LAB=$ROOT/tools/vpn-lab.sh

COUNT=${COUNT:-1000000}
SERVER_COUNT=${SERVER_COUNT:-$COUNT}
CLIENT_COUNT=${CLIENT_COUNT:-$COUNT}
RATE=${RATE:-0}
PHASES=${PHASES:-"server client"}
THREADS=${THREADS:-2}
PING_INTERVAL=${PING_INTERVAL:-0.05}
MAX_PING_LOSS=${MAX_PING_LOSS:-1}
TRANSFER_MB=${TRANSFER_MB:-20}
SEED=${SEED:-}
PREFIX=${PREFIX:-gb$(($$ % 100000))}
PREFIX=${PREFIX:0:8}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/garbage-$STAMP.md}

SRV=$PREFIX-srv
C1=$PREFIX-c1
C2=$PREFIX-c2
LANNS=$PREFIX-lan
SRV_IP=172.31.0.1
C1_IP=172.31.0.11
C2_IP=172.31.0.12
TARGET=192.168.100.10
ALICE_TOKEN=7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8
BOB_TOKEN=bf7edd34d4fb2e476d0094c3b523323477daf22760cccb39cb4c201d616851c0
CHAIN=VPNGARBAGE

WORK=
PIDS=()
LAB_IS_UP=0
FAILS=0

say() { echo "run-garbage: $*" >&2; }
die() { say "$*"; echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

alive() {   # alive PID: running and not a zombie
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() {   # stop_pid PID [SECONDS]: TERM, then KILL; reaps it
    local p=$1 secs=${2:-5} i
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < secs * 10; i++)); do alive "$p" || break; sleep 0.1; done
    alive "$p" && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
}

bg() {   # bg LOG CMD...: in the background, PID in LAST_PID ("ip netns exec" execs in place)
    local log=$1
    shift
    "$@" >>"$log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

wait_for() {   # wait_for FILE PATTERN SECONDS [PID]
    local file=$1 pattern=$2 secs=$3 pid=${4:-} i
    for ((i = 0; i < secs * 10; i++)); do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        [ -n "$pid" ] && ! alive "$pid" && { grep -q -- "$pattern" "$file" 2>/dev/null; return; }
        sleep 0.1
    done
    return 1
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM HUP
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do stop_pid "$p" 3; done
    [ "$LAB_IS_UP" = 1 ] && { "$LAB" down "$PREFIX" >/dev/null 2>&1 || say "could not remove lab $PREFIX"; }
    [ -n "$WORK" ] && [ -d "$WORK" ] && rm -rf "$WORK"
    exit $rc
}

# ---- counters ----

# count_rules NS: iptables counting rules in a chain of our own (no verdicts: they only count).
count_rules() {
    local ns=$1; shift
    ip netns exec "$ns" iptables -N "$CHAIN" || return 1
    ip netns exec "$ns" iptables -I INPUT -j "$CHAIN" || return 1
    local r
    for r in "$@"; do
        # shellcheck disable=SC2086 # a rule's words, split on purpose
        ip netns exec "$ns" iptables -A "$CHAIN" $r || return 1
    done
}

# snapshot NAME: everything the summary compares, before and after a phase. The ping is
# paused meanwhile (and what it had in flight given time to land), so that no datagram moves
# between reading one counter and the next: the sums must come out exact.
snapshot() {
    local n=$1 d=$WORK/snap-$1
    mkdir -p "$d"
    date +%s.%N >"$d/time-start"
    [ -n "${PING_PID:-}" ] && kill -STOP "$PING_PID" 2>/dev/null && sleep 0.5
    "$BIN/vpnctl" show --json -s "$WORK/server.sock" >"$d/server.json" 2>"$d/server.err"
    ip netns exec "$C1" "$BIN/vpn-client" status -c "$WORK/client.conf" >"$d/client.txt" 2>&1
    ip netns exec "$SRV" iptables -nvxL "$CHAIN" >"$d/srv-iptables.txt" 2>&1
    ip netns exec "$C1" iptables -nvxL "$CHAIN" >"$d/c1-iptables.txt" 2>&1
    ip netns exec "$SRV" cat /proc/net/snmp >"$d/srv-snmp.txt"
    ip netns exec "$C1" cat /proc/net/snmp >"$d/c1-snmp.txt"
    [ -n "${PING_PID:-}" ] && kill -CONT "$PING_PID" 2>/dev/null
    date +%s.%N >"$d/time-end"
    : "$n"
}

# ---- set-up ----

setup() {
    [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
    for b in vpn-server vpn-enclave vpn-client vpnctl vpn-keygen; do
        [ -x "$BIN/$b" ] || die "$BIN/$b missing: run make"
    done
    [ -x "$TOOL" ] || die "$TOOL missing: run make unit"
    command -v iptables >/dev/null || die "iptables is needed (it counts arrivals)"
    WORK=$(mktemp -d /tmp/vpnse-garbage.XXXXXX)
    chmod 755 "$WORK"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    "$ROOT/tools/create-users.sh" >/dev/null || die "cannot create the system users"

    cp "$ROOT/conf/server.conf" "$WORK/server.conf"
    cp "$ROOT/conf/qos_classes.conf" "$WORK/"
    install -m 600 "$ROOT/conf/users.conf.example" "$WORK/users.conf"
    python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" "server.listen_port=51820" \
        "qos.enabled=false" "security.control_socket=$WORK/server.sock" \
        "logging.file=$WORK/server-daemon.log" "usage.database=$WORK/usage.db" || die "cannot write server.conf"
    cat >"$WORK/client.conf" <<EOF
[client]
server_ip = $SRV_IP
server_port = 51820
username = alice
auth_token = $ALICE_TOKEN
known_servers_file = $WORK/known_servers
control_socket = $WORK/client.sock
[network]
tun_device = tun0
[logging]
level = INFO
EOF
    chmod 600 "$WORK/client.conf"   # it holds the token: the client refuses it otherwise

    LAB_IS_UP=1
    "$LAB" up "$PREFIX" 2 >/dev/null 2>"$WORK/lab.log" || die "lab up failed: $(tail -n1 "$WORK/lab.log")"
    count_rules "$SRV" "-p udp --dport 51820 -s $C1_IP" "-p udp --dport 51820 -s $C2_IP" \
        "-p udp --dport 51820" || die "iptables counting rules in $SRV failed"
    count_rules "$C1" "-p udp -s $SRV_IP --sport 51820 -d $C1_IP" ||
        die "iptables counting rules in $C1 failed"

    bg "$WORK/server.log" ip netns exec "$SRV" "$BIN/vpn-server" -c "$WORK/server.conf" -t "$THREADS"
    SERVER_PID=$LAST_PID
    wait_for "$WORK/server.log" "VPN server is running" 15 "$SERVER_PID" ||
        die "vpn-server did not start: $(tail -n1 "$WORK/server.log")"
    SERVER_KEY=$("$BIN/vpn-keygen" pubkey <"$WORK/server.key")
    bg "$WORK/client.log" ip netns exec "$C1" "$BIN/vpn-client" connect -c "$WORK/client.conf" \
        --server-key "$SERVER_KEY"
    CLIENT_PID=$LAST_PID
    wait_for "$WORK/client.log" "Connected!" 15 "$CLIENT_PID" ||
        die "vpn-client did not connect: $(tail -n1 "$WORK/client.log")"
    local i
    for ((i = 0; i < 50; i++)); do
        ip netns exec "$C1" ping -c 1 -W 1 -q "$TARGET" >/dev/null 2>&1 && break
        sleep 0.1
    done
    # The client's socket is connected to the server: its local port is in the column before
    # the peer 172.31.0.1:51820.
    CLIENT_PORT=$(ip netns exec "$C1" ss -Hunp 2>/dev/null | awk -v peer="$SRV_IP:51820" '
        /"vpn-client"/ { for (i = 2; i <= NF; i++) if ($i == peer) { n = split($(i - 1), a, ":"); print a[n]; exit } }')
    [ -n "$CLIENT_PORT" ] || die "cannot find the client's UDP port with ss -unp in $C1"
}

# ---- phases ----

# run_tool LABEL NS ARGS...: vpn-garbage in NS; the counters are read once it is ready and
# again after it is done (and the queues have drained).
run_tool() {
    local label=$1 ns=$2 log=$WORK/tool-$1.txt go=$WORK/go-$1 i
    shift 2
    local seed=()
    [ -n "$SEED" ] && seed=(--seed "$SEED")
    bg "$log" ip netns exec "$ns" "$TOOL" "$@" --rate "$RATE" --go-file "$go" "${seed[@]}"
    local pid=$LAST_PID
    wait_for "$log" "^ready" 30 "$pid" || { fail "vpn-garbage ($label) did not get ready: $(tail -n2 "$log" | tr '\n' ' ')"; return 1; }
    snapshot "$label-before"
    say "$label: sending $([ "$label" = server ] && echo "$SERVER_COUNT" || echo "$CLIENT_COUNT") datagrams"
    date +%s.%N >"$WORK/t-$label-start"
    touch "$go"
    for ((i = 0; i < 36000; i++)); do alive "$pid" || break; sleep 0.1; done
    wait "$pid" 2>/dev/null
    date +%s.%N >"$WORK/t-$label-end"
    sleep 2     # what is queued in sockets and rings is handled before the counters are read
    snapshot "$label-after"
    return 0
}

phase_server() {
    run_tool server "$C2" server "$SRV_IP" 51820 "$SERVER_KEY" bob "$BOB_TOKEN" -n "$SERVER_COUNT"
}

phase_client() {
    run_tool client "$SRV" client "$SRV_IP" 51820 "$C1_IP" "$CLIENT_PORT" -n "$CLIENT_COUNT" \
        --capture-if br-wan --capture-seconds 3
}

# transfer MB: a checksummed TCP copy from c1 to the LAN host through the tunnel.
transfer() {
    local mb=$1
    head -c $((mb * 1000000)) /dev/urandom >"$WORK/up.bin"
    ip netns exec "$LANNS" python3 - "$TARGET" 7009 "$WORK/recv.bin" >"$WORK/recv.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60)
with open(sys.argv[3], "wb") as f:
    while True:
        b = c.recv(1 << 16)
        if not b: break
        f.write(b)
PY
    local rpid=$!
    PIDS+=("$rpid")
    sleep 0.5
    ip netns exec "$C1" python3 - "$TARGET" 7009 "$WORK/up.bin" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
s.sendall(open(sys.argv[3], "rb").read()); s.shutdown(socket.SHUT_WR); s.recv(1)
PY
    wait "$rpid"
    [ "$(sha256sum <"$WORK/up.bin" | cut -d' ' -f1)" = "$(sha256sum <"$WORK/recv.bin" 2>/dev/null | cut -d' ' -f1)" ]
}

main() {
    setup
    say "lab $PREFIX up; server -t $THREADS, client port $CLIENT_PORT; phases: $PHASES"
    # The ping through the tunnel runs during every phase.
    # -D: a time stamp on every reply, so that a lost one can be placed in the timeline.
    bg "$WORK/ping.txt" ip netns exec "$C1" ping -n -D -i "$PING_INTERVAL" -W 1 "$TARGET"
    PING_PID=$LAST_PID
    sleep 1
    snapshot start
    for p in $PHASES; do
        case $p in
            server) phase_server ;;
            client) phase_client ;;
            *) die "unknown phase $p" ;;
        esac
    done
    kill -INT "$PING_PID" 2>/dev/null
    wait "$PING_PID" 2>/dev/null

    alive "$SERVER_PID" && SERVER_ALIVE=yes || SERVER_ALIVE=no
    alive "$CLIENT_PID" && CLIENT_ALIVE=yes || CLIENT_ALIVE=no
    local t0 t1
    t0=$(date +%s.%N)
    if [ "$CLIENT_ALIVE" = yes ] && transfer "$TRANSFER_MB"; then TRANSFER=ok; else TRANSFER=failed; fi
    t1=$(date +%s.%N)
    TRANSFER_SECS=$(python3 -c "print('%.1f' % ($t1 - $t0))")
    snapshot final

    export WORK SERVER_ALIVE CLIENT_ALIVE TRANSFER TRANSFER_SECS TRANSFER_MB MAX_PING_LOSS PHASES
    export THREADS RATE PREFIX STAMP SERVER_COUNT CLIENT_COUNT PING_INTERVAL
    export BUILD_INFO="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    export MACHINE="$(nproc) CPUs, $(uname -r)"
    mkdir -p "$(dirname "$OUT")"
    python3 "$ROOT/bench/lib-garbage.py" >"$WORK/report.txt" || die "report failed"
    grep -E '^(PASS|FAIL):' "$WORK/report.txt"
    grep -vE '^(PASS|FAIL):' "$WORK/report.txt" | tee "$OUT"
    say "summary written to $OUT"
    FAILS=$((FAILS + $(grep -c '^FAIL:' "$WORK/report.txt")))
    [ "$FAILS" -eq 0 ]
}

main "$@"
