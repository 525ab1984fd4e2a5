# Shared set-up for the namespace integration tests. Source it, then call lab_up.
#
#          +-------------- PREFIX-srv ---------------+
#  PREFIX-c1 --veth-- br-wan 172.31.0.1   tun0 10.8.0.1   PREFIX-s2l 192.168.100.1 --veth-- PREFIX-lan
#  172.31.0.11         (vpn-server + vpn-enclave)                            192.168.100.10
#
# Every test gets its own lab prefix and temporary directory; the EXIT trap stops what the
# test started (by PID) and removes the lab, whether the test passed or not.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/bin
PROBE=$ROOT/build/tests/tools/vpn-probe
LAB=$ROOT/tools/vpn-lab.sh
PREFIX=${PREFIX:-t$$}
PREFIX=${PREFIX:0:8}
WORK=$(mktemp -d /tmp/vpnse-test.XXXXXX)
# The main process runs as vpnse after set-up and re-reads qos_classes.conf on SIGHUP: it must
# be able to enter $WORK. The secrets in it (server.key, users.conf) stay root's, mode 0600.
chmod 755 "$WORK"
# Its control socket lives in a directory it creates for itself (owned by vpnse), so that it
# can remove the socket at exit.
CONTROL_SOCKET=$WORK/run/server.sock
PIDS=()
FAILS=0
ALICE_TOKEN=7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8
BOB_TOKEN=bf7edd34d4fb2e476d0094c3b523323477daf22760cccb39cb4c201d616851c0

# descendants PID...: the PIDs of every process below them (children, grandchildren...).
descendants() {
    ps -e -o pid=,ppid= | awk -v roots="$*" '
        BEGIN {n = split(roots, r, " "); for (i = 1; i <= n; i++) mine[r[i]] = 1}
        {parent[$1] = $2}
        END {do {grew = 0
                 for (p in parent) if (!(p in mine) && (parent[p] in mine)) {mine[p] = 1; grew = 1}
             } while (grew)
             for (i = 1; i <= n; i++) delete mine[r[i]]
             for (p in mine) print p}'
}

