#!/bin/bash
# The enclave, proven from outside (issue: hardening, worker pool, supervision).
#
#   c1 (vpn-probe / vpn-client) ==UDP==> srv: vpn-server --- rings ---> vpn-enclave + 2 workers
#
# - the main process's whole memory holds no session key, server key or token, while a worker's
#   does (so the scan itself is proven to work), and after DISCONNECT the session keys are gone
#   from the workers too;
# - every enclave process: Seccomp 2, VmLck > 0, no capabilities, NoNewPrivs, the uid of the
#   system user vpnse-enclave (not the main process's vpnse), and not dumpable: its /proc files
#   belong to root and its own uid cannot read /proc/PID/environ. The enclave starts with
#   fs.suid_dumpable = 1, under which the kernel makes a process dumpable again when it changes
#   uid: only an explicit PR_SET_DUMPABLE 0 after the change keeps it closed;
# - kill -9 of a worker and a seccomp violation (test build) are survived: ping works again;
#   the restarted worker (forked by the filtered supervisor: clone with fork's flags, prctl
#   PR_SET_PDEATHSIG and NO_NEW_PRIVS) is a process of its own with its own filter;
# - the supervisor's filter checks arguments: the test build's hooks make it clone a thread,
#   prctl(PR_SET_DUMPABLE, 1) or kill with SIGCONT, and the kernel kills it at that call
#   (vpn-server's launcher then starts a new enclave, test_enclave_restart.sh).
source "$(dirname "$0")/lib.sh"

