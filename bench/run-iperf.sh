#!/usr/bin/env bash
# bench/run-iperf.sh: throughput, latency and CPU of this VPN against a raw veth and the two
# userspace peers Debian ships (wireguard-go, OpenVPN 2.6), all in one run on one lab, so that
# the ratios compare like with like (REQUIREMENTS.md section 9).
#
#   PREFIX-c1                        PREFIX-srv                               PREFIX-lan
#   172.31.0.11 --veth-- br-wan 172.31.0.1 ... forwarding ... 192.168.100.1 --veth-- 192.168.100.10
#   iperf3 -c, ping   <== tunnel ==> vpn-server | wireguard-go | openvpn        iperf3 -s
#
# Every system is measured the same way: from PREFIX-c1 to the LAN host 192.168.100.10, so the
# packets always cross the server namespace and its forwarding, and only the transport between
# c1 and the server differs:
#   raw veth      no tunnel: a temporary route 192.168.100.0/24 via 172.31.0.1 in c1 (MTU 1500)
#   ours -t N     vpn-server -t N in srv, vpn-client in c1; the pushed route 192.168.100.0/24
#   wireguard-go  PREFIX-wgs (srv, 10.66.0.1) <-> PREFIX-wgc (c1, 10.66.0.2), UDP 51821
#   ours via WG   vpn-server -t 2 with [wireguard] enabled (UDP 51822), wireguard-go in c1 as
#                 alice's device "bench" (10.8.0.31): WireGuard clients through our pipeline
#   OpenVPN       p2p TLS, srv --tls-server 10.67.0.1 <-> c1 --tls-client 10.67.0.2, UDP 1194,
#                 CHACHA20-POLY1305, self-signed certificates pinned with --peer-fingerprint
# The LAN host's default route points at srv, so replies to any tunnel subnet find their way.
#
# Per system: ping RTT (avg, p99 and max of PINGS pings at PING_INTERVAL s, tunnel idle), iperf3 TCP
# one stream, four streams (-P 4), reverse (-R, LAN host -> c1), each DURATION s, REPEAT times
# (medians are reported). CPU: utime+stime from /proc/PID/stat of the VPN's processes on both
# sides (ours: vpn-server, its enclave supervisor and workers, vpn-client; wireguard-go: both
# daemons; OpenVPN: both daemons) consumed during the one-stream test, raw and per GB carried.
#
# Usage (root):  bench/run-iperf.sh
# Environment:   DURATION=10  seconds per iperf3 test (QUICK=1 makes it 3)
#                REPEAT=1     runs of each iperf3 test; the table shows medians
#                THREADS="1 2 4"  the -t N values of our server to measure
#                SYSTEMS="raw ours ourswg wg ovpn"  which rows to measure
#                PINGS=200 PING_INTERVAL=0.01  the RTT probe
#                TCP=1        0: the ping alone (no iperf3 tests), to iterate on latency
#                PEER_MTU=1420  tunnel MTU of wireguard-go and OpenVPN (ours: the server's 1400)
#                OUT=bench/results/iperf-DATE.md   where the report is written as well
#                LOGDIR=DIR   copy every log of the run there before the temp dir is removed
#                PREFIX=ibNNNNN   lab prefix (1-8 chars); must not be in use
# Installs iperf3, openssl, wireguard-go, wireguard-tools and openvpn with apt-get when missing.
# A peer that cannot be installed or set up gets a row of n/a with the reason; the run goes on.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
LAB=$ROOT/tools/vpn-lab.sh

QUICK=${QUICK:-0}
if [ -z "${DURATION:-}" ]; then
    if [ "$QUICK" = 1 ]; then DURATION=3; else DURATION=10; fi
fi
REPEAT=${REPEAT:-1}
THREADS=${THREADS:-"1 2 4"}
PINGS=${PINGS:-200}
PING_INTERVAL=${PING_INTERVAL:-0.01}
TCP=${TCP:-1}
PEER_MTU=${PEER_MTU:-1420}
SYSTEMS=${SYSTEMS:-"raw ours ourswg wg ovpn"}
PREFIX=${PREFIX:-ib$(($$ % 100000))}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/bench/results/iperf-$STAMP.md}
LOGDIR=${LOGDIR:-}

SRV=$PREFIX-srv
C1=$PREFIX-c1
LANNS=$PREFIX-lan
TARGET=192.168.100.10
LAN_NET=192.168.100.0/24
SRV_WAN_IP=172.31.0.1
WG_S=$PREFIX-wgs
WG_C=$PREFIX-wgc
OV_S=$PREFIX-ovs
OV_C=$PREFIX-ovc
WG_PORT=51821
OV_PORT=1194
ALICE_TOKEN=7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8

WORK=
PIDS=()
LAB_IS_UP=0
T_START=$(date +%s)

want() { case " $SYSTEMS " in *" $1 "*) return 0 ;; esac; return 1; }
say() { echo "run-iperf: $*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Processes: everything started here is remembered by PID and stopped by PID, nothing by name.

alive() {   # alive PID: running and not a zombie
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

forget() {   # forget PID...: drop from PIDS (after it was reaped: the PID may be reused)
    local q p keep=()
    for q in "${PIDS[@]}"; do
        for p; do [ "$q" = "$p" ] && continue 2; done
        keep+=("$q")
    done
    PIDS=("${keep[@]}")
}

# stop_pid PID [SECONDS]: TERM, up to SECONDS (5) for it to go, then KILL; reaps it and sets
# STOP_RC to its exit status (143 = killed by TERM, 137 = needed KILL).
stop_pid() {
    local p=$1 secs=${2:-5} i
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < secs * 10; i++)); do alive "$p" || break; sleep 0.1; done
    alive "$p" && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    STOP_RC=$?
    forget "$p"
    return 0
}

