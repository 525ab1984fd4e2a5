#!/bin/bash
# vpn-server under systemd, without systemd (PID 1 here is not systemd): what a Type=notify
# unit with WatchdogSec= sees, from a stand-in for the notification socket
# (notify_listener.py), and the priority prefixes journald reads from stderr.
#
#   c1 ==UDP==> srv (vpn-server, NOTIFY_SOCKET=$WORK/notify.sock, WATCHDOG_USEC,
#                    stderr = the "journal stream" JOURNAL_STREAM names)
#                 |
#                 +--> notify_listener.py: "PID VAR=VALUE" lines in $WORK/notify.log
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
NOTIFY=$WORK/notify.log
: >"$NOTIFY"
python3 "$ROOT/tests/integration/notify_listener.py" "$WORK/notify.sock" "$NOTIFY" &
PIDS+=("$!")
for _ in $(seq 1 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.1; done

# journald connects a stream socket to stdout and stderr and names it in JOURNAL_STREAM as
# DEVICE:INODE; here the stream is the log file itself.
: >"$WORK/server.log"
JOURNAL=$(stat -c '%d:%i' "$WORK/server.log")
# A ping every 100 ms (half of WATCHDOG_USEC), as with WatchdogSec=200ms.
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=200000 JOURNAL_STREAM=$JOURNAL start_server -t 2
check "started with NOTIFY_SOCKET" test -n "${SERVER_PID:-}"

check "READY=1 from the server's own PID" wait_for "$NOTIFY" "^$SERVER_PID READY=1$" 5
check "  ... with the status: no session yet" grep -q "^$SERVER_PID STATUS=Running, 0 sessions$" "$NOTIFY"
pings_at_least() {   # pings_at_least N: waits up to 5 s for N WATCHDOG=1 from the server
    for _ in $(seq 1 50); do
        [ "$(grep -c "^$SERVER_PID WATCHDOG=1$" "$NOTIFY")" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
check "WATCHDOG=1 pings keep coming (10 of them)" pings_at_least 10

# The client too, as vpn-client@.service runs it: its stderr the journal's stream.
make_client_conf alice alice "$ALICE_TOKEN"
: >"$WORK/alice.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/alice.log") \
    cli 1 "$BIN/vpn-client" connect -c "$WORK/alice.conf" --server-key "$(server_key)" \
    >>"$WORK/alice.log" 2>&1 &
PIDS+=("$!")
check "a client connects" wait_for "$WORK/alice.log" "Connected!" 10
check "  ... its lines with their priority too" grep -q '^<6>\[INFO\] Connected! ' "$WORK/alice.log"
check "STATUS= follows the session count" wait_for "$NOTIFY" "^$SERVER_PID STATUS=Running, 1 session$" 5

# The reload warns about a setting that waits for a restart (a warning to look for below).
python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" server.mtu=1380
kill -HUP "$SERVER_PID"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" wait_for "$NOTIFY" "^$SERVER_PID MONOTONIC_USEC=[0-9]" 5
# The line of the last NAME=VALUE from the server (0: none).
last_line_of() { grep -n "^$SERVER_PID $1$" "$NOTIFY" | tail -n 1 | cut -d: -f1; }
ready_again() {
    for _ in $(seq 1 50); do
        [ "$(last_line_of READY=1)" -gt "$(last_line_of RELOADING=1)" ] && return 0
        sleep 0.1
    done
    return 1
}
check "  ... then READY=1 again" ready_again
check "  ... with the session count" test "$(last_line_of 'STATUS=Running, 1 session')" -gt "$(last_line_of RELOADING=1)"

# Every line on stderr carries its priority: the brief's lines at info (6), the enclave's as
# well (same stderr), a warning at 4.
check "stderr lines start with a syslog priority" bash -c "! grep -v '^<[0-7]>\[' '$WORK/server.log'"
check "  ... <6> for the brief's lines" grep -q '^<6>\[INFO\] Starting VPN server\.\.\.$' "$WORK/server.log"
check "  ... <6> for the enclave's lines" grep -q '^<6>\[INFO\] Generated a new server key' "$WORK/server.log"
check "  ... <4> for a warning" grep -q '^<4>\[WARN\] Reload: \[server\] mtu changed' "$WORK/server.log"

stop_pid "$SERVER_PID"
rc=$?
check "SIGTERM: exit status 0 (got $rc)" test "$rc" -eq 0
check "  ... after STOPPING=1" grep -q "^$SERVER_PID STOPPING=1$" "$NOTIFY"

# WATCHDOG_PID names another process (the watchdog is meant for it): no pings from us.
: >"$NOTIFY"
: >"$WORK/server.log"
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 JOURNAL_STREAM=$JOURNAL start_server -t 1
check "WATCHDOG_PID of another process: READY=1" wait_for "$NOTIFY" "^$SERVER_PID READY=1$" 5
kill -HUP "$SERVER_PID"
check "  ... (a reload later)" wait_for "$NOTIFY" "^$SERVER_PID RELOADING=1$" 5
check "  ... and no WATCHDOG=1 at all" bash -c "! grep -q WATCHDOG=1 '$NOTIFY'"
stop_pid "$SERVER_PID"

# Without NOTIFY_SOCKET nothing is sent, and a terminal keeps the brief's lines as they are;
# a JOURNAL_STREAM that is not our stderr (inherited from a service, stderr redirected) too.
: >"$NOTIFY"
: >"$WORK/server.log"
JOURNAL_STREAM=1:2 start_server -t 1
check "without NOTIFY_SOCKET: running" grep -q '^\[INFO\] VPN server is running\.\.\.$' "$WORK/server.log"
check "  ... no priority prefix for another stream" bash -c "! grep -q '^<' '$WORK/server.log'"
stop_pid "$SERVER_PID"
check "  ... and nothing sent" test ! -s "$NOTIFY"

# A configuration error reaches journald at priority 3, before the configuration is read.
python3 "$ROOT/tools/ini-set.py" "$WORK/server.conf" server.mtu=100000
: >"$WORK/bad.log"
JOURNAL=$(stat -c '%d:%i' "$WORK/bad.log")
JOURNAL_STREAM=$JOURNAL "$BIN/vpn-server" -c "$WORK/server.conf" 2>>"$WORK/bad.log"
rc=$?
check "configuration error: exit 2 (got $rc)" test "$rc" -eq 2
check "  ... logged at priority 3" grep -q '^<3>\[ERROR\] Configuration error: .*\[server\] mtu' "$WORK/bad.log"
finish
