#!/bin/bash
# make demo: a VPN in network namespaces, with the shipped example configurations.
#
#   demo-c1 (vpn-client, alice)  ==UDP 51820==>  demo-srv (vpn-server + vpn-enclave)  -->  demo-lan
#   172.31.0.11, tun0 10.8.0.10                  172.31.0.1, tun0 10.8.0.1                 192.168.100.10
#
# It pings the LAN host through the tunnel, copies a file to it and compares checksums, shows
# the server's status, then stops everything and removes the lab.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
P=demo
WORK=$(mktemp -d /tmp/vpnse-demo.XXXXXX)
PIDS=()
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    tools/vpn-lab.sh down "$P" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
wait_for() {
    for _ in $(seq 1 100); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "demo: timed out waiting for '$2'"; cat "$1"; exit 1
}
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces, TUN)"; exit 1; }

# The system users the server and its enclave switch to (vpnse, vpnse-enclave).
tools/create-users.sh || exit 1

if [ ! -e conf/users.conf ]; then
    say "conf/users.conf from conf/users.conf.example (alice, bob, guest1), mode 0600"
    install -m 0600 conf/users.conf.example conf/users.conf
fi

say "Building the lab: server, client and LAN host in network namespaces"
tools/vpn-lab.sh up "$P" 1

say "Starting the server: vpn-server -c conf/server.conf -t 2"
ip netns exec "$P-srv" bin/vpn-server -c conf/server.conf -t 2 >"$WORK/server.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/server.log" "VPN server is running"
cat "$WORK/server.log"
KEY=$(bin/vpn-keygen pubkey <conf/server.key)
# The client pins the server key on first use; a pin left by an earlier demo whose
# conf/server.key was since deleted would (rightly) be refused, so the demo drops its own.
KNOWN=/var/lib/vpn-client/known_servers
[ -f "$KNOWN" ] && sed -i "\|^172.31.0.1:51820 |{\|$KEY|!d}" "$KNOWN"

# The client refuses a configuration others may read (it holds the token): a 0600 copy, with
# its control socket in WORK (the client, unprivileged by then, leaves the file at exit).
install -m 0600 conf/client.conf "$WORK/client.conf"
python3 tools/ini-set.py "$WORK/client.conf" "client.control_socket=$WORK/client.sock"
say "Starting the client: vpn-client connect -c client.conf --server-key $KEY (a mode 0600 copy of conf/client.conf)"
ip netns exec "$P-c1" bin/vpn-client connect -c "$WORK/client.conf" --server-key "$KEY" >"$WORK/client.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/client.log" "Connected!"
cat "$WORK/client.log"

say "Client's tunnel: ip addr show tun0 (in the client namespace)"
ip netns exec "$P-c1" ip -4 addr show tun0
say "ping 192.168.100.10 (the LAN host behind the server) through the tunnel"
ip netns exec "$P-c1" ping -c 4 -i 0.3 192.168.100.10 || exit 1

say "Copying a 5 MB file to the LAN host through the tunnel (alice is in the 'vip' QoS class: 10 Mbps ceiling)"
head -c 5000000 /dev/urandom >"$WORK/file.bin"
ip netns exec "$P-lan" python3 -c "
import socket
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('192.168.100.10',7000)); s.listen(1); c,_=s.accept()
f=open('$WORK/received.bin','wb')
while True:
    b=c.recv(65536)
    if not b: break
    f.write(b)
" &
RPID=$!
sleep 0.5
start=$(date +%s.%N)
ip netns exec "$P-c1" python3 -c "
import socket
s=socket.create_connection(('192.168.100.10',7000)); s.sendall(open('$WORK/file.bin','rb').read())"
wait $RPID
end=$(date +%s.%N)
a=$(sha256sum <"$WORK/file.bin" | cut -d' ' -f1)
b=$(sha256sum <"$WORK/received.bin" | cut -d' ' -f1)
echo "sent     sha256 $a"
echo "received sha256 $b"
python3 -c "print('%.1f Mbit/s' % (5e6 * 8 / ($end - $start) / 1e6))"
[ "$a" = "$b" ] || { echo "demo: checksums differ"; exit 1; }
echo "checksums match"

say "Server status (control socket)"
python3 -c "
import socket
s=socket.socket(socket.AF_UNIX); s.connect('/run/vpnse/server.sock'); s.sendall(b'show')
print(s.recv(65536).decode())"

say "Stopping client and server, removing the lab"
cleanup_logs() { echo "-- client:"; tail -n 2 "$WORK/client.log"; echo "-- server:"; tail -n 4 "$WORK/server.log"; }
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
cleanup_logs
PIDS=()
cleanup
trap - EXIT
echo "demo: done, nothing left behind ($(ip netns list | grep -c "^$P-") namespaces of the demo remain)"
