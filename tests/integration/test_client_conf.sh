#!/bin/bash
# client.conf holds the user's token: vpn-client refuses (exit 2, a chmod 600 hint, nothing
# set up) a file that group or others may read or write, one owned by another user, and a
# symbolic link; a bad [network] accept_routes or pull_routes, or an unknown [client] user,
# is a configuration error naming file, line and key (exit 2).
#
#   c1 (vpn-client, no server needed: every case must end before any packet is sent)
source "$(dirname "$0")/lib.sh"

lab_up 1
make_client_conf alice alice "$ALICE_TOKEN"
check "make_client_conf writes mode 0600" test "$(stat -c %a "$WORK/alice.conf")" = 600

refused() {   # refused "what" FILE "expected text": connect must exit 2 at once, no TUN
    local what=$1 file=$2 want=$3 rc
    timeout 5 ip netns exec "$PREFIX-c1" "$BIN/vpn-client" connect -c "$file" \
        --server-key "$("$BIN/vpn-keygen" genkey | "$BIN/vpn-keygen" pubkey)" >"$WORK/out.log" 2>&1
    rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$want" "$WORK/out.log" &&
       ! ip netns exec "$PREFIX-c1" ip link show tun0 >/dev/null 2>&1; then
        pass "$what: exit 2, \"$want\""
    else
        fail "$what (rc=$rc)"; cat "$WORK/out.log"
    fi
}

for mode in 644 640 604 660 620 602; do
    cp -p "$WORK/alice.conf" "$WORK/m$mode.conf"
    chmod "$mode" "$WORK/m$mode.conf"
    refused "mode 0$mode" "$WORK/m$mode.conf" "m$mode.conf:0: is .* by group or others (mode 0$mode); the file holds auth_token: chmod 600 $WORK/m$mode.conf"
done

ln -s "$WORK/alice.conf" "$WORK/link.conf"
refused "symbolic link to a good file" "$WORK/link.conf" "link.conf:0: is a symbolic link"

cp -p "$WORK/alice.conf" "$WORK/theirs.conf"
chown nobody "$WORK/theirs.conf"
refused "owned by nobody, run by root" "$WORK/theirs.conf" "theirs.conf:0: is owned by uid $(id -u nobody), neither root nor us"

cp -p "$WORK/alice.conf" "$WORK/status.conf"
chmod 644 "$WORK/status.conf"
ip netns exec "$PREFIX-c1" "$BIN/vpn-client" status -c "$WORK/status.conf" >"$WORK/out.log" 2>&1
rc=$?
check "status refuses the same file (exit $rc)" bash -c "[ $rc -eq 2 ] && grep -q 'chmod 600' $WORK/out.log"

bad_key() {   # bad_key "what" section.key=value "expected text"
    local key=${2%%=*} line
    cp -p "$WORK/alice.conf" "$WORK/bad.conf"
    python3 "$ROOT/tools/ini-set.py" "$WORK/bad.conf" "$2"
    line=$(grep -n "^${key#*.} = " "$WORK/bad.conf" | cut -d: -f1)
    refused "$1" "$WORK/bad.conf" "bad.conf:$line: \[${key%%.*}\] $3"
}
bad_key "accept_routes with host bits" "network.accept_routes=192.168.100.1/24" \
    "accept_routes: expected a comma-separated list of networks like 192.168.100.0/24 (host bits zero), got \"192.168.100.1/24\""
bad_key "accept_routes not a network" "network.accept_routes=10.0.0.0/8, lan" "accept_routes: .*got \"lan\""
bad_key "pull_routes not a boolean" "network.pull_routes=sometimes" "pull_routes: expected true or false"
bad_key "unknown user" "client.user=no-such-user" "user: expected the name of a user of this system"

check "the good file still works: it is only refused when loose (mode $(stat -c %a "$WORK/alice.conf"))" \
    bash -c "timeout 3 ip netns exec $PREFIX-c1 $BIN/vpn-client connect -c $WORK/alice.conf --server-key \$($BIN/vpn-keygen genkey | $BIN/vpn-keygen pubkey) >$WORK/good.log 2>&1; grep -q 'Connecting to' $WORK/good.log"
finish
