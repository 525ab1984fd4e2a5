#!/bin/bash
# The Debian package: `make deb` builds it and lintian finds no error; installed, it creates
# its users, key, configuration and units (which systemd-analyze verify accepts); its
# programs, started as the units start them (run_as_unit.py: capability bounding set,
# no-new-privs, memlock limit, the unit's syscall filter and address families, read-only
# system directories), carry a ping from its client to the LAN; purged, nothing is left.
#
# This machine is shared: the package is installed into a private copy of it. A mount
# namespace (held open by a sleeping process) has overlays on /etc, /usr and /var whose
# writes go to $WORK, and tmpfs on the units' runtime directories; dpkg, the users it adds
# and everything else stay in there and vanish with it. Inside, the users vpnse and
# vpnse-enclave are first removed, so that the postinst creates them and the purge must
# remove them; then the case of users that were there before (kept by the purge).
#
#   mount namespace: overlay /etc /usr /var, tmpfs /run/vpnse /run/vpn-client
#     PREFIX-c1: /usr/sbin/vpn-client (client-test.conf, as vpn-client@test)
#        ==UDP==> PREFIX-srv: /usr/sbin/vpn-server (as vpn-server.service) --> PREFIX-lan
source "$(dirname "$0")/lib.sh"

lab_up 1
DEB_DIR=$WORK/deb
make -s -C "$ROOT" deb DEB_DIR="$DEB_DIR" >"$WORK/deb.log" 2>&1
rc=$?
DEB=$(ls "$DEB_DIR"/vpnse_*_"$(dpkg --print-architecture)".deb 2>/dev/null | head -n 1)
check "make deb builds the package (rc=$rc)" test "$rc" -eq 0 -a -n "$DEB"
[ -n "$DEB" ] || { cat "$WORK/deb.log"; finish; }
check "  ... lintian: no error" bash -c "! grep -q '^E:' '${DEB%.deb}.lintian' && grep -q 'lintian: 0 errors' '$WORK/deb.log'"
dpkg-deb -c "$DEB" | awk '{print $1, $2, $6}' >"$WORK/contents"
has() { grep -q -- "$1" "$WORK/contents"; }
check "  ... programs in /usr/sbin and /usr/bin, the enclave in /usr/libexec/vpnse" \
    bash -c "$(declare -f has); WORK=$WORK; has 'x root/root ./usr/sbin/vpn-server\$' && has './usr/sbin/vpn-client\$' &&
             has './usr/bin/vpnctl\$' && has './usr/bin/vpn-keygen\$' && has './usr/bin/vpn-token\$' &&
             has './usr/libexec/vpnse/vpn-enclave\$' && has './usr/sbin/vpn-metrics\$'"
check "  ... six manual pages" test "$(grep -c './usr/share/man/man[18]/vpn.*\.gz$' "$WORK/contents")" -eq 6
check "  ... users.conf root's, mode 0600" has "^-rw------- root/root ./etc/vpnse/users.conf$"
check "  ... conffiles: the configuration and the logrotate file" \
    bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xO ./conffiles | sort | tr '\n' ' ' |
             grep -qx '/etc/logrotate.d/vpnse /etc/vpnse/qos_classes.conf /etc/vpnse/server.conf /etc/vpnse/users.conf '"
check "  ... depends on libsystemd0 and libsodium" bash -c "dpkg-deb -f '$DEB' Depends | grep -q 'libsystemd0.*' &&
                                                        dpkg-deb -f '$DEB' Depends | grep -q libsodium"

# --- the private copy of the machine ---
OVL=$WORK/ovl
mkdir -p "$OVL"
unshare --mount --propagation private -- bash -c '
    for d in etc usr var run; do
        mkdir -p "$1/$d.upper" "$1/$d.work"
    done
    # /run too, so that the runtime directories are made in the copy; the lab'"'"'s network
    # namespaces (mounts in /run/netns) are put back on top of it.
    mkdir -p "$1/netns" && mount --rbind /run/netns "$1/netns" || exit 1
    for d in etc usr var run; do
        mount -t overlay overlay -o "lowerdir=/$d,upperdir=$1/$d.upper,workdir=$1/$d.work" "/$d" || exit 1
    done
    mount --rbind "$1/netns" /run/netns || exit 1
    for d in /run/vpnse /run/vpn-client; do
        mkdir -p "$d" && mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 1
    done
    touch "$1/ready"
    exec sleep 100000' holder "$OVL" &
