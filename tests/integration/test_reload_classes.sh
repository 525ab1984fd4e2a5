#!/bin/bash
# SIGHUP reloads the QoS classes file (and server.conf) as one checked swap (control-plane
# issue, item 2): a user added with a fixed address outside the dynamic range connects with it,
# a running session moved to another class keeps going in it, a user whose fixed address
# changed is moved to the new one (its session ends, its client comes back), a broken file
# changes nothing, and a fixed address taken away ends the session that held it.
#
#   c1 (vpn-client bob), c2 (vpn-client carol) ==UDP==> srv (vpn-server, QoS on) --> lan
source "$(dirname "$0")/lib.sh"

lab_up 2
make_server_conf qos.enabled=true qos.total_bandwidth=50Mbps
make_client_conf bob bob "$BOB_TOKEN"
CAROL=$(printf 'carol:secret' | sha256sum | cut -d' ' -f1)
make_client_conf carol carol "$CAROL"
start_server -t 2 || { fail "server starts"; finish; }
start_client 1 bob || { fail "bob connects"; finish; }
peer() { json_get "[p['$1'] for p in j['peers'] if p['user'] == '$2' and not p['retiring']][0]" 2>/dev/null; }
check "bob has his fixed address 10.8.0.20" test "$(peer vpn_ip bob)" = 10.8.0.20
# A user of a class has a tc leaf of its own (vpnctl's "class"), at the class's rate.
leaf_rate() { srv tc class show dev tun0 classid "$(peer class "$1")" | sed -n 's/.* rate \([0-9A-Za-z]*\) .*/\1/p'; }
check "bob's leaf has class normal's rate (3Mbit)" test "$(leaf_rate bob)" = 3Mbit

reload() {      # reload PATTERN: SIGHUP, then wait for PATTERN in the log (counted anew)
    local before
    before=$(grep -c -- "$1" "$WORK/server.log")
    kill -HUP "$SERVER_PID"
    for _ in $(seq 1 50); do
        [ "$(grep -c -- "$1" "$WORK/server.log")" -gt "$before" ] && return 0
        sleep 0.1
    done
    return 1
}

# carol: a new user with a fixed address outside the dynamic range (10.8.0.10-254); bob moves
# to class guest.
printf '[user:carol]\nauth_token = %s\n' "$CAROL" >>"$WORK/users.conf"
printf '\n[user:carol]\nvpn_ip = 10.8.0.5\nclass = guest\n' >>"$WORK/qos_classes.conf"
python3 - "$WORK/qos_classes.conf" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
t = re.sub(r"(\[user:bob\][^\[]*class = )normal", r"\1guest", t)
open(sys.argv[1], "w").write(t)
PY
check "reload 1 applied" reload "Configuration reloaded"
check "bob's session is kept" test "$(peer vpn_ip bob)" = 10.8.0.20
check "bob's session is now at class guest's rate (2Mbit)" test "$(leaf_rate bob)" = 2Mbit
start_client 2 carol || fail "carol connects"
check "carol has her fixed address 10.8.0.5, outside the dynamic range" test "$(peer vpn_ip carol)" = 10.8.0.5
check "carol's tunnel works" cli 2 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
check "bob's tunnel works" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10

# bob's fixed address changes: his session ends and his client comes back on the new one.
sed -i 's/^vpn_ip = 10.8.0.20$/vpn_ip = 10.8.0.21/' "$WORK/qos_classes.conf"
check "reload 2 applied" reload "Configuration reloaded"
check "bob's old session ended for its address" grep -q "bob (10.8.0.20) ended: its address changed" "$WORK/server.log"
for _ in $(seq 1 50); do [ "$(peer vpn_ip bob)" = 10.8.0.21 ] && break; sleep 0.1; done
check "bob is back with 10.8.0.21" test "$(peer vpn_ip bob)" = 10.8.0.21
check "bob's tunnel works on the new address" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10

# A broken file: one line, nothing changes.
cp "$WORK/qos_classes.conf" "$WORK/qos_classes.good"
printf '\n[user:mallory]\nclass = nosuch\n' >>"$WORK/qos_classes.conf"
check "a broken classes file is refused with its reason" reload "Reload failed, keeping the running configuration"
check "and every session stays" test "$(json_get 'j["sessions"]')" = 2
check "bob still at class guest's rate" test "$(leaf_rate bob)" = 2Mbit
cp "$WORK/qos_classes.good" "$WORK/qos_classes.conf"

# carol's fixed address taken away (10.8.0.5 is outside the range: nobody may hold it now).
python3 - "$WORK/qos_classes.conf" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
t = re.sub(r"\[user:carol\][^\[]*", "", t)
open(sys.argv[1], "w").write(t)
PY
check "reload 3 applied" reload "Configuration reloaded"
check "carol's session ended: 10.8.0.5 is no longer hers" grep -q "carol (10.8.0.5) ended: its address changed" "$WORK/server.log"
for _ in $(seq 1 50); do [ -n "$(peer vpn_ip carol)" ] && break; sleep 0.1; done
got=$(peer vpn_ip carol)
check "carol came back with an address of the dynamic range ($got)" \
    python3 -c "import ipaddress,sys; a=ipaddress.ip_address('$got'); sys.exit(not (ipaddress.ip_address('10.8.0.10') <= a <= ipaddress.ip_address('10.8.0.254')))"
check "the server is still running" kill -0 "$SERVER_PID"
finish
