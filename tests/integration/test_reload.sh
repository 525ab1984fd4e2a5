#!/bin/bash
# SIGHUP: users added, changed and removed without a restart and without dropping anyone
# else; a removed user's session ends; a users file replaced by rename (as editors, install
# and vpnctl write it) is read too: the launcher opens it anew for the enclave.
#
#   c1 (vpn-client alice), c2 (vpn-client bob) ==UDP==> srv (vpn-server)
source "$(dirname "$0")/lib.sh"

lab_up 2
make_server_conf
make_client_conf alice alice "$ALICE_TOKEN"
make_client_conf bob bob "$BOB_TOKEN"
start_server -t 2 || { fail "server starts"; finish; }
start_client 1 alice && start_client 2 bob || fail "clients connect"
CAROL=$(printf 'carol:secret' | sha256sum | cut -d' ' -f1)
probe() { cli 2 "$PROBE" 172.31.0.1 51820 "$(server_key)" "$1" "$2" handshake 2>&1; }
check "carol is unknown at first" grep -q "status 1" <<<"$(probe carol "$CAROL")"

printf '[user:carol]\nauth_token = %s\n' "$CAROL" >>"$WORK/users.conf"    # in place
kill -HUP "$SERVER_PID"
check "reload reported" wait_for "$WORK/server.log" "Users reloaded: 1 change" 3
check "carol can connect after SIGHUP" grep -q "status 0" <<<"$(probe carol "$CAROL")"
check "alice undisturbed" cli 1 ping -c 1 -W 2 -q 192.168.100.10

# Remove alice (rewrite in place), keep bob and carol.
python3 - "$WORK/users.conf" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"\[user:alice\][^\[]*", "", text)     # the section up to the next header
with open(sys.argv[1], "r+") as f:                   # in place: same inode
    f.seek(0); f.write(text); f.truncate()
PY
kill -HUP "$SERVER_PID"
check "alice's removal reported" wait_for "$WORK/server.log" "User alice removed" 3
check "alice's session ended" wait_for "$WORK/server.log" "ended: user removed" 3
check "alice's client is refused on reconnect" wait_for "$WORK/alice.log" "Authentication failed" 10
check "bob undisturbed" cli 2 ping -c 1 -W 2 -q 192.168.100.10

# Replaced by rename, with a new user: the new file is read.
DAVE=$(printf 'dave:secret' | sha256sum | cut -d' ' -f1)
cp "$WORK/users.conf" "$WORK/users.tmp"
printf '[user:dave]\nauth_token = %s\n' "$DAVE" >>"$WORK/users.tmp"
chmod 600 "$WORK/users.tmp"
mv "$WORK/users.tmp" "$WORK/users.conf"
: >"$WORK/reload.mark"
kill -HUP "$SERVER_PID"
check "a file replaced by rename is read" wait_for "$WORK/server.log" "Users reloaded: 1 change(s), 3 user" 3
check "dave, added by the renamed file, can connect" grep -q "status 0" <<<"$(probe dave "$DAVE")"
check "bob still undisturbed" cli 2 ping -c 1 -W 2 -q 192.168.100.10
finish