HOLDER=$!
PIDS+=("$HOLDER")
for _ in $(seq 1 50); do [ -e "$OVL/ready" ] && break; sleep 0.1; done
check "a private copy of the machine (overlays in a mount namespace)" test -e "$OVL/ready"
[ -e "$OVL/ready" ] || finish
inside() { nsenter --mount="/proc/$HOLDER/ns/mnt" -- "$@"; }
none_of() {   # none_of PATH...: true when none exists
    local p
    for p in "$@"; do [ ! -e "$p" ] || { echo "$p exists"; return 1; }; done
}

# -f: the machine's other tests run processes as these users (userdel looks at /proc).
inside userdel -f vpnse 2>/dev/null
inside userdel -f vpnse-enclave 2>/dev/null
check "inside: no vpnse, vpnse-enclave users before the installation" \
    bash -c "! nsenter --mount=/proc/$HOLDER/ns/mnt -- getent passwd vpnse vpnse-enclave"
inside dpkg -i "$DEB" >"$WORK/install.log" 2>&1
rc=$?
check "dpkg -i: exit 0 (got $rc)" test "$rc" -eq 0
check "  ... the users created" inside getent passwd vpnse vpnse-enclave
check "  ... the server key: root's, mode 0600" test "$(inside stat -c '%U %a' /etc/vpnse/server.key)" = "root 600"
PUB=$(inside sh -c 'vpn-keygen pubkey </etc/vpnse/server.key')
check "  ... and its public key printed" grep -q "public key, for the clients' server_public_key: $PUB\$" "$WORK/install.log"
check "  ... /var/log/vpnse for the server's user" test "$(inside stat -c '%U %G %a' /var/log/vpnse)" = "vpnse adm 2750"
check "  ... conffiles known to dpkg" bash -c "nsenter --mount=/proc/$HOLDER/ns/mnt -- dpkg-query -W -f='\${Conffiles}' vpnse | grep -q '/etc/vpnse/users.conf'"
check "  ... nothing of it on the machine itself" none_of /etc/vpnse /usr/sbin/vpn-server /run/vpnse
check "vpn-server --check-config /etc/vpnse/server.conf" inside vpn-server -c /etc/vpnse/server.conf --check-config
inside systemd-analyze verify /lib/systemd/system/vpn-server.service /lib/systemd/system/vpn-client@.service \
    >"$WORK/verify.log" 2>&1
rc=$?
check "systemd-analyze verify: both units clean (rc=$rc)" test "$rc" -eq 0 -a ! -s "$WORK/verify.log"
cat "$WORK/verify.log"
check "logrotate accepts /etc/logrotate.d/vpnse" \
    inside logrotate -d -s "$WORK/logrotate.state" /etc/logrotate.d/vpnse
