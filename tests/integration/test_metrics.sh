#!/bin/bash
# vpn-metrics and vpnctl metrics against real traffic.
#
#   c1: vpn-client alice 10.8.0.10 ---+                      +--- lan 192.168.100.10
#   c2: vpn-probe  q"uo\te        ----+-- UDP 51820 -- srv --+    (UDP counter)
#                                        vpn-server, control socket 0660 root:vpnse-metrics
#                                        vpn-metrics as vpnse-metrics on 127.0.0.1:9586 <- curl
#
# - the control socket is the group's (0660) with [metrics] control_socket_group, and a user
#   outside the group cannot read it; vpn-metrics runs without any privilege;
# - a known number of UDP datagrams each way through the tunnel moves alice's byte and packet
#   counters by that much (within 1 %), as read over HTTP with curl;
# - the output passes promtool check metrics, also with a user named q"uo\te (label escaping),
#   and vpnctl metrics prints the same families;
# - read-only (POST refused), the DNS-rebinding guard on Host, usage answered or refused
#   gracefully, vpn_up 0 when the server is gone.
source "$(dirname "$0")/lib.sh"

QUSER='q"uo\te'
COUNT=4000
PAYLOAD=1200                    # UDP payload bytes; each IP packet is PAYLOAD + 28
lab_up 2
make_server_conf metrics.listen=127.0.0.1:9586 metrics.control_socket_group=vpnse-metrics
printf '\n[user:%s]\nauth_token = %s\n' "$QUSER" "$BOB_TOKEN" >>"$WORK/users.conf"
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 2 || { fail "server starts"; finish; }
check "control socket is mode 0660, root:vpnse-metrics" \
    test "$(stat -c '%a %U:%G' "$CONTROL_SOCKET")" = "660 root:vpnse-metrics"
denied_to_nobody() {
    ! as_user nobody "$BIN/vpnctl" show -s "$CONTROL_SOCKET" >/dev/null 2>"$WORK/nobody.err" &&
        grep -q "Permission denied" "$WORK/nobody.err"
}
check "a user outside the group cannot read the status (nobody: permission denied)" denied_to_nobody
start_metrics || { fail "vpn-metrics starts"; cat "$WORK/metrics.log"; finish; }
check "vpn-metrics runs as vpnse-metrics with no capabilities" \
    test "$(field "$METRICS_PID" Uid):$(field "$METRICS_PID" CapEff)" = \
         "$(id -u vpnse-metrics):0000000000000000"

start_client 1 alice || fail "alice connects"
cli 2 "$PROBE" 172.31.0.1 51820 "$(server_key)" "$QUSER" "$BOB_TOKEN" keys 120 >"$WORK/probe.out" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/probe.out" "k_c2s" 5 || fail "probe handshake as $QUSER"

# metric NAME: alice's series of NAME from vpn-metrics over HTTP.
metric() {
    http_get /metrics | awk -v n="$1" '$1 == n "{user=\"alice\",class=\"vip\"}" {print $2}'
}
# udp_count NS ADDR PORT N OUT: counts datagrams arriving at ADDR:PORT until N came or 20 s
# passed; writes "datagrams bytes" to OUT.
udp_count() {
    ip netns exec "$1" python3 - "$2" "$3" "$4" "$5" <<'PY' &
import socket, sys, time
addr, port, want, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((addr, port)); s.settimeout(0.5)
open(out + ".ready", "w").close()
n = b = 0; end = time.time() + 20
while n < want and time.time() < end:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    n += 1; b += len(d)
open(out, "w").write("%d %d\n" % (n, b))
PY
    PIDS+=("$!")
    wait_for "$5.ready" "" 5 >/dev/null || test -e "$5.ready"
}
# udp_send NS DEST PORT N SIZE: N datagrams of SIZE bytes, paced (2 ms every 20) so that no
# queue on the way overflows: the counters must see every one.
udp_send() {
    ip netns exec "$1" python3 - "$2" "$3" "$4" "$5" <<'PY'
import socket, sys, time
dest, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"m" * size, (dest, port))
    if i % 20 == 19:
        time.sleep(0.002)
PY
}
# within_1pct GOT WANT
within_1pct() { python3 -c "import sys; g, w = int(sys.argv[1]), int(sys.argv[2]); sys.exit(not abs(g - w) <= w / 100)" "$1" "$2"; }

rx0=$(metric vpn_user_received_bytes_total); rxp0=$(metric vpn_user_received_packets_total)
tx0=$(metric vpn_user_sent_bytes_total); txp0=$(metric vpn_user_sent_packets_total)
udp_count "$PREFIX-lan" 192.168.100.10 7100 "$COUNT" "$WORK/up.count"
udp_send "$PREFIX-c1" 192.168.100.10 7100 "$COUNT" "$PAYLOAD"
udp_count "$PREFIX-c1" 10.8.0.10 7101 "$COUNT" "$WORK/down.count"
udp_send "$PREFIX-lan" 10.8.0.10 7101 "$COUNT" "$PAYLOAD"
for f in up down; do wait_for "$WORK/$f.count" " " 25 >/dev/null; done
sleep 0.2
rx1=$(metric vpn_user_received_bytes_total); rxp1=$(metric vpn_user_received_packets_total)
tx1=$(metric vpn_user_sent_bytes_total); txp1=$(metric vpn_user_sent_packets_total)
want_bytes=$((COUNT * (PAYLOAD + 28)))
echo "upload: sent $COUNT datagrams, $want_bytes IP bytes; arrived $(cat "$WORK/up.count"); metrics +$((rx1 - rx0)) bytes, +$((rxp1 - rxp0)) packets"
echo "download: sent $COUNT datagrams, $want_bytes IP bytes; arrived $(cat "$WORK/down.count"); metrics +$((tx1 - tx0)) bytes, +$((txp1 - txp0)) packets"
check "every upload datagram arrived at the LAN host" test "$(cut -d' ' -f1 "$WORK/up.count")" = "$COUNT"
check "every download datagram arrived at the client" test "$(cut -d' ' -f1 "$WORK/down.count")" = "$COUNT"
check "vpn_user_received_bytes_total grew by the bytes sent up (within 1 %)" \
    within_1pct $((rx1 - rx0)) "$want_bytes"
