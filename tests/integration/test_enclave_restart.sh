#!/bin/bash
# The enclave always comes back (control-plane issue): kill -9 of the enclave *supervisor*
# (not a worker) does not stop the server; the launcher starts a new enclave, the client is
# told its session is unknown (extension 2) and handshakes again by itself, and the tunnel
# works again within 5 s. A crash loop is slowed down and logged. At exit no enclave or
# launcher process outlives vpn-server.
#
#   c1 (vpn-client) ==UDP==> srv: vpn-server -> launcher -> vpn-enclave supervisor -> 2 workers
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
start_server -t 2 || { fail "server starts"; finish; }
make_client_conf alice alice "$ALICE_TOKEN"
start_client 1 alice || { fail "client connects"; finish; }
check "tunnel works" cli 1 ping -c 1 -W 2 -q 192.168.100.10

supervisor() { sed -n 's/.*Enclave process started (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log" | tail -n1; }
descendants() { server_tree | tail -n +2; }     # every process below the server
old=$(supervisor)
before=$(descendants | sort -n | tr '\n' ' ')
echo "processes below the server: $before"
check "a launcher, a supervisor and two workers below the server" test "$(wc -w <<<"$before")" -eq 4

t0=$(date +%s%N)
kill -KILL "$old"
ok=0
for _ in $(seq 1 40); do
    if cli 1 ping -c 1 -W 0.25 -q 192.168.100.10 >/dev/null 2>&1; then ok=1; break; fi
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "tunnel back after $ms ms"
check "the server survived kill -9 of its enclave supervisor" kill -0 "$SERVER_PID"
check "a new enclave was started" bash -c "[ '$(supervisor)' != '$old' ] && [ -n '$(supervisor)' ]"
check "the server logged the restart" grep -q "Enclave restarted" "$WORK/server.log"
check "the client handshook again by itself" grep -q "handshaking again" "$WORK/alice.log"
check "the tunnel works again within 5 s ($ms ms)" test "$ok" = 1 -a "$ms" -le 5000
check "the old supervisor is gone, not a zombie" test ! -e "/proc/$old"

# A crash loop: the new enclave is killed again and again right after it starts; the restarts
# are spaced out (logged with the delay) instead of spinning.
for _ in 1 2 3; do
    sleep 0.3
    kill -KILL "$(supervisor)" 2>/dev/null
done
wait_for "$WORK/server.log" "next start in" 5
check "a crash loop is slowed down and logged" grep -q "failed .* time(s) in a row soon after starting: next start in" "$WORK/server.log"
wait_for "$WORK/server.log" "Enclave restarted" 15 >/dev/null
for _ in $(seq 1 60); do
    cli 1 ping -c 1 -W 0.5 -q 192.168.100.10 >/dev/null 2>&1 && break
done
check "after the crash loop the tunnel works again" cli 1 ping -c 1 -W 2 -q 192.168.100.10

all=$(descendants | tr '\n' ' ')
stop_pid "$CLIENT_PID_alice"
stop_pid "$SERVER_PID"
check "server exits 0" test $? -eq 0
left=""
for p in $all; do [ -e "/proc/$p" ] && left="$left $p"; done
check "no enclave or launcher process outlives vpn-server (were: $all; left:$left)" test -z "$left"
finish
