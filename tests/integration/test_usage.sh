#!/bin/bash
# Usage that lasts, quotas and expiry (issue 14, README "Usage, quotas and expiry").
#
#   c1 alice  expires yesterday: refused, and told why
#   c2 bob    1 MB/day, over_quota_class guest: moved to guest's tc class at the quota, stays up
#   c3 guest1 1 MB/day, no over_quota_class: its session ends at the quota, then refused
#   all   --br-wan-- vpn-server (QoS on, [usage] flush_interval 5 s) --- lan 192.168.100.10
#
# Then the server is killed (-9) and started again: the usage and the history are still there,
# the sessions the kill cut are closed as "server stopped", and guest1 is still over its quota.
source "$(dirname "$0")/lib.sh"

lab_up 3
make_server_conf qos.enabled=true usage.flush_interval=5
python3 "$ROOT/tools/ini-set.py" "$WORK/qos_classes.conf" "user:guest1.quota=1MB/day" \
    "user:bob.quota=1MB/day" "user:bob.over_quota_class=guest" \
    "user:alice.expires=$(date -u -d yesterday +%F)"
GUEST_TOKEN=69b59ab4b198c8766bbae9048844a543577ef6bf23170192648db671b90fd1ad
make_client_conf alice alice "$ALICE_TOKEN"
make_client_conf bob bob "$BOB_TOKEN"
make_client_conf guest1 guest1 "$GUEST_TOKEN"
# One iperf3 server each: guest1's test is cut mid-way, and its server stays busy a while.
for port in 5201 5202; do
    lan iperf3 -s -D -B 192.168.100.10 -p $port --pidfile "$WORK/iperf3-$port.pid" >/dev/null 2>&1
done
sleep 0.5
PIDS+=("$(cat "$WORK/iperf3-5201.pid" 2>/dev/null)" "$(cat "$WORK/iperf3-5202.pid" 2>/dev/null)")
start_server -t 2 || { fail "server did not start"; finish; }

# usage_json EXPR: evaluates EXPR on the server's "usage json" reply (j), by user name (u).
usage_json() {
    python3 - "$CONTROL_SOCKET" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"usage json")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
j = json.loads(data)
u = {x["user"]: x for x in j["users"]}
print(eval(sys.argv[2]))
PY
}

# --- expired: refused with its reason, before any session -----------------------------------
cli 1 timeout 15 "$BIN/vpn-client" connect -c "$WORK/alice.conf" --server-key "$(server_key)" \
    >"$WORK/alice.log" 2>&1
rc=$?
check "an expired user is refused (exit 1)" [ "$rc" = 1 ]
check "the client says the account expired" grep -q "account has expired" "$WORK/alice.log"
check "no session for the expired user" [ "$(json_get 'j["sessions"]')" = 0 ]

# --- over quota, no over_quota_class: the session ends, then refusals say why ---------------
start_client 3 guest1 || fail "guest1 did not connect"
# The transfer stalls when the session ends at the quota: bounded.
cli 3 timeout 15 iperf3 -c 192.168.100.10 -n 2M -J >"$WORK/guest-iperf.json" 2>&1
check "guest1's session ended at its quota" wait_for "$WORK/server.log" \
    "User guest1 reached its data quota: its sessions end" 10
check "guest1's client is told its quota is used up" wait_for "$WORK/guest1.log" \
    "data quota is used up" 15
check "usage json: guest1 over quota" [ "$(usage_json 'u["guest1"]["status"]')" = over_quota ]
used=$(usage_json 'u["guest1"]["period_used_bytes"]')
check "usage json: guest1 used its 1 MB (got $used)" [ "$used" -ge 1000000 ]
check "usage json: guest1's quota is 1 MB a day" \
    [ "$(usage_json 'u["guest1"]["quota_bytes"], u["guest1"]["quota_period"]')" = "(1000000, 'day')" ]

# --- over quota with over_quota_class: moved to guest's class, still connected ---------------
start_client 2 bob || fail "bob did not connect"
bob_minor=$(json_get '[p["class"] for p in j["peers"] if p["user"] == "bob"][0]' | cut -d: -f2)
cli 2 timeout 30 iperf3 -c 192.168.100.10 -p 5202 -n 4M -J >"$WORK/bob-iperf.json" 2>&1
check "bob was moved to class guest at his quota" wait_for "$WORK/server.log" \
    "User bob reached its data quota: moved to class guest" 20
check "bob's download class now has guest's rate (2Mbit)" \
    bash -c "ip netns exec $PREFIX-srv tc class show dev tun0 classid 1:$bob_minor | grep -q 'rate 2Mbit ceil 4Mbit'"
check "bob still reaches the LAN" cli 2 ping -c 2 -W 2 192.168.100.10
check "usage json: bob over quota, still online" [ "$(usage_json 'u["bob"]["status"]')" = over_quota ]

# --- what the database holds, read by vpnctl -----------------------------------------------
sleep 6     # one flush
before=$("$BIN/vpnctl" usage --db "$WORK/usage.db" --user guest1 --json |
    python3 -c 'import json,sys; print(sum(d["rx_bytes"] + d["tx_bytes"] for d in json.load(sys.stdin)["days"]))')
check "vpnctl usage: guest1's bytes are in the database ($before)" [ "${before:-0}" -ge 1000000 ]
check "vpnctl history: guest1's session ended because of the quota" \
    bash -c "'$BIN/vpnctl' history --db '$WORK/usage.db' --user guest1 | grep -q 'data quota reached'"

# guest1's first client may still be retrying (it gives up after five refusals in a row).
# shellcheck disable=SC2154 # set by start_client
stop_pid "$CLIENT_PID_guest1"

# --- kill -9 and a new start: nothing of it is lost ------------------------------------------
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
: >"$WORK/server.log"
start_server -t 2 || fail "server did not start again"
check "the sessions the kill cut are closed as 'server stopped'" \
    bash -c "'$BIN/vpnctl' history --db '$WORK/usage.db' --user bob --json | grep -q 'server stopped'"
after=$("$BIN/vpnctl" usage --db "$WORK/usage.db" --user guest1 --json |
    python3 -c 'import json,sys; print(sum(d["rx_bytes"] + d["tx_bytes"] for d in json.load(sys.stdin)["days"]))')
check "guest1's usage survived the kill ($after >= $before)" [ "${after:-0}" -ge "$before" ]
: >"$WORK/guest1b.log"
cli 3 timeout 15 "$BIN/vpn-client" connect -c "$WORK/guest1.conf" --server-key "$(server_key)" \
    >"$WORK/guest1b.log" 2>&1
check "after the restart guest1 is still over its quota: refused, told why" \
    grep -q "data quota is used up" "$WORK/guest1b.log"
check "vpnctl usage without a database path reads server.conf's" \
    bash -c "'$BIN/vpnctl' usage -c '$WORK/server.conf' | grep -q guest1"
finish