check "vpn_user_sent_bytes_total grew by the bytes sent down (within 1 %)" \
    within_1pct $((tx1 - tx0)) "$want_bytes"
check "vpn_user_received_packets_total grew by the datagrams sent up (within 1 %)" \
    within_1pct $((rxp1 - rxp0)) "$COUNT"
check "vpn_user_sent_packets_total grew by the datagrams sent down (within 1 %)" \
    within_1pct $((txp1 - txp0)) "$COUNT"

http_get /metrics >"$WORK/http.prom"
srv "$BIN/vpnctl" metrics -s "$CONTROL_SOCKET" >"$WORK/vpnctl.prom"
check "promtool check metrics passes on vpn-metrics' /metrics" promtool check metrics <"$WORK/http.prom"
check "promtool check metrics passes on vpnctl metrics" promtool check metrics <"$WORK/vpnctl.prom"
check "vpnctl metrics and /metrics have the same families (HELP and TYPE lines)" \
    diff <(grep '^#' "$WORK/http.prom") <(grep '^#' "$WORK/vpnctl.prom")
check "the user $QUSER is labelled with \\\" and \\\\ escaped" \
    grep -qF 'vpn_user_sessions{user="q\"uo\\te",class="default"} 1' "$WORK/http.prom"
check "vpn_up 1, two sessions, two handshakes ok, build info" bash -c "
    grep -qx 'vpn_up 1' $WORK/http.prom && grep -qx 'vpn_sessions 2' $WORK/http.prom &&
    grep -qx 'vpn_handshakes_total{result=\"ok\"} 2' $WORK/http.prom &&
    grep -q '^vpn_build_info{version=\".*\"} 1$' $WORK/http.prom"
check "the handshake latency histogram counted both handshakes" \
    grep -qx 'vpn_handshake_duration_seconds_count 2' "$WORK/http.prom"

dashboard_names_exist() {
    local n missing=0
    for n in $(grep -o 'vpn_[a-z_]*' "$ROOT/conf/grafana-dashboard.json" | sed 's/_bucket$//' | sort -u); do
        grep -q "^# TYPE $n " "$WORK/http.prom" || { echo "not a family: $n"; missing=1; }
    done
    return $missing
}
check "every metric conf/grafana-dashboard.json uses is one vpn-metrics serves" dashboard_names_exist

check "POST is refused (405)" test "$(http_get /metrics -o /dev/null -w '%{http_code}' -X POST)" = 405
check "a Host that is a name other than localhost is refused (403: DNS rebinding)" \
    test "$(http_get /api/status -o /dev/null -w '%{http_code}' -H 'Host: evil.example:9586')" = 403
check "Host localhost:9586 is served" \
    test "$(http_get /api/status -o /dev/null -w '%{http_code}' -H 'Host: localhost:9586')" = 200
check "/api/status is the server's JSON with alice online" bash -c "
    ip netns exec $PREFIX-srv curl -sS $METRICS_URL/api/status |
    python3 -c 'import json,sys; j=json.load(sys.stdin); assert any(p[\"user\"]==\"alice\" for p in j[\"peers\"])'"
check "unknown paths are 404" test "$(http_get /nope -o /dev/null -w '%{http_code}')" = 404

# Usage: from a server that knows "usage json" its reply, as it is; from one that does not
# (before the usage database), 503 and "usage not available".
asked=$(srv python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'usage json')
print(s.makefile('rb').read().decode(errors='replace')[:200])" "$CONTROL_SOCKET")
code=$(http_get /api/usage -o "$WORK/usage.json" -w '%{http_code}')
if [[ "$asked" == error:* ]]; then
    check "usage from a server without it: 503 with \"usage not available\"" \
        bash -c "test $code = 503 && grep -q 'usage not available' $WORK/usage.json"
else
    check "usage: the server's JSON with every user" bash -c "test $code = 200 &&
        python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert \"users\" in j' $WORK/usage.json"
fi

stop_pid "$SERVER_PID"
http_get /metrics >"$WORK/down.prom"
check "with the server gone: vpn_up 0, and still valid for promtool" bash -c "
    grep -qx 'vpn_up 0' $WORK/down.prom && promtool check metrics <$WORK/down.prom"
check "with the server gone: /api/status is 503" \
    test "$(http_get /api/status -o /dev/null -w '%{http_code}')" = 503
check "vpnctl metrics without a server: vpn_up 0 and exit status 1" bash -c "
    out=\$($BIN/vpnctl metrics -s $CONTROL_SOCKET 2>/dev/null); rc=\$?
    test \$rc = 1 && echo \"\$out\" | grep -qx 'vpn_up 0'"
check "vpn-metrics stops on SIGTERM with status 0" stop_pid "$METRICS_PID"
finish