# bg LOG CMD...: start CMD in the background, output to LOG; sets LAST_PID. "ip netns exec"
# execs the program in place, so the PID is the program's own.
bg() {
    local log=$1
    shift
    "$@" >>"$log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# wait_for FILE PATTERN SECONDS [PID]: 0 once PATTERN is in FILE; 1 on timeout or if PID died.
wait_for() {
    local file=$1 pattern=$2 secs=$3 pid=${4:-} i
    for ((i = 0; i < secs * 10; i++)); do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        if [ -n "$pid" ] && ! alive "$pid"; then
            grep -q -- "$pattern" "$file" 2>/dev/null && return 0
            return 1
        fi
        sleep 0.1
    done
    return 1
}

last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-160; }

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM HUP
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do stop_pid "$p" 3; done
    if [ "$LAB_IS_UP" = 1 ]; then
        "$LAB" down "$PREFIX" >/dev/null 2>&1 || say "warning: could not remove lab $PREFIX"
    fi
    # wireguard-go removes its socket on a clean exit; one killed leaves it behind. Only ours.
    rm -f "/var/run/wireguard/$WG_S.sock" "/var/run/wireguard/$WG_C.sock"
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ -n "$LOGDIR" ]; then
            # Everything but the (throw-away) private keys.
            mkdir -p "$LOGDIR" && tar -C "$WORK" -cf - --exclude='*.key' . |
                tar -xf - -C "$LOGDIR" && say "logs copied to $LOGDIR"
        fi
        rm -rf "$WORK"
    fi
    exit $rc
}

# ---------------------------------------------------------------------------------------------
# Packages

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=0
# ensure_pkgs PKG...: installs the missing ones; 1 with PKG_ERR set if that failed.
ensure_pkgs() {
    local missing=() p
    PKG_ERR=
    for p; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    if [ "$APT_UPDATED" = 0 ]; then
        # A mirror with some indexes out of sync fails the update as a whole but still
        # serves the rest: say so and try the install, whose failure is the one that counts.
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >"$WORK/apt.log" 2>&1 ||
            say "apt-get update: $(last_line "$WORK/apt.log") (trying the install anyway)"
        APT_UPDATED=1
    fi
    if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1; then
        PKG_ERR="apt-get install ${missing[*]} failed: $(last_line "$WORK/apt.log")"
        return 1
    fi
    for p in "${missing[@]}"; do
        pkg_installed "$p" || { PKG_ERR="$p still not installed after apt-get"; return 1; }
    done
    return 0
}

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Measurements

# cpu_ticks PID...: utime+stime (clock ticks) summed over the PIDs and all their descendants
# (the enclave supervisor and workers are children of vpn-server). Prints "TICKS NPROCS".
cpu_ticks() {
    python3 - "$@" <<'PY'
import os, sys
roots = {int(a) for a in sys.argv[1:]}
ppid, ticks = {}, {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        s = open(f"/proc/{d}/stat").read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()   # f[0] state, f[1] ppid, f[11] utime, f[12] stime
    ppid[int(d)] = int(f[1])
    ticks[int(d)] = int(f[11]) + int(f[12])
sel = {p for p in roots if p in ticks}
grew = True
while grew:
    grew = False
    for p, pp in ppid.items():
        if pp in sel and p not in sel:
            sel.add(p)
            grew = True
print(sum(ticks[p] for p in sel), len(sel))
PY
}

CLK_TCK=$(getconf CLK_TCK)

# stat_ticks: "BUSY TOTAL" jiffies of the whole machine from /proc/stat (busy = all but idle
# and iowait), to show how much else kept the CPUs busy while we measured.
stat_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit}' /proc/stat; }

# udp_errs NS: "RcvbufErrors SndbufErrors" of the namespace's UDP stack: datagrams the kernel
# dropped because a UDP socket's buffer was full (losses no VPN counter sees).
udp_errs() {
    # shellcheck disable=SC2016 # awk's own $fields
    ip netns exec "$1" awk '/^Udp:/ {n++; if (n == 1) for (i = 2; i <= NF; i++) k[$i] = i;
        else {print $(k["RcvbufErrors"]), $(k["SndbufErrors"]); exit}}' /proc/net/snmp
}