# (man -l: a page named by its file is not kept formatted in /var/cache/man.)
check "the manual pages render without warnings" bash -c "for p in man8/vpn-server.8 man8/vpn-client.8 man8/vpnctl.8 man8/vpn-metrics.8 man1/vpn-keygen.1 man1/vpn-token.1; do
    out=\$(nsenter --mount=/proc/$HOLDER/ns/mnt -- env MANWIDTH=80 man --warnings -l /usr/share/man/\$p.gz 2>&1 >/dev/null); [ -z \"\$out\" ] || { echo \"\$p: \$out\"; exit 1; }; done"

# A user, and a client configuration as the vpn-client@test unit reads it.
TOKEN=$(inside vpn-token --random x | tail -n 1)
inside sh -c "printf '[user:tester]\nauth_token = %s\n' $TOKEN >>/etc/vpnse/users.conf"
inside install -m 600 /usr/share/vpnse/conf/client.conf /etc/vpnse/client-test.conf
inside python3 "$ROOT/tools/ini-set.py" /etc/vpnse/client-test.conf client.username=tester \
    "client.auth_token=$TOKEN" "client.server_public_key=$PUB" \
    client.control_socket=/run/vpn-client/test/sock

# The server as vpn-server.service starts it, with a stand-in for systemd's notify socket in
# its runtime directory (PrivateTmp hides $WORK from the service).
NOTIFY=$WORK/notify.log
: >"$NOTIFY"
# nsenter itself, not the function inside(): $! must be the listener (nsenter execs it), not a
# subshell whose end would leave the listener running.
nsenter --mount="/proc/$HOLDER/ns/mnt" -- \
    python3 "$ROOT/tests/integration/notify_listener.py" /run/vpnse/notify.sock "$NOTIFY" &
PIDS+=("$!")
for _ in $(seq 1 50); do inside test -S /run/vpnse/notify.sock && break; sleep 0.1; done
UNITS=/lib/systemd/system
as_unit() {   # as_unit NETNS UNIT [INSTANCE]: in the background, output to $WORK/UNIT.log
    local ns=$1 unit=$2
    NOTIFY_SOCKET=/run/vpnse/notify.sock nsenter --mount="/proc/$HOLDER/ns/mnt" -- \
        ip netns exec "$ns" python3 "$ROOT/tests/integration/run_as_unit.py" "$UNITS/$unit" \
        ${3:+"$3"} >>"$WORK/$unit.log" 2>&1 &
    UNIT_PID=$!
    PIDS+=("$UNIT_PID")
}
as_unit "$PREFIX-srv" vpn-server.service
SERVER_PID=$UNIT_PID
check "vpn-server.service: READY=1 from the server's PID" wait_for "$NOTIFY" "^$SERVER_PID READY=1$" 15
check "  ... after its ExecStartPre check" grep -q "Configuration OK: /etc/vpnse/server.conf" "$WORK/vpn-server.service.log"
check "  ... the first watchdog ping with it (WatchdogSec=)" grep -q "^$SERVER_PID WATCHDOG=1$" "$NOTIFY"
# The launcher keeps what it needs of the unit's bounding set: CAP_KILL, CAP_SETGID,
# CAP_SETUID, CAP_SETPCAP, CAP_IPC_LOCK (bits 5-8, 14), and no CAP_SYS_RESOURCE (24), which
# the unit leaves out (LimitMEMLOCK= instead).
launcher=$(pgrep -P "$SERVER_PID" -x vpn-launcher)
check "  ... its launcher holds the unit's bounding set less the network's" \
    test "$(awk '/^CapBnd:/ {print $2}' /proc/${launcher:-0}/status 2>/dev/null)" = 00000000000041e0
check "  ... with no-new-privs and a seccomp filter" bash -c "grep -q '^NoNewPrivs:.*1' /proc/$SERVER_PID/status && grep -q '^Seccomp:.*2' /proc/$SERVER_PID/status"
# The machine's other tests run enclaves as vpnse-enclave too: only this server's processes
# (server_tree) are looked at, and signalled.
enclave_pids() {
    local p
    for p in $(server_tree); do
        [ "$(stat -c %U /proc/$p 2>/dev/null)" = vpnse-enclave ] &&
            [ "$(readlink /proc/$p/exe 2>/dev/null)" = /usr/libexec/vpnse/vpn-enclave ] && echo "$p"
    done
}
check "  ... the enclave from /usr/libexec/vpnse, as vpnse-enclave" test -n "$(enclave_pids)"
locked() {
    local p
    for p in $(enclave_pids); do
        [ "$(awk '/^VmLck:/ {print $2}' /proc/$p/status)" -gt 0 ] || return 1
    done
}
check "  ... its memory locked within LimitMEMLOCK" locked

as_unit "$PREFIX-c1" vpn-client@.service test
CLIENT_PID=$UNIT_PID
check "vpn-client@test connects" wait_for "$WORK/vpn-client@.service.log" "Connected!" 15
check "  ... ping through the tunnel to the LAN" cli 1 ping -c 3 -i 0.2 -W 2 -q 192.168.100.10
check "  ... vpn-client status through its runtime directory" \
    bash -c "nsenter --mount=/proc/$HOLDER/ns/mnt -- vpn-client status -c /etc/vpnse/client-test.conf | grep -q connected"
check "vpnctl show: the session of tester" bash -c "nsenter --mount=/proc/$HOLDER/ns/mnt -- vpnctl show | grep -q tester"
check "STATUS=: 1 session" wait_for "$NOTIFY" "^$SERVER_PID STATUS=Running, 1 session$" 5

# systemctl reload, and an enclave worker killed: restarted under the unit's filter too.
kill -HUP "$SERVER_PID"
check "reload (SIGHUP): READY=1 again" wait_for "$NOTIFY" "^$SERVER_PID RELOADING=1$" 5
worker=$(enclave_pids | sort -n | tail -n 1)
[ -n "$worker" ] && kill -KILL "$worker"
check "a killed enclave worker is restarted" wait_for "$WORK/vpn-server.service.log" "Enclave worker [0-9]* restarted" 10
check "  ... and the client gets through again" bash -c "for _ in \$(seq 1 20); do ip netns exec $PREFIX-c1 ping -c 1 -W 1 -q 192.168.100.10 >/dev/null && exit 0; done; exit 1"

tree=$(server_tree)
stop_pid "$CLIENT_PID"
stop_pid "$SERVER_PID"
rc=$?
check "the server stops: exit 0 (got $rc), STOPPING=1" bash -c "[ $rc -eq 0 ] && grep -q '^$SERVER_PID STOPPING=1$' '$NOTIFY'"
gone() { local p; for p in $tree; do [ ! -d /proc/$p ] || return 1; done; }
check "  ... none of its processes left" gone

# --- purge ---
# The administrator's own file goes first (dpkg leaves what it did not install). The purge
# sees only its own processes (a PID namespace): userdel refuses a user that runs processes,
# and the machine's other tests run theirs as vpnse and vpnse-enclave.
inside rm /etc/vpnse/client-test.conf
inside unshare --pid --fork --mount-proc dpkg --purge vpnse >"$WORK/purge.log" 2>&1
rc=$?
check "dpkg --purge: exit 0 (got $rc)" test "$rc" -eq 0
check "  ... no /etc/vpnse, /var/log/vpnse, /var/lib/vpnse, /var/lib/vpn-client, unit, program" \
    inside bash -c "$(declare -f none_of); none_of /etc/vpnse /var/log/vpnse /var/lib/vpnse /var/lib/vpn-client \
                    /lib/systemd/system/vpn-server.service /usr/sbin/vpn-server /usr/libexec/vpnse"
check "  ... no users vpnse, vpnse-enclave, nor their groups" \
    bash -c "! nsenter --mount=/proc/$HOLDER/ns/mnt -- sh -c 'getent passwd vpnse || getent passwd vpnse-enclave || getent group vpnse || getent group vpnse-enclave'"
check "  ... dpkg knows nothing of it" bash -c "! nsenter --mount=/proc/$HOLDER/ns/mnt -- dpkg -s vpnse >/dev/null 2>&1"
# Everything the installation, the run and the purge changed is in the overlays' upper
# directories: no file of ours may be among them. Not counted: whiteouts (character devices
# marking what was deleted from the machine's own files), the mount points of the runtime
# directories, and man-db's cache of formatted pages (made when systemd-analyze verify
# checks Documentation=; man-db's to clean).
left=$(cd "$OVL" && find etc.upper usr.upper var.upper run.upper -name '*vpn*' ! -type c \
       ! -path run.upper/vpnse ! -path run.upper/vpn-client ! -path 'var.upper/cache/man/*')
check "  ... no file named after us left anywhere in /etc, /usr, /var${left:+: $left}" test -z "$left"
check "  ... no line of ours in passwd, group, shadow, gshadow" \
    bash -c "! nsenter --mount=/proc/$HOLDER/ns/mnt -- grep -E '^(vpnse|vpnse-enclave):' /etc/passwd /etc/group /etc/shadow /etc/gshadow"

# Users that were there before the package are used, and kept by the purge.
inside "$ROOT/tools/create-users.sh" >/dev/null
inside dpkg -i "$DEB" >"$WORK/install2.log" 2>&1
check "users there before: dpkg -i creates none" bash -c "! grep -q 'created system user' '$WORK/install2.log'"
inside unshare --pid --fork --mount-proc dpkg --purge vpnse >"$WORK/purge2.log" 2>&1
check "  ... and the purge keeps them" inside getent passwd vpnse vpnse-enclave
check "  ... while removing the rest" inside bash -c "$(declare -f none_of); none_of /etc/vpnse /var/log/vpnse /var/lib/vpnse"
finish
