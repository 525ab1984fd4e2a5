#!/bin/bash
# The daemon's log file after a rotation: renamed away, then SIGHUP or `vpnctl reopen-logs`
# makes the server (by then the unprivileged vpnse) create it anew and write there; a failed
# reopen keeps logging to the old file and says why; a symbolic link planted at the log path
# is not followed by the next start (run as root).
#
#   srv: vpn-server -d, [logging] file = $WORK/log/server.log ($WORK/log owned by vpnse,
#        as the package's /var/log/vpnse is)
source "$(dirname "$0")/lib.sh"

lab_up 1
LOGDIR=$WORK/log
LOG=$LOGDIR/server.log
install -d -o vpnse -g vpnse -m 750 "$LOGDIR"
make_server_conf "logging.file=$LOG"
PIDFILE=$(dirname "$CONTROL_SOCKET")/server.pid
ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" -t 1 -d -p "$PIDFILE" \
    >"$WORK/daemon.out" 2>&1
check "the daemon starts" wait_for "$PIDFILE" "[0-9]" 5
pid=$(cat "$PIDFILE")
PIDS+=("$pid")
check "it logs to the file" wait_for "$LOG" "VPN server is running" 5

mv "$LOG" "$LOG.1"
kill -HUP "$pid"
check "SIGHUP after a rename: the file is created again" wait_for "$LOG" "Log file reopened (SIGHUP)" 5
check "  ... and written: the reload's own lines are in it" wait_for "$LOG" "SIGHUP: reloading" 5
check "  ... by the server's user, mode 0640" test "$(stat -c '%U %a' "$LOG")" = "vpnse 640"
check "  ... the old file kept everything before" bash -c "grep -q 'VPN server is running' '$LOG.1' && ! grep -q 'reopened' '$LOG.1'"

mv "$LOG" "$LOG.2"
out=$("$BIN/vpnctl" reopen-logs -s "$CONTROL_SOCKET" 2>&1)
rc=$?
check "vpnctl reopen-logs: exit 0 (got $rc: $out)" test "$rc" -eq 0
check "  ... answered ok" test "$out" = "ok: log file reopened"
check "  ... the new file has the server's line" grep -q "Log file reopened (vpnctl reopen-logs)" "$LOG"
kill -HUP "$pid"
check "  ... and later lines go there" wait_for "$LOG" "SIGHUP: reloading" 5
check "  ... not to the renamed one (only the first SIGHUP's lines there)" \
    bash -c "[ \$(grep -c 'SIGHUP: reloading' '$LOG.2') -eq 1 ] && ! grep -q 'vpnctl' '$LOG.2'"

# The directory no longer lets the server create a file: the reopen fails, and logging goes
# on in the file it had.
chown root:root "$LOGDIR"
chmod 755 "$LOGDIR"
mv "$LOG" "$LOG.3"
out=$("$BIN/vpnctl" reopen-logs -s "$CONTROL_SOCKET" 2>&1)
rc=$?
check "reopen refused by the directory: vpnctl exit 1 (got $rc)" test "$rc" -eq 1
check "  ... with the reason" bash -c "echo '$out' | grep -q '^error: cannot reopen the log file: Permission denied'"
check "  ... said in the old file" wait_for "$LOG.3" "WARN\] Cannot reopen the log file (vpnctl reopen-logs): Permission denied" 5
check "  ... no new file" test ! -e "$LOG"

out=$("$BIN/vpnctl" reopen-log -s "$CONTROL_SOCKET" 2>&1)
check "vpnctl with an unknown command: usage, exit 2" test $? -eq 2

kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "the daemon stops" bash -c "! kill -0 $pid 2>/dev/null"

# A link at the log path (the directory was the service user's) is never followed by root.
install -d -o vpnse -g vpnse -m 750 "$WORK/log2"
echo precious >"$WORK/precious"
ln -s "$WORK/precious" "$WORK/log2/server.log"
make_server_conf "logging.file=$WORK/log2/server.log"
ip netns exec "$PREFIX-srv" "$BIN/vpn-server" -c "$WORK/server.conf" -t 1 -d >"$WORK/link.out" 2>&1
rc=$?
check "a symbolic link at the log path: the daemon does not start (rc=$rc)" test "$rc" -ne 0
check "  ... saying why" grep -q "Cannot open the log file .*server.log: Too many levels of symbolic links" "$WORK/link.out"
check "  ... and the link's target is untouched" test "$(cat "$WORK/precious")" = precious
finish