# iperf_run ARGS...: one iperf3 client run from c1 to the LAN host. Sets IP_MBPS, IP_BYTES,
# IP_RETR, or IP_ERR.
IPERF_N=0
iperf_run() {
    local json out
    IPERF_N=$((IPERF_N + 1))
    json=$WORK/iperf-$IPERF_N.json
    IP_MBPS="" IP_BYTES="" IP_RETR="" IP_ERR=""
    echo "== $CUR_ID: iperf3 $*" >>"$WORK/iperf3-client.log"
    timeout $((DURATION + 30)) ip netns exec "$C1" iperf3 -c "$TARGET" -t "$DURATION" -J \
        --connect-timeout 5000 "$@" >"$json" 2>>"$WORK/iperf3-client.log"
    out=$(python3 - "$json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("ERR", "no iperf3 result (%s)" % type(e).__name__)
    sys.exit()
if "error" in j:
    print("ERR", j["error"].replace("\n", " ")[:120])
    sys.exit()
e = j["end"]
r = e["sum_received"]
print("%.1f %d %s" % (r["bits_per_second"] / 1e6, r["bytes"],
                      e.get("sum_sent", {}).get("retransmits", "-")))
PY
)
    if [ "${out%% *}" = ERR ]; then
        IP_ERR=${out#ERR }
        # A failed run can leave the server stuck on a half-open test: give it a fresh one.
        restart_iperf_server
        return 1
    fi
    read -r IP_MBPS IP_BYTES IP_RETR <<<"$out"
    return 0
}

IPERF_PID=
start_iperf_server() {
    local i
    bg "$WORK/iperf3-server.log" ip netns exec "$LANNS" iperf3 -s -B "$TARGET"
    IPERF_PID=$LAST_PID
    for ((i = 0; i < 50; i++)); do
        ip netns exec "$LANNS" ss -Hltn 2>/dev/null | grep -q ":5201\b" && return 0
        alive "$IPERF_PID" || break
        sleep 0.1
    done
    return 1
}

restart_iperf_server() {
    [ -n "$IPERF_PID" ] && stop_pid "$IPERF_PID" 2
    start_iperf_server || say "warning: iperf3 server did not come back"
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# percentile P: the P-th percentile (nearest rank) of the times of ping's reply lines on stdin.
percentile() {
    sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | sort -g | awk -v p="$1" '{v[NR] = $1} END {
        if (NR == 0) exit; r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}

link_mtu() { ip -n "$1" -o link show dev "$2" 2>/dev/null | sed -n 's/.* mtu \([0-9]*\).*/\1/p'; }

# Results, keyed by system id.
declare -A LABEL MTU NA NOTE T1 T4 TR PAVG P99 PMAX PLOSS CPU CPUGB DETAIL
ORDER=()

# measure ID: ping, then the three iperf3 tests; CPU_ROOTS (PIDs) are charged for the one-stream
# test.
measure() {
    local id=$1 out r v1=() v4=() vr=() cpu_runs=() c0 c1 n1 ticks_sum=0 bytes_sum=0
    local retr1=() retr4=() retrr=() errs=() busy=() b0 a0 b1 a1
    local usr0 uss0 ucr0 ucs0 usr1 uss1 ucr1 ucs1
    CUR_ID=$id
    if ! ip netns exec "$C1" ping -n -q -c 3 -i 0.2 -W 2 "$TARGET" >/dev/null 2>&1; then
        NA[$id]="no connectivity from c1 to $TARGET"
        return 1
    fi
    LOAD_AT=$(cut -d' ' -f1 /proc/loadavg)
    read -r usr0 uss0 <<<"$(udp_errs "$SRV")"
    read -r ucr0 ucs0 <<<"$(udp_errs "$C1")"
    out=$(ip netns exec "$C1" ping -n -c "$PINGS" -i "$PING_INTERVAL" -W 2 "$TARGET" 2>&1)
    printf '%s\n' "$out" >"$WORK/ping-$id.txt"
    PAVG[$id]=$(sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
    PMAX[$id]=$(sed -n 's|^rtt [^=]*= [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
    P99[$id]=$(percentile 99 <<<"$out")
    PLOSS[$id]=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$out")
    [ "$TCP" = 1 ] || return 0
    for ((r = 0; r < REPEAT; r++)); do
        say "$id: TCP 1 stream (${DURATION} s)"
        # shellcheck disable=SC2086 # a list of PIDs, split on purpose
        [ -n "$CPU_ROOTS" ] && read -r c0 _ <<<"$(cpu_ticks $CPU_ROOTS)"
        read -r b0 a0 <<<"$(stat_ticks)"
        if iperf_run; then
            read -r b1 a1 <<<"$(stat_ticks)"
            busy+=("$(awk -v b=$((b1 - b0)) -v a=$((a1 - a0)) 'BEGIN {if (a > 0) printf "%.0f", 100 * b / a}')")
            v1+=("$IP_MBPS")
            retr1+=("$IP_RETR")
            if [ -n "$CPU_ROOTS" ]; then
                # shellcheck disable=SC2086
                read -r c1 n1 <<<"$(cpu_ticks $CPU_ROOTS)"
                cpu_runs+=("$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')")
                ticks_sum=$((ticks_sum + c1 - c0))
                bytes_sum=$((bytes_sum + IP_BYTES))
                CPU_NPROC=$n1
            fi
        else
            errs+=("1 stream: $IP_ERR")
        fi
    done
    for ((r = 0; r < REPEAT; r++)); do
        say "$id: TCP 4 streams"
        if iperf_run -P 4; then v4+=("$IP_MBPS"); retr4+=("$IP_RETR")
        else errs+=("4 streams: $IP_ERR"); fi
    done
    for ((r = 0; r < REPEAT; r++)); do
        say "$id: TCP reverse"
        if iperf_run -R; then vr+=("$IP_MBPS"); retrr+=("$IP_RETR")
        else errs+=("reverse: $IP_ERR"); fi
    done
    read -r usr1 uss1 <<<"$(udp_errs "$SRV")"
    read -r ucr1 ucs1 <<<"$(udp_errs "$C1")"
    DETAIL[$id]+="kernel UDP buffer drops over the three tests (receive/send): server"
    DETAIL[$id]+=" $((usr1 - usr0))/$((uss1 - uss0)), client $((ucr1 - ucr0))/$((ucs1 - ucs0)); "
    T1[$id]=$(median "${v1[@]}")
    T4[$id]=$(median "${v4[@]}")
    TR[$id]=$(median "${vr[@]}")
    if [ ${#cpu_runs[@]} -gt 0 ]; then
        CPU[$id]=$(median "${cpu_runs[@]}")
        CPUGB[$id]=$(awk -v t=$ticks_sum -v hz="$CLK_TCK" -v b=$bytes_sum \
            'BEGIN {if (b > 0) printf "%.2f", (t / hz) / (b / 1e9)}')
        DETAIL[$id]+="CPU of the 1-stream test: ${cpu_runs[*]} s over $CPU_NPROC processes"
        DETAIL[$id]+=" ($(awk -v c="${CPU[$id]}" -v d="$DURATION" 'BEGIN {printf "%.0f", 100 * c / d}') % of one core); "
    fi
    DETAIL[$id]+="machine CPUs busy during the 1-stream test: ${busy[*]:-?} % (load average ${LOAD_AT:-?} before it); "
    DETAIL[$id]+="Mbit/s 1 stream: ${v1[*]:-none}, 4 streams: ${v4[*]:-none}, reverse: ${vr[*]:-none}; "
    DETAIL[$id]+="TCP retransmits 1/4/R: ${retr1[*]:--}/${retr4[*]:--}/${retrr[*]:--}"
    [ "${PLOSS[$id]:-0}" != 0 ] && NOTE[$id]+="ping loss ${PLOSS[$id]} %; "
    [ ${#errs[@]} -gt 0 ] && NOTE[$id]+="failed: $(IFS=';'; echo "${errs[*]}"); "
    return 0
}

# tun_drops ID SRV_IF C1_IF: the kernel's drop counters of the tunnel interfaces since they were
# created (tx_dropped on a TUN: packets the kernel routed to it that its reader did not take
# in time, the TUN's queue being full).
tun_drops() {
    local id=$1 ns dev out=
    for ns in "$SRV" "$C1"; do
        if [ "$ns" = "$SRV" ]; then dev=$2; else dev=$3; fi
        out+=" ${ns#"$PREFIX"-} $dev rx $(ip netns exec "$ns" cat "/sys/class/net/$dev/statistics/rx_dropped" 2>/dev/null)"
        out+=" tx $(ip netns exec "$ns" cat "/sys/class/net/$dev/statistics/tx_dropped" 2>/dev/null),"
    done
    DETAIL[$id]+="; tunnel interface drops:${out%,}"
}

# run_system ID LABEL SETUP TEARDOWN: set up, measure, always tear down.
run_system() {
    local id=$1 label=$2 setup=$3 teardown=$4
    ORDER+=("$id")
    LABEL[$id]=$label
    CPU_ROOTS=
    TUN_IFS=
    FAIL_REASON=
    say "== $label: setting up"
    if $setup; then
        # shellcheck disable=SC2086 # two interface names
        measure "$id" && [ -n "$TUN_IFS" ] && tun_drops "$id" $TUN_IFS
    else
        NA[$id]=${FAIL_REASON:-set-up failed}
        say "$label: n/a: ${NA[$id]}"
    fi
    $teardown
}

# ---------------------------------------------------------------------------------------------
# Raw veth: no tunnel, c1 routes the LAN through the server's bridge address.

setup_raw() {
    ip -n "$C1" route add "$LAN_NET" via "$SRV_WAN_IP" || { FAIL_REASON="route add failed"; return 1; }
    MTU[raw]=$(link_mtu "$C1" "$C1")
    NOTE[raw]+="no encryption, kernel forwarding only; "
}
teardown_raw() { ip -n "$C1" route del "$LAN_NET" via "$SRV_WAN_IP" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
# This VPN: configuration as tests/integration/lib.sh makes it (QoS off, sockets in WORK).

OURS=
prepare_ours() {
    OURS=$WORK/ours
    mkdir -p "$OURS"
    cp "$ROOT/conf/server.conf" "$OURS/server.conf" || return 1
    [ -f "$ROOT/conf/qos_classes.conf" ] && cp "$ROOT/conf/qos_classes.conf" "$OURS/"
    install -m 600 "$ROOT/conf/users.conf.example" "$OURS/users.conf" || return 1
    python3 "$ROOT/tools/ini-set.py" "$OURS/server.conf" "server.listen_port=51820" \
        "qos.enabled=false" "security.control_socket=$OURS/server.sock" \
        "logging.file=$OURS/server-daemon.log" "logging.level=INFO" \
        "usage.database=$OURS/usage.db" || return 1
    install -m 600 /dev/null "$OURS/client.conf" || return 1    # vpn-client refuses looser
    cat >"$OURS/client.conf" <<EOF
[client]
server_ip = $SRV_WAN_IP
server_port = 51820
username = alice
auth_token = $ALICE_TOKEN
known_servers_file = $OURS/known_servers
control_socket = $OURS/client.sock
[network]
tun_device = tun0
[logging]
level = INFO
EOF
}

SERVER_PID="" CLIENT_PID="" OURS_T=""
setup_ours() {
    local t=$OURS_T key i
    [ -n "$OURS" ] || prepare_ours || { FAIL_REASON="could not write the configuration"; return 1; }
    bg "$OURS/server-t$t.log" ip netns exec "$SRV" "$BIN/vpn-server" -c "$OURS/server.conf" -t "$t"
    SERVER_PID=$LAST_PID
    if ! wait_for "$OURS/server-t$t.log" "VPN server is running" 15 "$SERVER_PID"; then
        FAIL_REASON="vpn-server did not start: $(last_line "$OURS/server-t$t.log")"
        return 1
    fi
    key=$("$BIN/vpn-keygen" pubkey <"$OURS/server.key") || { FAIL_REASON="no server key"; return 1; }
    bg "$OURS/client-t$t.log" ip netns exec "$C1" "$BIN/vpn-client" connect \
        -c "$OURS/client.conf" --server-key "$key"
    CLIENT_PID=$LAST_PID
    if ! wait_for "$OURS/client-t$t.log" "Connected!" 15 "$CLIENT_PID"; then
        FAIL_REASON="vpn-client did not connect: $(last_line "$OURS/client-t$t.log")"
        return 1
    fi
    # The pushed route is installed around the "Connected!" line; give it a moment.
    for ((i = 0; i < 30; i++)); do
        ip -n "$C1" route show "$LAN_NET" | grep -q . && break
        sleep 0.1
    done
    CPU_ROOTS="$SERVER_PID $CLIENT_PID"
    TUN_IFS="tun0 tun0"
    MTU[ours$t]=$(link_mtu "$C1" tun0)
    # Drops counted before any traffic are the connect's, not the benchmark's.
    ip netns exec "$C1" "$BIN/vpn-client" status -c "$OURS/client.conf" \
        >"$OURS/client-status-t$t-start.txt" 2>&1
    DETAIL[ours$t]+="client dropped at connect: $(sed -n 's/^dropped: //p' \
        "$OURS/client-status-t$t-start.txt"); "
    return 0
}

server_show() {   # server_show SOCKET: the status tool's text
    "$BIN/vpnctl" show -s "$1"
}

teardown_ours() {
    local t=$OURS_T id=ours$OURS_T drops warn
    if [ -n "$CLIENT_PID" ] && alive "$CLIENT_PID"; then
        ip netns exec "$C1" "$BIN/vpn-client" status -c "$OURS/client.conf" \
            >"$OURS/client-status-t$t.txt" 2>&1
        drops=$(sed -n 's/^dropped: //p' "$OURS/client-status-t$t.txt")
        DETAIL[$id]+="; client status: $(grep -E '^(received|sent|dropped):' \
            "$OURS/client-status-t$t.txt" | tr '\n' ' ')"
        [ -n "$drops" ] && [ "$drops" != 0 ] && NOTE[$id]+="client dropped $drops packets; "
    fi
    if [ -n "$SERVER_PID" ] && alive "$SERVER_PID"; then
        server_show "$OURS/server.sock" >"$OURS/server-status-t$t.txt" 2>&1
        drops=$(grep -i '^drops:' "$OURS/server-status-t$t.txt" | head -n 1)
        [ -n "$drops" ] && DETAIL[$id]+="; server $drops"
        # Any non-zero counter in the drops line is worth a note.
        if grep -i '^drops:' "$OURS/server-status-t$t.txt" | grep -qE '[a-z_]+ [1-9]'; then
            NOTE[$id]+="server drops: $(grep -i '^drops:' "$OURS/server-status-t$t.txt" |
                grep -oE '[a-z_]+ [1-9][0-9]*' | tr '\n' ',' | sed 's/,$//'); "
        fi
    fi
    if [ -n "$CLIENT_PID" ]; then
        stop_pid "$CLIENT_PID" 5
        [ "$STOP_RC" = 0 ] || NOTE[$id]+="vpn-client exit status $STOP_RC on TERM; "
    fi
    if [ -n "$SERVER_PID" ]; then
        stop_pid "$SERVER_PID" 8
        [ "$STOP_RC" = 0 ] || NOTE[$id]+="vpn-server exit status $STOP_RC on TERM; "
    fi
    for f in "$OURS/server-t$t.log" "$OURS/client-t$t.log"; do
        [ -f "$f" ] || continue
        warn=$(grep -cE '\[(WARN|ERROR)\]' "$f")
        if [ "$warn" -gt 0 ]; then
            NOTE[$id]+="$warn WARN/ERROR lines in $(basename "$f"): \"$(grep -E '\[(WARN|ERROR)\]' "$f" |
                head -n 1 | cut -c1-100)\"; "
        fi
    done
    SERVER_PID="" CLIENT_PID=""
}

# ---------------------------------------------------------------------------------------------
# wireguard-go as a client of our server's WireGuard port (docs/WIREGUARD.md): the same server
# as "ours -t 2", plus the device's key in users.conf and its address in the classes file.

OURS_WG_PORT=51822 OURS_WG_IP=10.8.0.31
setup_ourswg() {
    local d=$WORK/ourswg key
    [ -z "$PEERS_WG_ERR" ] || { FAIL_REASON=$PEERS_WG_ERR; return 1; }
    [ -n "$OURS" ] || prepare_ours || { FAIL_REASON="could not write the configuration"; return 1; }
    mkdir -p "$d"
    [ -e "/var/run/wireguard/$WG_C.sock" ] &&
        { FAIL_REASON="/var/run/wireguard/$WG_C.sock exists (another run?)"; return 1; }
    (umask 077; wg genkey >"$d/c.key") || { FAIL_REASON="wg genkey failed"; return 1; }
    cp "$OURS/server.conf" "$d/server.conf" && cp "$OURS/qos_classes.conf" "$d/" &&
        install -m 600 "$OURS/users.conf" "$d/users.conf" || { FAIL_REASON="copy failed"; return 1; }
    printf '\n[wireguard:alice:bench]\npublic_key = %s\n' "$(wg pubkey <"$d/c.key")" >>"$d/users.conf"
    printf '\n[device:alice:bench]\nvpn_ip = %s\n' "$OURS_WG_IP" >>"$d/qos_classes.conf"
    python3 "$ROOT/tools/ini-set.py" "$d/server.conf" "wireguard.enabled=true" \
        "wireguard.listen_port=$OURS_WG_PORT" "security.control_socket=$d/server.sock" \
        "logging.file=$d/server-daemon.log" "usage.database=$d/usage.db" ||
        { FAIL_REASON="could not write the configuration"; return 1; }
    bg "$d/server.log" ip netns exec "$SRV" "$BIN/vpn-server" -c "$d/server.conf" -t 2
    SERVER_PID=$LAST_PID
    if ! wait_for "$d/server.log" "VPN server is running" 15 "$SERVER_PID"; then
        FAIL_REASON="vpn-server did not start: $(last_line "$d/server.log")"
        return 1
    fi
    key=$(sed -n 's/.*WireGuard listening on UDP port [0-9]*, public key \([^ ]*\).*/\1/p' "$d/server.log")
    bg "$d/wgc.log" ip netns exec "$C1" env LOG_LEVEL=error wireguard-go -f "$WG_C"
    WGC_PID=$LAST_PID
    for ((i = 0; i < 50; i++)); do
        [ -S "/var/run/wireguard/$WG_C.sock" ] && break
        alive "$WGC_PID" || break
        sleep 0.1
    done
    if ! ip netns exec "$C1" wg set "$WG_C" private-key "$d/c.key" peer "$key" \
            endpoint "$SRV_WAN_IP:$OURS_WG_PORT" allowed-ips "10.8.0.0/24,$LAN_NET" ||
        ! ip -n "$C1" addr add "$OURS_WG_IP/32" dev "$WG_C" ||
        ! ip -n "$C1" link set "$WG_C" mtu "$PEER_MTU" up ||
        ! ip -n "$C1" route add "$LAN_NET" dev "$WG_C"; then
        FAIL_REASON="configuring the wireguard-go interface failed"
        return 1
    fi
    ip netns exec "$C1" ping -n -q -c 3 -i 0.2 -W 2 "$TARGET" >/dev/null 2>&1 ||
        NOTE[ourswg]+="first handshake slow; "
    CPU_ROOTS="$SERVER_PID $WGC_PID"
    TUN_IFS="tun0 $WG_C"
    MTU[ourswg]=$(link_mtu "$C1" "$WG_C")
    NOTE[ourswg]+="client wireguard-go $(pkg_version wireguard-go); "
}

teardown_ourswg() {
    [ -n "$SERVER_PID" ] && alive "$SERVER_PID" &&
        server_show "$WORK/ourswg/server.sock" >"$WORK/ourswg/server-status.txt" 2>&1
    [ -n "$WGC_PID" ] && stop_pid "$WGC_PID" 5
    [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID" 8
    WGC_PID="" SERVER_PID=""
    ip -n "$C1" route del "$LAN_NET" 2>/dev/null
    rm -f "/var/run/wireguard/$WG_C.sock"
}

# ---------------------------------------------------------------------------------------------
# wireguard-go (Debian's; the kernel has no WireGuard module). Its UAPI socket lives in
# /var/run/wireguard/IFNAME.sock, shared by all namespaces: each side gets its own name.

PEERS_WG_ERR=
WGS_PID="" WGC_PID=""
setup_wg() {
    local d=$WORK/wg s c
    [ -z "$PEERS_WG_ERR" ] || { FAIL_REASON=$PEERS_WG_ERR; return 1; }
    mkdir -p "$d"
    for s in "$WG_S" "$WG_C"; do
        if [ -e "/var/run/wireguard/$s.sock" ]; then
            FAIL_REASON="/var/run/wireguard/$s.sock exists (another run?)"
            return 1
        fi
    done
    (umask 077; wg genkey >"$d/s.key" && wg genkey >"$d/c.key") || { FAIL_REASON="wg genkey failed"; return 1; }
    wg pubkey <"$d/s.key" >"$d/s.pub" && wg pubkey <"$d/c.key" >"$d/c.pub"
    bg "$d/wgs.log" ip netns exec "$SRV" env LOG_LEVEL=error wireguard-go -f "$WG_S"
    WGS_PID=$LAST_PID
    bg "$d/wgc.log" ip netns exec "$C1" env LOG_LEVEL=error wireguard-go -f "$WG_C"
    WGC_PID=$LAST_PID
    for ((s = 0; s < 50; s++)); do
        [ -S "/var/run/wireguard/$WG_S.sock" ] && [ -S "/var/run/wireguard/$WG_C.sock" ] && break
        if ! alive "$WGS_PID" || ! alive "$WGC_PID"; then break; fi
        sleep 0.1
    done
    if ! [ -S "/var/run/wireguard/$WG_S.sock" ] || ! [ -S "/var/run/wireguard/$WG_C.sock" ]; then
        FAIL_REASON="wireguard-go did not start: $(last_line "$d/wgs.log")"
        return 1
    fi
    if ! ip netns exec "$SRV" wg set "$WG_S" listen-port "$WG_PORT" private-key "$d/s.key" \
            peer "$(cat "$d/c.pub")" allowed-ips 10.66.0.2/32 ||
        ! ip -n "$SRV" addr add 10.66.0.1/24 dev "$WG_S" ||
        ! ip -n "$SRV" link set "$WG_S" mtu "$PEER_MTU" up ||
        ! ip netns exec "$C1" wg set "$WG_C" private-key "$d/c.key" \
            peer "$(cat "$d/s.pub")" endpoint "$SRV_WAN_IP:$WG_PORT" \
            allowed-ips "10.66.0.0/24,$LAN_NET" ||
        ! ip -n "$C1" addr add 10.66.0.2/24 dev "$WG_C" ||
        ! ip -n "$C1" link set "$WG_C" mtu "$PEER_MTU" up ||
        ! ip -n "$C1" route add "$LAN_NET" dev "$WG_C"; then
        FAIL_REASON="configuring the wireguard-go interfaces failed"
        return 1
    fi
    c=$(ip netns exec "$C1" ping -n -q -c 3 -i 0.2 -W 2 10.66.0.1 2>&1 | grep -c ' 0% packet loss')
    [ "$c" -gt 0 ] || NOTE[wg]+="first handshake slow; "
    CPU_ROOTS="$WGS_PID $WGC_PID"
    TUN_IFS="$WG_S $WG_C"
    MTU[wg]=$(link_mtu "$C1" "$WG_C")
    NOTE[wg]+="wireguard-go $(pkg_version wireguard-go); "
    return 0
}

teardown_wg() {
    local p
    for p in $WGC_PID $WGS_PID; do stop_pid "$p" 5; done
    WGS_PID="" WGC_PID=""
    ip -n "$C1" route del "$LAN_NET" 2>/dev/null
    rm -f "/var/run/wireguard/$WG_S.sock" "/var/run/wireguard/$WG_C.sock"
}

# ---------------------------------------------------------------------------------------------
# OpenVPN 2.6: static-key mode refuses AEAD ciphers, so TLS p2p with self-signed certificates
# pinned by fingerprint (no CA). --tun-mtu 1420: the default 1500 fragments on the 1500 veth.

PEERS_OV_ERR=
OVS_PID="" OVC_PID=""
setup_ovpn() {
    local d=$WORK/ovpn side sfp cfp common
    [ -z "$PEERS_OV_ERR" ] || { FAIL_REASON=$PEERS_OV_ERR; return 1; }
    mkdir -p "$d"
    for side in s c; do
        if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -subj "/CN=bench-$side" -keyout "$d/$side.key" -out "$d/$side.crt" \
            >>"$d/openssl.log" 2>&1; then
            FAIL_REASON="openssl could not make a certificate: $(last_line "$d/openssl.log")"
            return 1
        fi
    done
    sfp=$(openssl x509 -in "$d/s.crt" -noout -fingerprint -sha256 | cut -d= -f2)
    cfp=$(openssl x509 -in "$d/c.crt" -noout -fingerprint -sha256 | cut -d= -f2)
    common=(--dev-type tun --proto udp --disable-dco --cipher CHACHA20-POLY1305
        --data-ciphers CHACHA20-POLY1305 --tun-mtu "$PEER_MTU" --verb 3 --ping 10
        --ping-exit 120 --script-security 1)
    bg "$d/server.log" ip netns exec "$SRV" openvpn "${common[@]}" --dev "$OV_S" \
        --local "$SRV_WAN_IP" --lport "$OV_PORT" --tls-server --dh none \
        --cert "$d/s.crt" --key "$d/s.key" --peer-fingerprint "$cfp" \
        --ifconfig 10.67.0.1 10.67.0.2
    OVS_PID=$LAST_PID
    bg "$d/client.log" ip netns exec "$C1" openvpn "${common[@]}" --dev "$OV_C" \
        --remote "$SRV_WAN_IP" "$OV_PORT" --nobind --tls-client \
        --cert "$d/c.crt" --key "$d/c.key" --peer-fingerprint "$sfp" \
        --ifconfig 10.67.0.2 10.67.0.1
    OVC_PID=$LAST_PID
    if ! wait_for "$d/server.log" "Initialization Sequence Completed" 20 "$OVS_PID" ||
        ! wait_for "$d/client.log" "Initialization Sequence Completed" 20 "$OVC_PID"; then
        local why
        why=$(cat "$d/server.log" "$d/client.log" 2>/dev/null | grep -iE 'error|fail|refus' |
            grep -v 'Exiting due to fatal error' | head -n 1 | cut -c1-160)
        FAIL_REASON="OpenVPN did not connect: ${why:-$(last_line "$d/client.log")}"
        return 1
    fi
    if ! ip -n "$C1" route add "$LAN_NET" dev "$OV_C"; then
        FAIL_REASON="route via $OV_C failed"
        return 1
    fi
    grep -qi "Data Channel: cipher 'CHACHA20-POLY1305'" "$d/client.log" ||
        NOTE[ovpn]+="CHACHA20-POLY1305 not confirmed in the log; "
    CPU_ROOTS="$OVS_PID $OVC_PID"
    TUN_IFS="$OV_S $OV_C"
    MTU[ovpn]=$(link_mtu "$C1" "$OV_C")
    NOTE[ovpn]+="$(openvpn --version 2>/dev/null | head -n 1 | awk '{print $1, $2}'), p2p TLS, CHACHA20-POLY1305; "
    return 0
}

teardown_ovpn() {
    local p
    for p in $OVC_PID $OVS_PID; do stop_pid "$p" 5; done
    OVS_PID="" OVC_PID=""
    ip -n "$C1" route del "$LAN_NET" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# Report

fmt() { [ -n "$1" ] && printf "%s" "$1" || printf "n/a"; }
fmt0() { [ -n "$1" ] && printf "%.0f" "$1" || printf "n/a"; }

notes() { local n=$1; n=${n%"; "}; n=${n%";"}; printf "%s" "${n//|/\\|}"; }

ratio() {   # ratio A B: A/B as "1.23x", or n/a
    awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b != "" && b + 0 > 0) printf "%.2fx", a / b; else printf "n/a"}'
}

report() {
    local id
    echo "# iperf3 benchmark: raw veth, this VPN, wireguard-go, OpenVPN"
    echo
    echo "- date: $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "- machine: $(nproc) CPUs, Linux $(uname -r), $(uname -m), CPU: $CPU_MODEL"
    echo "- load average (1 min) at start: $LOAD_START, at end: $(cut -d' ' -f1 /proc/loadavg)" \
        "(anything else running on the machine skews the figures)"
    echo "- code: $BUILD_INFO"
    echo "- method: from $C1 (172.31.0.11) to the LAN host $TARGET behind the server namespace," \
        "iperf3 $(pkg_version iperf3) TCP, ${DURATION} s per test, ${REPEAT} run(s) each (median);" \
        "ping: $PINGS at ${PING_INTERVAL} s on the idle path; CPU: utime+stime of the VPN's" \
        "processes on both sides during the 1-stream test"
    echo
    echo "| system | MTU | TCP 1 stream Mbit/s | TCP 4 streams Mbit/s | reverse Mbit/s | ping avg ms | ping p99 ms | ping max ms | CPU s (1 stream) | CPU s/GB | notes |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for id in "${ORDER[@]}"; do
        if [ -n "${NA[$id]:-}" ]; then
            echo "| ${LABEL[$id]} | ${MTU[$id]:-n/a} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | $(notes "n/a: ${NA[$id]}; ${NOTE[$id]:-}") |"
            continue
        fi
        local cpu cpugb
        if [ "$id" = raw ]; then cpu="-" cpugb="-"
        else cpu=$(fmt "${CPU[$id]:-}") cpugb=$(fmt "${CPUGB[$id]:-}"); fi
        echo "| ${LABEL[$id]} | ${MTU[$id]:-?} | $(fmt0 "${T1[$id]:-}") | $(fmt0 "${T4[$id]:-}") | $(fmt0 "${TR[$id]:-}") | $(fmt "${PAVG[$id]:-}") | $(fmt "${P99[$id]:-}") | $(fmt "${PMAX[$id]:-}") | $cpu | $cpugb | $(notes "${NOTE[$id]:-}") |"
    done
    echo
    echo "Ratios, ours / peer (throughput: above 1 means ours is faster; CPU s/GB: below 1 means ours"
    echo "spends less CPU per byte):"
    echo
    for id in "${ORDER[@]}"; do
        case $id in ours*) ;; *) continue ;; esac
        echo "- ${LABEL[$id]}: 1 stream $(ratio "${T1[$id]:-}" "${T1[wg]:-}") wireguard-go," \
            "$(ratio "${T1[$id]:-}" "${T1[ovpn]:-}") OpenVPN;" \
            "4 streams $(ratio "${T4[$id]:-}" "${T4[wg]:-}") wireguard-go," \
            "$(ratio "${T4[$id]:-}" "${T4[ovpn]:-}") OpenVPN;" \
            "reverse $(ratio "${TR[$id]:-}" "${TR[wg]:-}") wireguard-go," \
            "$(ratio "${TR[$id]:-}" "${TR[ovpn]:-}") OpenVPN;" \
            "CPU s/GB $(ratio "${CPUGB[$id]:-}" "${CPUGB[wg]:-}") wireguard-go's," \
            "$(ratio "${CPUGB[$id]:-}" "${CPUGB[ovpn]:-}") OpenVPN's"
    done
    echo
    echo "Details:"
    echo
    for id in "${ORDER[@]}"; do
        [ -n "${DETAIL[$id]:-}" ] && echo "- ${LABEL[$id]}: ${DETAIL[$id]}"
    done
    echo
    echo "Total run time: $(($(date +%s) - T_START)) s."
}

# ---------------------------------------------------------------------------------------------

main() {
    local t
    [ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, TUN)"
    case $PREFIX in ''|-*|*[!a-z0-9-]*) die "bad PREFIX '$PREFIX'" ;; esac
    [ ${#PREFIX} -le 8 ] || die "PREFIX '$PREFIX' longer than 8 characters"
    case $DURATION in ''|*[!0-9]*|0) die "DURATION must be a positive number of seconds" ;; esac
    case $REPEAT in ''|*[!0-9]*|0) die "REPEAT must be a positive number" ;; esac
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qE "^$PREFIX-(srv|lan|c[0-9]+)$"; then
        die "namespaces of prefix '$PREFIX' exist already: choose another PREFIX"
    fi
    command -v python3 >/dev/null || die "python3 is needed (it parses iperf3's JSON)"

    WORK=$(mktemp -d /tmp/vpnse-bench.XXXXXX)
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
    CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    [ -n "$CPU_MODEL" ] || CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)

    ensure_pkgs iperf3 || die "iperf3 is needed: $PKG_ERR"
    # vpn-server switches to these system users (vpnse, vpnse-enclave) after set-up.
    "$ROOT/tools/create-users.sh" >/dev/null || die "cannot create the system users"
    if want ovpn; then ensure_pkgs openssl || PEERS_OV_ERR="openssl: $PKG_ERR"; fi
    if want wg; then ensure_pkgs wireguard-go wireguard-tools || PEERS_WG_ERR=$PKG_ERR; fi
    if want ovpn && [ -z "$PEERS_OV_ERR" ]; then ensure_pkgs openvpn || PEERS_OV_ERR=$PKG_ERR; fi

    if [ ! -x "$BIN/vpn-server" ] || [ ! -x "$BIN/vpn-enclave" ] || [ ! -x "$BIN/vpn-client" ] ||
        [ ! -x "$BIN/vpn-keygen" ]; then
        say "building (bin/ incomplete)"
        make -C "$ROOT" >"$WORK/make.log" 2>&1 || die "make failed: $(last_line "$WORK/make.log")"
    fi

    # Run one build throughout: other work may rebuild bin/ while we measure. vpn-server finds
    # vpn-enclave beside itself.
    BUILD_INFO="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    BUILD_INFO+=" (binaries built $(date -r "$BIN/vpn-server" '+%Y-%m-%d %H:%M:%S'))"
    mkdir -p "$WORK/bin"
    cp -p "$BIN/vpn-server" "$BIN/vpn-enclave" "$BIN/vpn-client" "$BIN/vpn-keygen" "$BIN/vpnctl" \
        "$WORK/bin/" ||
        die "could not copy the binaries"
    BIN=$WORK/bin

    LAB_IS_UP=1
    "$LAB" up "$PREFIX" 1 >/dev/null 2>"$WORK/lab.log" || die "lab up failed: $(last_line "$WORK/lab.log")"
    start_iperf_server || die "iperf3 server did not start: $(last_line "$WORK/iperf3-server.log")"

    say "machine: $(nproc) CPUs, $(uname -r), $CPU_MODEL; lab $PREFIX; ${DURATION} s per test"
    want raw && run_system raw "raw veth (no VPN)" setup_raw teardown_raw
    if want ours; then
        for t in $THREADS; do
            OURS_T=$t
            run_system "ours$t" "this VPN -t $t" setup_ours teardown_ours
        done
    fi
    want ourswg && run_system ourswg "this VPN -t 2, wireguard-go client" setup_ourswg teardown_ourswg
    want wg && run_system wg "wireguard-go" setup_wg teardown_wg
    want ovpn && run_system ovpn "OpenVPN 2.6" setup_ovpn teardown_ovpn

    mkdir -p "$(dirname "$OUT")"
    report | tee "$OUT"
    say "report written to $OUT"
}

main "$@"