lab_up 1
make_server_conf
# fs.suid_dumpable is machine-wide: raised only while the server starts, restored at once and,
# should the test die first, by the EXIT trap.
suid_dumpable=$(sysctl -n fs.suid_dumpable)
trap 'sysctl -qw fs.suid_dumpable=$suid_dumpable; cleanup' EXIT
sysctl -qw fs.suid_dumpable=1
VPN_ENCLAVE=$ROOT/build/test-enclave/vpn-enclave start_server -t 2 || { fail "server starts"; finish; }
sysctl -qw fs.suid_dumpable="$suid_dumpable"
enclave_pid=$(sed -n 's/.*Enclave process started (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log")
workers() { ps -o pid= --ppid "$enclave_pid" | tr -d ' '; }

# A session whose keys our own test client knows.
cli 1 "$PROBE" 172.31.0.1 51820 "$(server_key)" alice "$ALICE_TOKEN" keys 6 >"$WORK/probe.out" 2>&1 &
probe=$!; PIDS+=("$probe")
wait_for "$WORK/probe.out" "session" 5 || fail "probe handshake"
k_c2s=$(awk '/^k_c2s/ {print $2}' "$WORK/probe.out")
k_s2c=$(awk '/^k_s2c/ {print $2}' "$WORK/probe.out")
s_priv=$(python3 -c "import base64,sys; print(base64.b64decode(open('$WORK/server.key').read()).hex())")
needles="k_c2s=$k_c2s k_s2c=$k_s2c s_priv=$s_priv token=$ALICE_TOKEN"

main_scan=$(python3 "$ROOT/tests/integration/memscan.py" "$SERVER_PID" $needles)
echo "main process: $main_scan"
for n in k_c2s k_s2c s_priv token; do
    check "main process memory holds no $n" grep -q "^$n absent" <<<"$main_scan"
done
w0=$(workers | head -n1)
worker_scan=$(python3 "$ROOT/tests/integration/memscan.py" "$w0" $needles)
echo "worker $w0: $worker_scan"
for n in k_c2s k_s2c s_priv token; do
    check "the same scan finds $n in a worker" grep -q "^$n found" <<<"$worker_scan"
done

wait "$probe"   # its DISCONNECT ends the session
sleep 0.3
for w in $(workers); do
    after=$(python3 "$ROOT/tests/integration/memscan.py" "$w" "k_c2s=$k_c2s" "k_s2c=$k_s2c")
    check "after DISCONNECT worker $w holds no session key" bash -c "! grep -q found <<<'$after'"
done

enclave_uid=$(id -u vpnse-enclave) enclave_gid=$(id -g vpnse-enclave)
ids() { awk -v k="$2:" '$1 == k {print $2, $3, $4, $5}' "/proc/$1/status"; }
environ_denied() {   # environ_denied PID USER: USER's uid cannot read /proc/PID/environ
    local out
    out=$(as_user "$2" cat "/proc/$1/environ" 2>&1 >/dev/null) && return 1
    grep -q "Permission denied" <<<"$out"
}
signal_denied() { ! as_user vpnse kill -0 "$1" 2>/dev/null; }
check "the enclave's user is not the main process's" test "$enclave_uid" != "$(id -u vpnse)"
for p in $enclave_pid $(workers); do
    check "enclave $p: uids are vpnse-enclave's ($enclave_uid): $(ids "$p" Uid)" \
        test "$(ids "$p" Uid)" = "$enclave_uid $enclave_uid $enclave_uid $enclave_uid"
    check "enclave $p: gids are vpnse-enclave's ($enclave_gid): $(ids "$p" Gid)" \
        test "$(ids "$p" Gid)" = "$enclave_gid $enclave_gid $enclave_gid $enclave_gid"
    check "enclave $p: not dumpable (/proc/$p/status owned by uid $(stat -c %u /proc/$p/status))" \
        test "$(stat -c %u "/proc/$p/status")" = 0
    check "enclave $p: its own uid cannot read /proc/$p/environ" environ_denied "$p" vpnse-enclave
    check "enclave $p: nor can the main process's uid" environ_denied "$p" vpnse
    check "enclave $p: the main process's uid cannot signal it" signal_denied "$p"
    check "enclave $p: Seccomp 2" test "$(field "$p" Seccomp)" = 2
    check "enclave $p: NoNewPrivs 1" test "$(field "$p" NoNewPrivs)" = 1
    for c in CapEff CapPrm CapBnd CapInh CapAmb; do
        check "enclave $p: $c 0" test "$(field "$p" $c)" = 0000000000000000
    done
done
for w in $(workers); do
    lck=$(field "$w" VmLck)
    check "worker $w: VmLck ${lck} kB > 0" test "${lck:-0}" -gt 0
done
check "main process keeps only CAP_NET_ADMIN and CAP_NET_RAW" test "$(field "$SERVER_PID" CapEff)" = 0000000000003000
check "main process has a reduced bounding set" test "$(field "$SERVER_PID" CapBnd)" = 0000000000003000

# Supervision: a real client keeps pinging while workers die.
make_client_conf alice alice "$ALICE_TOKEN"
start_client 1 alice || fail "client connects"
check "ping before" cli 1 ping -c 1 -W 2 -q 192.168.100.10
recovers() {   # ping answered within 5 s
    for _ in $(seq 1 10); do cli 1 ping -c 1 -W 1 -q 192.168.100.10 >/dev/null 2>&1 && return 0; sleep 0.4; done
    return 1
}
victim=$(workers | head -n1)
kill -9 "$victim"
check "kill -9 of worker $victim is logged" wait_for "$WORK/server.log" "(PID: $victim) died: signal 9" 3
check "the worker is restarted" wait_for "$WORK/server.log" "restarted (PID:" 3
check "ping through the tunnel again within 5 s" recovers
restarted=$(sed -n 's/.*Enclave worker [0-9]* restarted (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log" | tail -n1)
check "restarted worker $restarted is a process (not a thread) of the supervisor" \
    test "$(field "$restarted" Tgid)" = "$restarted" -a "$(field "$restarted" PPid)" = "$enclave_pid"
check "restarted worker $restarted: Seccomp 2, NoNewPrivs 1" \
    test "$(field "$restarted" Seccomp)" = 2 -a "$(field "$restarted" NoNewPrivs)" = 1
check "restarted worker $restarted has its own filter on top of the supervisor's" \
    test "$(field "$restarted" Seccomp_filters)" -gt "$(field "$enclave_pid" Seccomp_filters)"

victim=$(workers | head -n1)
kill -USR1 "$victim"     # test build: the worker calls socket(), which its filter forbids
check "forbidden syscall: worker $victim dies of SIGSYS" wait_for "$WORK/server.log" "(PID: $victim) died: signal 31 (seccomp violation)" 3
check "ping through the tunnel again within 5 s (after SIGSYS)" recovers
check "still two workers" test "$(workers | wc -l)" -eq 2
for w in $(workers); do
    check "restarted worker $w: vpnse-enclave's uid, not dumpable" \
        test "$(field "$w" Uid) $(stat -c %u "/proc/$w/status")" = "$enclave_uid 0"
done

# The supervisor's own filter, one hook per argument rule; each ends that enclave, and the
# server starts a new one.
for hook in USR1:"clone(CLONE_VM|CLONE_THREAD)" USR2:"prctl(PR_SET_DUMPABLE, 1)" URG:"kill(self, SIGCONT)"; do
    sig=${hook%%:*} what=${hook#*:}
    enclave_pid=$(sed -n 's/.*Enclave process started (PID: \([0-9]*\)).*/\1/p' "$WORK/server.log" | tail -n1)
    restarts=$(grep -c "Enclave restarted" "$WORK/server.log")
    kill -"$sig" "$enclave_pid"
    check "supervisor hook $what: called" wait_for "$WORK/server.log" "TESTHOOK calling $what" 3
    check "supervisor hook $what: the kernel kills the supervisor (SIGSYS)" \
        wait_for "$WORK/server.log" "Enclave process $enclave_pid was killed by signal 31 (seccomp violation)" 5
    check "supervisor hook $what: never returned" bash -c "! grep -qF 'TESTHOOK survived' '$WORK/server.log'"
    for _ in $(seq 1 100); do
        [ "$(grep -c "Enclave restarted" "$WORK/server.log")" -gt "$restarts" ] && break
        sleep 0.1
    done
    check "supervisor hook $what: the server lives on with a new enclave" \
        bash -c "kill -0 $SERVER_PID && [ \$(grep -c 'Enclave restarted' '$WORK/server.log') -gt $restarts ]"
done
finish
