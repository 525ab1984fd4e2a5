# bench/lib-alice-bob.sh: the lab of the latency benchmarks (run-latency-load, run-ping-walk,
# run-waits), sourced after tests/integration/lib.sh: alice (c1) loads the tunnel with iperf3
# to the LAN host, bob (c2) is the interactive user. Each function's NAME prefixes its errors.
LAN_HOST=192.168.100.10

# bench_need NAME TOOL...: the tools are installed and the tree is built, or exit 2.
bench_need() {
    local name=$1 tool; shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$name: $tool not found" >&2; exit 2; }
    done
    [ -x "$BIN/vpn-server" ] || { echo "$name: build first (make)" >&2; exit 2; }
}

# bench_tracefs NAME: tracepoints need tracefs; a VM without systemd may not have mounted it.
bench_tracefs() {
    [ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing ||
        { echo "$1: cannot mount tracefs" >&2; exit 2; }
}

# bench_lab_up NAME: the lab with two clients, and iperf3's server on the LAN host.
bench_lab_up() {
    lab_up 2 || { echo "$1: lab set-up failed" >&2; exit 1; }
    lan iperf3 -s -D -B "$LAN_HOST" --pidfile "$WORK/iperf3.pid" >/dev/null 2>&1
    sleep 0.5
    PIDS+=("$(cat "$WORK/iperf3.pid")")
}

# bench_alice_bob_up NAME THREADS: vpn-server -t THREADS with the default configuration, and
# both clients connected.
bench_alice_bob_up() {
    make_server_conf
    start_server -t "$2" || { echo "$1: server did not start" >&2; exit 1; }
    bench_clients_up "$1"
}

# bench_clients_up NAME: alice and bob connected to the running server.
bench_clients_up() {
    : >"$WORK/alice.log"; : >"$WORK/bob.log"
    make_client_conf alice alice "$ALICE_TOKEN"
    make_client_conf bob bob "$BOB_TOKEN"
    start_client 1 alice && start_client 2 bob ||
        { echo "$1: clients did not connect" >&2; exit 1; }
}
