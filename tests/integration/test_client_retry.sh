#!/bin/bash
# AUTH_FAILED after the client has been connected is transient (client/refusal.h): a WARN,
# backoff, retry; the client comes back by itself when the server takes it again, and ends
# with exit status 1 only after REFUSALS_IN_A_ROW_MAX (5) refusals in a row. (Before the first
# connection a wrong token ends the client at once: test_refusals.sh.)
#
#   c1 (vpn-client alice) ==UDP==> srv (vpn-server; alice removed from and put back into the
#                                       users file with SIGHUP)
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 1 || { fail "server starts"; finish; }
start_client 1 alice || { fail "client connects"; finish; }
cp "$WORK/users.conf" "$WORK/users.with-alice"
users_without_alice() {   # rewritten in place: the enclave re-reads the file it has open
    python3 - "$WORK/users.conf" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"\[user:alice\][^\[]*", "", text)
with open(sys.argv[1], "r+") as f:
    f.seek(0); f.write(text); f.truncate()
PY
}
users_with_alice() { cat "$WORK/users.with-alice" >"$WORK/users.conf"; }
refusals() { grep -c "\[WARN\] Authentication failed: wrong username or auth_token ([0-9] in a row, giving up at 5): retrying" "$WORK/alice.log"; }

# Removed: the server ends the session; every reconnect is refused.
users_without_alice
kill -HUP "$SERVER_PID"
check "alice's session ended by the server" wait_for "$WORK/server.log" "ended: user removed" 3
check "the refused reconnect is a WARN, not the end" wait_for "$WORK/alice.log" "(2 in a row, giving up at 5): retrying" 8
check "the client still runs after two refusals" kill -0 "$CLIENT_PID_alice"
check "no ERROR line so far" bash -c "! grep -q '\[ERROR\]' $WORK/alice.log"

# Back: the next retry gets through, without a restart of the client.
users_with_alice
kill -HUP "$SERVER_PID"
check "the client reconnects by itself once alice is back" wait_for "$WORK/alice.log" "Reconnected" 15
check "ping after the reconnect" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10

# Removed for good: five refusals in a row (the count started again after the success), then
# exit status 1 with one ERROR line.
: >"$WORK/alice.log"
users_without_alice
kill -HUP "$SERVER_PID"
start=$(date +%s)
for _ in $(seq 1 400); do kill -0 "$CLIENT_PID_alice" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$CLIENT_PID_alice" 2>/dev/null; then
    rc="still running after 40 s"
else
    wait "$CLIENT_PID_alice"
    rc=$?
fi
took=$(( $(date +%s) - start ))
check "after 5 refusals in a row the client exits with status 1 (got $rc after ${took}s)" test "$rc" = 1
check "  ... after four WARNs (got $(refusals))" test "$(refusals)" = 4
check "  ... and one ERROR line" grep -q "\[ERROR\] Authentication failed: wrong username or auth_token (5 times in a row): giving up" "$WORK/alice.log"
check "  ... backing off between them (${took}s)" test "$took" -ge 10
check "its TUN is gone" bash -c "! ip netns exec $PREFIX-c1 ip link show tun0 >/dev/null 2>&1"
finish
