#!/bin/bash
# The main process after set-up (README, "Security model"): the system user vpnse unless
# [security] user = root says otherwise (a WARN at every start), CAP_NET_ADMIN and CAP_NET_RAW
# only, and it still serves, reloads and removes everything it set up.
#
#   c1 (vpn-client) ==UDP==> srv (vpn-server as vpnse, QoS and NAT on) --> lan
#
# - the shipped configuration (no user key: the default): every thread of the main process runs
#   with vpnse's uids and gids; that uid cannot open server.key or users.conf (root, 0600) or
#   write a root-owned file, shown by running cat as that uid;
# - SIGHUP re-reads the classes file as vpnse; at exit the qdisc, NAT rule, TUN and control
#   socket are gone;
# - user = root: uid 0 and a WARN; a missing user: one line naming the useradd command, exit 1,
#   nothing set up; started without root: refused.
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf qos.enabled=true qos.total_bandwidth=50Mbps "network.nat_interface=$PREFIX-s2l"
check "the test configuration leaves [security] user to its default" \
    bash -c "! grep -q '^user *=' $WORK/server.conf"
make_client_conf alice alice "$ALICE_TOKEN"
start_server -t 2 || { fail "server starts"; finish; }
start_client 1 alice || fail "client connects"

uid=$(id -u vpnse) gid=$(id -g vpnse)
ids() { awk -v k="$2:" '$1 == k {print $2, $3, $4, $5}' "$1/status"; }
check "main process: real, effective, saved and fs uid are vpnse's ($uid): $(ids /proc/$SERVER_PID Uid)" \
    test "$(ids /proc/$SERVER_PID Uid)" = "$uid $uid $uid $uid"
check "main process: gids are vpnse's ($gid): $(ids /proc/$SERVER_PID Gid)" \
    test "$(ids /proc/$SERVER_PID Gid)" = "$gid $gid $gid $gid"
for t in /proc/$SERVER_PID/task/*; do
    name=$(cat "$t/comm")
    check "thread $name runs as vpnse" test "$(ids "$t" Uid)" = "$uid $uid $uid $uid"
    eff=$(awk '$1 == "CapEff:" {print $2}' "$t/status")
    # At most the two kept capabilities (a helper thread liburcu started before the uid
    # change keeps none at all).
    check "thread $name has at most CAP_NET_ADMIN+CAP_NET_RAW ($eff)" test $(( 0x$eff & ~0x3000 )) -eq 0
done
check "the packet threads keep CAP_NET_ADMIN+CAP_NET_RAW for the teardown" bash -c \
    "grep -l vpn-tx /proc/$SERVER_PID/task/*/comm | xargs -n1 dirname | xargs -I{} grep -q 'CapEff:.*0000000000003000' {}/status"

# What a compromised main process could do with its uid, shown with that uid.
denied() {   # denied COMMAND...: fails, saying "Permission denied"
    local out
    out=$(as_user vpnse "$@" 2>&1) && return 1
    grep -q "Permission denied" <<<"$out"
}
check "server.key and users.conf stay root's, mode 0600" test \
    "$(stat -c '%u %a' "$WORK/server.key") $(stat -c '%u %a' "$WORK/users.conf")" = "0 600 0 600"
check "vpnse's uid cannot open server.key (Permission denied)" denied cat "$WORK/server.key"
check "vpnse's uid cannot open users.conf (Permission denied)" denied cat "$WORK/users.conf"
reads() { as_user vpnse cat "$1" >/dev/null; }
check "  ... though it reads qos_classes.conf beside them" reads "$WORK/qos_classes.conf"
install -m 644 /dev/null "$WORK/root-owned"
check "vpnse's uid cannot write a root-owned file (Permission denied)" \
    denied sh -c "echo '* * * * * root id' >>'$WORK/root-owned'"

check "the control socket is root's, mode 0600, in a directory of vpnse's" test \
    "$(stat -c '%U %a' "$CONTROL_SOCKET") $(stat -c '%U %a' "$(dirname "$CONTROL_SOCKET")")" = \
    "root 600 vpnse 755"
check "tunnel works" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
sed -i 's/^ceil = 10Mbps/ceil = 12Mbps/' "$WORK/qos_classes.conf"
kill -HUP "$SERVER_PID"
check "SIGHUP as vpnse: the classes file is re-read and the tree rebuilt" \
    wait_for "$WORK/server.log" "QoS reloaded on tun0" 5
check "  ... without a reload error" bash -c "! grep -q 'Reload failed' $WORK/server.log"
check "tunnel works after the reload" cli 1 ping -c 2 -i 0.2 -W 2 -q 192.168.100.10
stop_pid "$SERVER_PID"
check "server exits 0" test $? -eq 0
check "no qdisc left (tc ran with the kept capability)" bash -c "! ip netns exec $PREFIX-srv tc qdisc show dev tun0 2>/dev/null | grep -q htb"
check "no MASQUERADE rule left" bash -c "! ip netns exec $PREFIX-srv iptables -t nat -S POSTROUTING | grep -q MASQUERADE"
check "no TUN left" bash -c "! ip netns exec $PREFIX-srv ip link show tun0 >/dev/null 2>&1"
check "control socket removed (its directory belongs to vpnse)" test ! -e "$CONTROL_SOCKET"
stop_pid "${CLIENT_PID_alice}"

# The explicit opt-out: uid 0, said loudly.
: >"$WORK/server.log"
make_server_conf security.user=root
start_server -t 1 || fail "server starts with user = root"
check "user = root: the main process keeps uid 0" test "$(field "$SERVER_PID" Uid)" = 0
check "user = root: a WARN says so" grep -q "^\[WARN\] .*user = root" "$WORK/server.log"
for t in /proc/$SERVER_PID/task/*; do
    # No thread may start before the drop: it would keep every capability as root.
    check "user = root: thread $(cat "$t/comm") keeps CAP_NET_ADMIN+CAP_NET_RAW at most" test \
        "$(awk '$1 == "CapEff:" || $1 == "CapBnd:" {printf "%s ", $2}' "$t/status")" = \
        "0000000000003000 0000000000003000 "
done
stop_pid "$SERVER_PID"
check "server exits 0" test $? -eq 0

nothing_set_up() {   # no TUN, no enclave of this test, no control socket or its directory
    ! srv ip link show tun0 >/dev/null 2>&1 && [ ! -e "$WORK/run" ] || return 1
    local p
    for p in $(pgrep -x vpn-enclave); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -F "$WORK/" && return 1
    done
    return 0
}

# A user that does not exist: one line saying how to create it, exit 1, before anything.
make_server_conf security.user=vpnse-nouser
rm -rf "$WORK/run"
ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" >"$WORK/nouser.log" 2>&1
rc=$?
cat "$WORK/nouser.log"
check "missing user: exit 1 (got $rc)" test $rc -eq 1
check "  ... one line naming the useradd command" bash -c "[ \$(wc -l <$WORK/nouser.log) -eq 1 ] &&
    grep -q 'useradd --system --no-create-home --shell /usr/sbin/nologin vpnse-nouser' $WORK/nouser.log"
check "  ... and nothing set up" nothing_set_up

# Without root (as with file capabilities) the enclave could not get a uid of its own.
make_server_conf
as_user vpnse "$BIN/vpn-server" -c "$WORK/server.conf" >"$WORK/noroot.log" 2>&1
rc=$?
cat "$WORK/noroot.log"
check "started without root: exit 1 (got $rc)" test $rc -eq 1
check "  ... saying it must be started as root" grep -q "must be started as root" "$WORK/noroot.log"
check "  ... and nothing set up" nothing_set_up
finish
