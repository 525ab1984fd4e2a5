#!/bin/bash
# Users without a class share the default class, in both directions: two of them uploading at
# once together stay under default_ceil (the upload policer is one bucket for the class, as the
# tc class is one queue on the way down).
#
#   c1 dave, c2 erin (no class: default 1:40, 1/2 Mbit) ==> srv (QoS on, 12 Mbit) --> lan iperf3
source "$(dirname "$0")/lib.sh"

lab_up 2
make_server_conf qos.enabled=true qos.total_bandwidth=12Mbps qos.default_class=1:40 \
    qos.default_rate=1Mbps qos.default_ceil=2Mbps
DAVE=$(printf 'dave:pw' | sha256sum | cut -d' ' -f1)
ERIN=$(printf 'erin:pw' | sha256sum | cut -d' ' -f1)
printf '[user:dave]\nauth_token = %s\n[user:erin]\nauth_token = %s\n' "$DAVE" "$ERIN" >>"$WORK/users.conf"
make_client_conf dave dave "$DAVE"
make_client_conf erin erin "$ERIN"
start_server -t 2 || { fail "server starts"; finish; }
start_client 1 dave && start_client 2 erin || fail "clients connect"
lan iperf3 -s -p 5301 >/dev/null 2>&1 & PIDS+=("$!")
lan iperf3 -s -p 5302 >/dev/null 2>&1 & PIDS+=("$!")
sleep 0.5
up() {   # up K PORT: Mbit/s received from client K in 6 s
    cli "$1" iperf3 -c 192.168.100.10 -p "$2" -t 6 -O 1 -J 2>/dev/null |
        python3 -c "import json,sys; print('%.2f' % (json.load(sys.stdin)['end']['sum_received']['bits_per_second'] / 1e6))"
}
up 1 5301 >"$WORK/dave.mbps" & a=$!
up 2 5302 >"$WORK/erin.mbps" & b=$!
wait $a $b
d=$(cat "$WORK/dave.mbps"); e=$(cat "$WORK/erin.mbps")
sum=$(python3 -c "print('%.2f' % ($d + $e))")
echo "dave $d, erin $e, together $sum Mbit/s (default_ceil 2)"
check "two default-class uploads together stay under default_ceil + 10 % ($sum)" \
    python3 -c "import sys; sys.exit(0 if $sum <= 2.2 else 1)"
check "and they get it ($sum >= 1.0, the class rate)" python3 -c "import sys; sys.exit(0 if $sum >= 1.0 else 1)"
finish
