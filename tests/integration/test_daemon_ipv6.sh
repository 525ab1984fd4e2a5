#!/bin/bash
# -d with a pid file and the log file, and the dual-stack listener reached over IPv6.
# The daemon runs as vpnse after set-up, and still removes its pid file at exit.
#
#   c1 fd00:31::11 ==UDP over IPv6==> srv fd00:31::1 (vpn-server -d, listen_address = ::)
source "$(dirname "$0")/lib.sh"

lab_up 1
srv ip -6 addr add fd00:31::1/64 dev br-wan nodad
cli 1 ip -6 addr add fd00:31::11/64 dev "$PREFIX-c1" nodad
make_server_conf
# The pid file beside the control socket, in the directory the server makes for its user:
# it can remove both at exit.
PIDFILE=$(dirname "$CONTROL_SOCKET")/server.pid
ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" -t 2 -d -p "$PIDFILE" \
    >"$WORK/daemon.out" 2>&1
rc=$?
check "-d returns at once with status 0 (got $rc)" test $rc -eq 0
check "the pid file appears" wait_for "$PIDFILE" "[0-9]" 5
pid=$(cat "$PIDFILE")
PIDS+=("$pid")
check "the daemon runs (PID $pid)" bash -c "[ \"\$(cat /proc/$pid/comm)\" = vpn-server ]"
check "it logs to [logging] file, with timestamps" wait_for "$WORK/server-daemon.log" "Z \[INFO\] VPN server is running" 5
check "nothing on the terminal" test ! -s "$WORK/daemon.out"

# A second daemon on the same UDP port (its own TUN and socket) cannot start: the command must
# say so and fail, not return 0 with the reason lost behind /dev/null.
cp "$WORK/server.conf" "$WORK/second.conf"
python3 "$ROOT/tools/ini-set.py" "$WORK/second.conf" server.tun_device=tun1 \
    "security.control_socket=$WORK/second.sock" "logging.file=$WORK/second.log"
ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/second.conf" -t 1 -d \
    >"$WORK/second.out" 2>&1
rc=$?
check "-d whose start-up fails exits non-zero (got $rc)" test $rc -ne 0
check "and prints the reason on stderr" grep -q "ERROR.*UDP port 51820" "$WORK/second.out"
check "nothing of it is left (no tun1)" bash -c "! ip netns exec $PREFIX-srv ip link show tun1 2>/dev/null"

make_client_conf alice alice "$ALICE_TOKEN"
sed -i 's/^server_ip = 172.31.0.1/server_ip = fd00:31::1/' "$WORK/alice.conf"
ip netns exec "$PREFIX-c1" "$BIN/vpn-client" connect -c "$WORK/alice.conf" --server-key "$(server_key)" \
    >>"$WORK/alice.log" 2>&1 &
PIDS+=("$!")
check "client connects over IPv6" wait_for "$WORK/alice.log" "Connected!" 10
check "the server saw an IPv6 endpoint" wait_for "$WORK/server-daemon.log" "from \[fd00:31::11\]:" 5
check "ping through the tunnel over IPv6" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the daemon stops on SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
check "and says so in its log" grep -q "VPN server stopped" "$WORK/server-daemon.log"
check "it removed its pid file and control socket" test ! -e "$PIDFILE" -a ! -e "$CONTROL_SOCKET"
finish
