#!/bin/bash
# The server's replay window told to the client (docs/PROTOCOL.md, "Replay window in the
# response"): a client that asks with extension 1's WINDOW flag learns the server's
# replay_window_ms and checks the server's timestamps against it; a client that does not ask
# (vpn-probe, as clients before the flag) gets offset 28 zero and connects as before; a server
# before the flag drops the flagged request, and the client connects all the same with its
# next, unflagged request and the default window.
#
#   c1 (vpn-client, vpn-probe) ==UDP 51820==> srv (vpn-server, replay_window_ms = 300)
#   c1 (vpn-client)            ==UDP 51821==> srv (vpn-fake-server: as a server before the flag,
#                                                  or telling a window of its own)
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf security.replay_window_ms=300
start_server -t 1 || { fail "server starts"; finish; }
make_client_conf alice alice "$ALICE_TOKEN"
status_says() {   # status_says NAME TEXT: vpn-client status of NAME.conf has the line TEXT
    ip netns exec "$PREFIX-c1" "$BIN/vpn-client" status -c "$WORK/$1.conf" | grep -qxF "$2"
}

# 1. This tree's client and server: the window is told.
start_client 1 alice || fail "client connects"
check "the client learned the server's window" status_says alice "replay window: 300 ms (pushed by the server)"
check "the tunnel works with it" cli 1 ping -c 3 -i 0.2 -W 2 -q 192.168.100.10
stop_pid "$CLIENT_PID_alice"

# 2. A client that does not ask (as every client before the flag): offset 28 stays zero, which
#    such a client requires, and it is served as before.
out=$(cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" bob "$BOB_TOKEN" handshake 2>&1)
check "a client without the flag is accepted" grep -qx "status 0" <<<"$out"
check "  ... and told no window (offset 28 zero)" grep -qx "window 0" <<<"$out"

# 3. A server before the flag drops the flagged request without an answer; the client's
#    next request goes without it and connects, with the default window.
make_client_conf fake alice "$ALICE_TOKEN"
python3 "$ROOT/tools/ini-set.py" "$WORK/fake.conf" client.server_port=51821
start_fake flags=0 || fail "fake server (before the flag) starts"
run_fake_client
start=$(date +%s%N)
check "a server before the flag: connected" wait_for "$WORK/fake.log" "Connected!" 10
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "  ... after the flagged request was dropped once" grep -qx "dropped 1" "$WORK/fake.out"
check "  ... within a backoff (${took} ms)" test "$took" -lt 4000
check "  ... with the default window" status_says fake "replay window: 5000 ms (default)"
stop_pid "$fake_client"
stop_pid "$fake_pid"

# 4. A server that tells another window: the client uses what it was told.
start_fake window=12345 || fail "fake server (window 12345) starts"
run_fake_client
check "a told window of 12345 ms: connected" wait_for "$WORK/fake.log" "Connected!" 5
check "  ... at the first request" bash -c "! grep -q dropped $WORK/fake.out"
check "  ... and it is the one in use" status_says fake "replay window: 12345 ms (pushed by the server)"
stop_pid "$fake_client"
stop_pid "$fake_pid"
finish