# A process still running at the end whose command line names this test's private $WORK was
# started by the test and escaped it: a defect of the test, said as a failure; it is stopped
# by its PID all the same.
stop_left_behind() {
    local d p cmd
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        [ "$p" = $$ ] && continue
        cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
        case $cmd in
        *"$WORK"*)
            echo "FAIL: left running after the test: $p $cmd"
            kill -KILL "$p" 2>/dev/null ;;
        esac
    done
}
# stop_all PID...: TERM, up to 3 s each to end, then KILL.
stop_all() {
    local p
    for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
    for p in "$@"; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
}
cleanup() {
    # What a recorded PID started is the test's too: "cli 1 cmd &" records the subshell that
    # runs the function, and cmd outlives it. Found before the TERMs, while still children.
    local below
    below=$(descendants "${PIDS[@]}")
    stop_all "${PIDS[@]}"
    # shellcheck disable=SC2086 # PIDs
    stop_all $below
    stop_left_behind
    "$LAB" down "$PREFIX" >/dev/null 2>&1
    ip netns del "$PREFIX-rt" 2>/dev/null
    rm -rf "$WORK" "/etc/netns/$PREFIX-c1" "/etc/netns/$PREFIX-srv"
}
trap cleanup EXIT
# A signal (a timeout, ^C) must end in the same clean-up: make it an exit.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# The system users the server and the enclave switch to (idempotent).
"$ROOT/tools/create-users.sh" >/dev/null || { echo "FAIL: cannot create the system users"; exit 1; }

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() {   # check "description" command...
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() { exit $((FAILS > 0)); }

srv() { ip netns exec "$PREFIX-srv" "$@"; }
cli() { local k=$1; shift; ip netns exec "$PREFIX-c$k" "$@"; }
lan() { ip netns exec "$PREFIX-lan" "$@"; }

lab_up() {   # lab_up [NCLIENTS]
    "$LAB" up "$PREFIX" "${1:-1}" >/dev/null
}

# A router between the client and the server, as on most real paths (routed_lab_up), instead
# of vpn-lab's one subnet, which would hide every routing mistake of a full tunnel:
#
#   PREFIX-c1 (client)         PREFIX-rt (router)                   PREFIX-srv (server)
#   10.66.1.2/24 ---c2r/r2c--- 10.66.1.1   172.31.0.254 ---r2s/s2r--- 172.31.0.1/24
#   10.66.2.2/24 --c2r2/r2c2-- 10.66.2.1   203.0.113.1/32 on lo       tun0 10.8.0.1
#   (the second link: a      ("the internet": no route to           192.168.100.1 ---s2l/l2s---
#   network to move to)        10.8.0.0/24; the server NATs)          PREFIX-lan 192.168.100.10
#
# The client's default route points at the router; the router knows the client's networks
# and the server's; the server's default route points at the router.
ROUTED_OUTSIDE=203.0.113.1
routed_lab_up() {
    local p=$PREFIX c=$PREFIX-c1 rt=$PREFIX-rt srv=$PREFIX-srv lan=$PREFIX-lan ns
    "$LAB" down "$p" >/dev/null 2>&1
    ip netns del "$rt" 2>/dev/null
    for ns in "$c" "$rt" "$srv" "$lan"; do
        ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
    done
    ip -n "$rt" link add "$p-r2c" type veth peer name "$p-c2r" netns "$c"
    ip -n "$rt" link add "$p-r2c2" type veth peer name "$p-c2r2" netns "$c"
    ip -n "$rt" link add "$p-r2s" type veth peer name "$p-s2r" netns "$srv"
    ip -n "$srv" link add "$p-s2l" type veth peer name "$p-l2s" netns "$lan"
    ip -n "$rt" addr add 10.66.1.1/24 dev "$p-r2c"
    ip -n "$rt" addr add 10.66.2.1/24 dev "$p-r2c2"
    ip -n "$rt" addr add 172.31.0.254/24 dev "$p-r2s"
    ip -n "$rt" addr add "$ROUTED_OUTSIDE/32" dev lo
    ip -n "$c" addr add 10.66.1.2/24 dev "$p-c2r"
    ip -n "$c" addr add 10.66.2.2/24 dev "$p-c2r2"
    ip -n "$srv" addr add 172.31.0.1/24 dev "$p-s2r"
    ip -n "$srv" addr add 192.168.100.1/24 dev "$p-s2l"
    ip -n "$lan" addr add 192.168.100.10/24 dev "$p-l2s"
    for ns in "$rt:$p-r2c $p-r2c2 $p-r2s" "$c:$p-c2r $p-c2r2" "$srv:$p-s2r $p-s2l" "$lan:$p-l2s"; do
        for dev in ${ns#*:}; do ip -n "${ns%%:*}" link set "$dev" up || return 1; done
    done
    ip -n "$c" route add default via 10.66.1.1
    ip -n "$srv" route add default via 172.31.0.254
    ip -n "$lan" route add default via 192.168.100.1
    ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$srv" sysctl -qw net.ipv4.ip_forward=1
}

# Writes $WORK/server.conf from the shipped example with test paths; extra "section.key=value"
# arguments override or add keys (QoS is off unless asked for).
make_server_conf() {
    cp "$ROOT/conf/server.conf" "$ROOT/conf/qos_classes.conf" "$WORK/"
    cp "$ROOT/conf/users.conf.example" "$WORK/users.conf"
    chmod 600 "$WORK/users.conf"
    python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" "server.listen_port=51820" \
        "qos.enabled=false" "security.control_socket=$CONTROL_SOCKET" \
        "logging.file=$WORK/server-daemon.log" "usage.database=$WORK/usage.db" "$@"
}

# make_client_conf NAME USER TOKEN: mode 0600, as vpn-client requires of a file with a token.
# Each NAME is a device of its own (its device id in $WORK/NAME.device, extension 5).
make_client_conf() {
    local name=$1 user=$2 token=$3
    install -m 600 /dev/null "$WORK/$name.conf"
    cat >"$WORK/$name.conf" <<EOF2
[client]
server_ip = 172.31.0.1
server_port = 51820
username = $user
auth_token = $token
known_servers_file = $WORK/known_servers
device_file = $WORK/$name.device
control_socket = $WORK/$name.sock
[network]
tun_device = tun0
[logging]
level = INFO
EOF2
}

# start_server [ARGS...]: starts vpn-server in the server namespace; waits for "running".
start_server() {
    # ip netns exec execs the program in place: $! is the server's own PID (a shell function
    # in the background would add a subshell in between).
    ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" "$@" \
        >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for "$WORK/server.log" "VPN server is running" 10
}

server_key() { "$BIN/vpn-keygen" pubkey <"$WORK/server.key"; }

# A server that answers as vpn-server never would (tests/tools/vpn-fake-server), on port
# 51821 of the server namespace, for the client configuration $WORK/fake.conf.
FAKE=$ROOT/build/tests/tools/vpn-fake-server
start_fake() {   # start_fake FIELD=VALUE...: the fake server; its key goes into fake.conf
    : >"$WORK/fake.out"
    ip netns exec "$PREFIX-srv" "$FAKE" 172.31.0.1 51821 alice "$ALICE_TOKEN" "$@" >"$WORK/fake.out" 2>&1 &
    fake_pid=$!
    PIDS+=("$fake_pid")
    wait_for "$WORK/fake.out" "^pubkey " 5 || return 1
    python3 "$ROOT/tools/ini-set.py" "$WORK/fake.conf" "client.server_public_key=$(sed -n 's/^pubkey //p' "$WORK/fake.out")"
}
run_fake_client() {   # vpn-client with fake.conf in c1, in the background: $fake_client
    : >"$WORK/fake.log"
    ip netns exec "$PREFIX-c1" "$BIN/vpn-client" connect -c "$WORK/fake.conf" >>"$WORK/fake.log" 2>&1 &
    fake_client=$!
    PIDS+=("$fake_client")
}

# The server's PID and every process below it (launcher, enclave supervisor, workers).
server_tree() {
    local p=${1:-$SERVER_PID} q
    echo "$p"
    for q in $(ps -o pid= --ppid "$p"); do server_tree "$q"; done
}

# PSS of the whole server (server_tree), kB.
server_pss_kb() {   # server_pss_kb [FIELDS]: PSS of the server's processes, kB (default Pss)
    local t=0 p fields=${1:-Pss}
    for p in $(server_tree); do
        t=$((t + $(awk -v f="^(${fields//,/|}):" '$0 ~ f {s += $2} END {print s + 0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
# The server's heaps and stacks (anonymous pages), without the shared libraries' pages, whose
# PSS moves whenever another process maps or unmaps the same library, and without the rings.
server_anon_kb() { server_pss_kb Pss_Anon; }
# The rings between the server and the enclave (shared memory, Pss_Shmem): their pages count
# once touched, so this grows with traffic up to the rings' size (server_rings_size_kb).
server_shmem_kb() { server_pss_kb Pss_Shmem; }
server_rings_size_kb() {
    awk '/^[0-9a-f]+-[0-9a-f]+ .*vpn-rings/ {r = 1; next} /^[0-9a-f]+-/ {r = 0}
         r && /^Size:/ {s += $2} END {print s + 0}' "/proc/$SERVER_PID/smaps" 2>/dev/null
}

# start_client K NAME: client NAME.conf in namespace cK; waits for its own "Connected!" (the
# log may hold an earlier client's: only a new line counts), which it logs once its routes
# are in place.
start_client() {
    local k=$1 name=$2 before
    before=$(grep -c "Connected!" "$WORK/$name.log" 2>/dev/null)
    ip netns exec "$PREFIX-c$k" "$BIN/vpn-client" connect -c "$WORK/$name.conf" \
        --server-key "$(server_key)" >>"$WORK/$name.log" 2>&1 &
    eval "CLIENT_PID_$name=$!"
    PIDS+=("$!")
    for _ in $(seq 1 100); do
        [ "$(grep -c "Connected!" "$WORK/$name.log" 2>/dev/null)" -gt "${before:-0}" ] && return 0
        sleep 0.1
    done
    echo "timeout waiting for a new 'Connected!' in $WORK/$name.log:"; tail -n 20 "$WORK/$name.log"
    return 1
}

# wait_for FILE PATTERN SECONDS
wait_for() {
    local file=$1 pattern=$2 secs=$3
    for _ in $(seq 1 $((secs * 10))); do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timeout waiting for '$pattern' in $file:"; tail -n 20 "$file" 2>/dev/null
    return 1
}

# stop_pid PID: SIGTERM, wait up to 5 s; returns the exit status.
stop_pid() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

server_status() {   # server_status [json]: the status tool, as an operator would run it
    if [ "${1:-}" = json ]; then
        "$BIN/vpnctl" show --json -s "$CONTROL_SOCKET"
    else
        "$BIN/vpnctl" show -s "$CONTROL_SOCKET"
    fi
}

# field PID NAME: a field of /proc/PID/status ("Uid", "CapEff", ...), its first value.
field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# as_user NAME COMMAND...: runs COMMAND with NAME's uid and primary gid, no supplementary
# groups and (as the uid change empties them) no capabilities.
as_user() {
    local name=$1; shift
    setpriv --reuid="$(id -u "$name")" --regid="$(id -g "$name")" --clear-groups "$@"
}

# json_get 'python expression on j' : reads the server's JSON status. The reply is taken whole
# first: the server gives a status client 200 ms to take it (CONTROL_REPLY_MS), and vpnctl
# writing into a pipe that python3 is still starting to read can miss that on a busy machine
# (1000 sessions make a 300 kB reply; the JSON then arrived cut short).
json_get() {
    local reply
    reply=$(server_status json) || return 1
    python3 -c "import json,sys; j=json.load(sys.stdin); print($1)" <<<"$reply"
}

# vpn-metrics in the server namespace, as the unprivileged vpnse-metrics (tools/create-users.sh)
# whose group the server gave its control socket: make_server_conf needs
# metrics.listen=127.0.0.1:9586 metrics.control_socket_group=vpnse-metrics for it. Extra
# arguments go to vpn-metrics. Waits until it serves.
METRICS_URL=http://127.0.0.1:9586
start_metrics() {
    ip netns exec "$PREFIX-srv" setpriv --reuid="$(id -u vpnse-metrics)" \
        --regid="$(id -g vpnse-metrics)" --clear-groups \
        "$BIN/vpn-metrics" -c "$WORK/server.conf" "$@" >>"$WORK/metrics.log" 2>&1 &
    METRICS_PID=$!
    PIDS+=("$METRICS_PID")
    wait_for "$WORK/metrics.log" "vpn-metrics serving" 5
}
# http_get PATH [CURL ARGS...]: the body of vpn-metrics' answer, from inside the server
# namespace (where it listens on 127.0.0.1).
http_get() {
    local path=$1; shift
    srv curl -sS --max-time 10 "$@" "$METRICS_URL$path"
}

# transfer RECEIVER_NS BIND_ADDR PORT SENDER_NS DEST_ADDR OUT: copies up.bin over TCP through
# the tunnel; the receiver writes what arrives to OUT.
transfer() {
    ip netns exec "$1" python3 - "$2" "$3" "$6" <<'PY' &
import socket, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60)
with open(out, "wb") as f:
    while True:
        b = c.recv(1 << 16)
        if not b: break
        f.write(b)
PY
    local rpid=$!
    PIDS+=("$rpid")
    sleep 0.5
    ip netns exec "$4" python3 - "$5" "$3" "$WORK/up.bin" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
s.sendall(open(sys.argv[3], "rb").read()); s.shutdown(socket.SHUT_WR); s.recv(1)
PY
    wait "$rpid"
}

# ---- QoS: what tc shows on the server's tun0 (test_qos.sh, test_wireguard_qos.sh) ----

# tc_classes: "minor rate_bit ceil_bit prio packets bytes" per htb class of tun0 (rates in bit/s).
tc_classes() {
    srv tc -s class show dev tun0 | python3 -c '
import re, sys
units = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}
def bits(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]?)bit", s)
    return int(float(m.group(1)) * units[m.group(2)]) if m else -1
cur = None
for line in sys.stdin:
    m = re.match(r"class htb 1:([0-9a-f]+) (?:root|parent 1:([0-9a-f]+))", line)
    if m:
        prio = re.search(r" prio (\d+)", line)
        rate = re.search(r" rate (\S+)", line).group(1)
        ceil = re.search(r" ceil (\S+)", line).group(1)
        cur = [m.group(1), m.group(2) or "-", bits(rate), bits(ceil), prio.group(1) if prio else "-"]
        continue
    m = re.match(r"\s*Sent (\d+) bytes (\d+) pkt", line)
    if m and cur:
        print(*cur, m.group(2), m.group(1))
        cur = None'
}

# flowid_of IP: the class the u32 filters send IP to (e.g. 100), empty when none does.
flowid_of() {
    local hex
    hex=$(printf '%02x%02x%02x%02x' ${1//./ })
    srv tc filter show dev tun0 | awk -v h="$hex/ffffffff" '
        /flowid/ { for (i = 1; i <= NF; i++) if ($i ~ /flowid/) f = $(i + 1) }
        $1 == "match" && $2 == h { sub(/^1:/, "", f); print f; exit }'
}

# packets_of MINOR: the packet counter of class 1:MINOR.
packets_of() { tc_classes | awk -v m="$1" '$1 == m { print $6 }'; }

# iperf_mbps ARGS...: alice's iperf3 against the LAN host; prints the receiver's Mbit/s.
iperf_mbps() {
    cli 1 iperf3 -c 192.168.100.10 -p 5201 -t "${RATE_SECS:-3}" -O 1 -J "$@" 2>/dev/null |
        python3 -c 'import json, sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))' 2>/dev/null
}

within() {   # within VALUE LO HI (floats)
    python3 -c "import sys; v, lo, hi = map(float, sys.argv[1:]); sys.exit(not lo <= v <= hi)" "$@" 2>/dev/null
}

# ---- WireGuard clients (test_wireguard.sh, test_wireguard_qos.sh); SERVER_WG_PUB is the
# server's WireGuard public key ----

# wg_peer NAME KEY ADDRESS [PSK_FILE]: a wireguard-go interface PREFIX+NAME in c1 with
# ADDRESS/32, its one peer the server at 172.31.0.1:51821 for the tunnel network and the LAN.
wg_peer() {
    local ifn=$PREFIX$1 key=$2 addr=$3 psk=${4:-}
    cli 1 env WG_PROCESS_FOREGROUND=1 wireguard-go "$ifn" >"$WORK/wg-$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 50); do [ -S "/var/run/wireguard/$ifn.sock" ] && break; sleep 0.1; done
    [ -S "/var/run/wireguard/$ifn.sock" ] || { cat "$WORK/wg-$1.log"; return 1; }
    cli 1 wg set "$ifn" private-key "$key" peer "$SERVER_WG_PUB" endpoint 172.31.0.1:51821 \
        allowed-ips 10.8.0.0/24,192.168.100.0/24 ${psk:+preshared-key "$psk"}
    cli 1 ip addr add "$addr/32" dev "$ifn"
    cli 1 ip link set "$ifn" mtu 1420 up
    cli 1 ip route add 192.168.100.0/24 dev "$ifn" 2>/dev/null
    cli 1 ip route add 10.8.0.0/24 dev "$ifn" 2>/dev/null
}
handshakes() { cli 1 wg show "$PREFIX$1" latest-handshakes | awk '{print $2}'; }
