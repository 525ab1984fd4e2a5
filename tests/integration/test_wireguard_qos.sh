#!/bin/bash
# A WireGuard device is a device of its user (issue 15, item 3): alice's laptop, connected with
# Debian's wireguard-go to the server's WireGuard port, gets alice's class both ways (her tc
# leaf for the download, her upload policer), is counted as alice in the status and in the
# usage, and ends at alice's quota, after which its handshakes get no answer.
#
#   c1: wireguard-go PREFIXw 10.8.0.31 --udp/51821--> srv: vpn-server, QoS on --> lan 192.168.100.10
#       (alice: class vip 5/10 Mbit)                    tun0: 1: htb, 12 Mbit     (iperf3 -s)
source "$(dirname "$0")/lib.sh"
command -v wireguard-go >/dev/null && command -v wg >/dev/null ||
    { fail "wireguard-go and wireguard-tools are not installed (tools/install-deps.sh)"; finish; }

lab_up 1
# The QoS settings of test_qos.sh: alice (vip) may borrow up to her 10 Mbit ceil of 12.
make_server_conf "wireguard.enabled=true" "wireguard.listen_port=51821" qos.enabled=true \
    qos.total_bandwidth=12Mbps qos.default_rate=1Mbps qos.default_ceil=2Mbps \
    qos.default_class=1:40 usage.flush_interval=5
umask 077    # the keys; server.conf stays readable by the server's user, which reloads it
wg genkey >"$WORK/laptop.key"
cat >>"$WORK/users.conf" <<EOF2

[wireguard:alice:laptop]
public_key = $(wg pubkey <"$WORK/laptop.key")
EOF2
cat >>"$WORK/qos_classes.conf" <<EOF2

[device:alice:laptop]
vpn_ip = 10.8.0.31
EOF2
umask 022
lan iperf3 -s -D -B 192.168.100.10 -p 5201 --pidfile "$WORK/iperf3.pid" >/dev/null 2>&1
sleep 0.5
PIDS+=("$(cat "$WORK/iperf3.pid" 2>/dev/null)")
start_server -t 2 || { fail "server starts with WireGuard and QoS"; finish; }
SERVER_WG_PUB=$(sed -n 's/.*WireGuard listening on UDP port 51821, public key \([^ ]*\).*/\1/p' "$WORK/server.log")

wg_peer w "$WORK/laptop.key" 10.8.0.31
check "alice's WireGuard laptop pings the LAN host" cli 1 ping -c 3 -i 0.2 -W 3 -q 192.168.100.10

# Her device's address goes to her user's class: the one her own fixed address (10.8.0.10)
# has, with vip's rate and ceil.
minor=$(flowid_of 10.8.0.31)
check "the device's address is filtered into alice's class (1:${minor:-none})" \
    test -n "$minor" -a "$minor" = "$(flowid_of 10.8.0.10)"
check "  ... which has vip's 5/10 Mbit" \
    bash -c "$(declare -f srv tc_classes); PREFIX=$PREFIX
             tc_classes | awk -v m='$minor' '\$1 == m && \$3 == 5000000 && \$4 == 10000000 { ok = 1 } END { exit !ok }'"
check "  ... and the status reports the session in it" \
    test "$(json_get '[p["class"] for p in j["peers"] if p["protocol"] == "wireguard"][0]')" = "1:$minor"

# Rates, as test_qos.sh measures them for our own client (iperf3 counts TCP payload).
down=$(iperf_mbps -R)
check "the laptop's download: ${down:-?} Mbit/s within 70-110 % of alice's 10 Mbit ceil" \
    within "${down:-0}" 7 11
drops0=$(json_get 'j["drops"]["upload_qos"]')
up=$(iperf_mbps -P 2)
drops1=$(json_get 'j["drops"]["upload_qos"]')
check "the laptop's upload: ${up:-?} Mbit/s within 60-110 % of alice's 10 Mbit ceil" \
    within "${up:-0}" 6 11
check "  ... held by alice's upload policer ($((drops1 - drops0)) upload_qos drops)" \
    test $((drops1 - drops0)) -gt 0
check "the status counts the laptop's bytes as alice's (over 4 MB each way)" \
    test "$(json_get '[u["rx_bytes"] > 4e6 and u["tx_bytes"] > 4e6 for u in j["users"] if u["user"] == "alice"][0]')" = True

# Her quota: set below what she has used, by a reload; at the next usage tick her sessions
# end, the WireGuard one included, and a new handshake of the device gets no answer.
python3 "$ROOT/tools/ini-set.py" "$WORK/qos_classes.conf" "user:alice.quota=1MB/day"
kill -HUP "$SERVER_PID"
check "alice's sessions end at her quota" \
    wait_for "$WORK/server.log" "User alice reached its data quota: its sessions end" 15
check "  ... the WireGuard one among them" test "$(json_get "j['wireguard_sessions']")" = 0
cli 1 wg set "${PREFIX}w" peer "$SERVER_WG_PUB" remove
cli 1 wg set "${PREFIX}w" peer "$SERVER_WG_PUB" endpoint 172.31.0.1:51821 \
    allowed-ips 10.8.0.0/24,192.168.100.0/24
cli 1 ip route add 192.168.100.0/24 dev "${PREFIX}w" 2>/dev/null
check "  ... and the device's new handshake gets no answer" \
    bash -c "! ip netns exec $PREFIX-c1 ping -c 2 -W 2 -q 192.168.100.10 >/dev/null 2>&1"
check "  ... (wireguard-go has no new handshake)" test "$(handshakes w)" = 0
finish
