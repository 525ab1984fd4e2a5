/* The enclave's sandbox: capabilities, dumps, memory locking and the seccomp allowlists.
 *
 * The allowlists are ordered tables (STYLE.md): architecture check (libseccomp adds it), the
 * syscalls denied with an errno, then the allowed ones in alphabetical order with argument
 * masks where they matter, then the default action. Names that are not syscalls of the
 * architecture we run on are skipped. libseccomp (2.5.4) resolves such a name either to
 * __NR_SCMP_ERROR (-1: it knows no such syscall at all) or to a negative pseudo-syscall
 * number (mmap2, futex_time64, clock_gettime64, recv, send, sigreturn, ... on x86-64 and
 * aarch64, e.g. -10029 for mmap2): any negative number means "not here". (That also drops
 * the socketcall translation libseccomp would do on i386, which is not a target.) A debug
 * build (-DSANDBOX_DEBUG) traps instead of killing, so the kernel log and the core name the
 * call. */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vpn/seccomp_filter.h"
#include "vpn/log.h"

struct rule {
    const char *name;
    enum {
        ALLOW,
        ALLOW_NO_EXEC_PROT,     /* mmap, mmap2: without PROT_EXEC */
        ALLOW_FORK_ONLY,        /* clone: with FORK_CLONE_FLAGS only */
        ALLOW_STOP_SIGNALS,     /* kill: with STOP_SIGNALS only */
        ALLOW_WORKER_PRCTL,     /* prctl: the WORKER_START_PRCTL options only */
        ALLOW_DUMPABLE_OFF,     /* prctl(PR_SET_DUMPABLE, 0) and nothing else */
        DENY_ENOSYS,
    } action;
};

/* What glibc's fork() passes to clone (arch_fork in sysdeps/unix/sysv/linux/arch-fork.h, the
 * same on x86-64, arm and aarch64; checked with strace on the supervisor restarting a worker):
 * a new process, never a thread (CLONE_THREAD), shared memory (CLONE_VM) or any other sharing
 * flag. clone's flags are its first argument on all three. */
static const scmp_datum_t FORK_CLONE_FLAGS[] = { CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID |
                                                 SIGCHLD };
/* kill's second argument: what stopping the workers uses, and an escalation. */
static const scmp_datum_t STOP_SIGNALS[] = { SIGTERM, SIGKILL };
/* prctl's first argument, for a worker the supervisor restarts: it runs under the
 * supervisor's filter until run_worker (enclave/main.c) has added its own, and calls
 * prctl(PR_SET_PDEATHSIG), then libseccomp calls prctl(PR_SET_NO_NEW_PRIVS) before
 * seccomp() (strace of a restart). The supervisor itself calls no prctl after its filter. */
static const scmp_datum_t WORKER_START_PRCTL[] = { PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS };

/* What a worker does after start-up: wait on, read and write its doorbell, read the clock,
 * draw random numbers, and what glibc's allocator and abort() may need. No open, no socket, no exec. */
static const struct rule WORKER_RULES[] = {
    { "clock_gettime", ALLOW },
    { "clock_gettime64", ALLOW },
    { "exit", ALLOW },
    { "exit_group", ALLOW },
    { "brk", ALLOW },
    { "futex", ALLOW },
    { "futex_time64", ALLOW },
    { "getpid", ALLOW },
    { "getrandom", ALLOW },
    { "gettid", ALLOW },
    { "gettimeofday", ALLOW },
    { "madvise", ALLOW },
    { "mmap", ALLOW_NO_EXEC_PROT },
    { "mmap2", ALLOW_NO_EXEC_PROT },
    { "munmap", ALLOW },
    { "poll", ALLOW },          /* the doorbell, with a timeout for the key sweep */
    { "ppoll", ALLOW },
    { "ppoll_time64", ALLOW },
    { "read", ALLOW },
    { "restart_syscall", ALLOW },
    { "rt_sigprocmask", ALLOW },
    { "rt_sigreturn", ALLOW },
    { "sched_yield", ALLOW },
    { "sigreturn", ALLOW },
    { "tgkill", ALLOW },
    { "write", ALLOW },
};

/* The supervisor additionally waits for, restarts and stops workers, and polls its channel.
 * clone, kill and prctl only with the arguments above: no thread, no shared memory, no
 * PR_SET_DUMPABLE or PR_SET_PTRACER, no signal but a stop. kill's pid cannot be limited to
 * our children in a filter, which sees only numbers: what keeps other processes out of reach
 * is the uid (65534, which no daemon should share) and having no capabilities. */
static const struct rule SUPERVISOR_EXTRA[] = {
    /* clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes glibc fall
     * back to clone (it does so only for ENOSYS), whose flags are checked below. fork()
     * itself uses clone. */
    { "clone3", DENY_ENOSYS },
    { "clock_nanosleep", ALLOW },
    { "clock_nanosleep_time64", ALLOW },
    { "clone", ALLOW_FORK_ONLY },
    { "close", ALLOW },
    { "dup2", ALLOW },
    { "dup3", ALLOW },
    { "fork", ALLOW },          /* the same as clone(SIGCHLD), x86-64 only; glibc uses clone */
    { "fstat", ALLOW },
    { "fstat64", ALLOW },
    { "kill", ALLOW_STOP_SIGNALS },
    { "mlock", ALLOW },
    { "mlockall", ALLOW },
    { "munlock", ALLOW },
    { "nanosleep", ALLOW },
    { "newfstatat", ALLOW },
    { "prctl", ALLOW_WORKER_PRCTL },
    { "prctl", ALLOW_DUMPABLE_OFF },    /* a restarted worker makes sure it is not dumpable */
    { "pread64", ALLOW },
    { "recv", ALLOW },          /* 32-bit ARM has send/recv of its own */
    { "recvfrom", ALLOW },
    { "recvmsg", ALLOW },
    { "rt_sigaction", ALLOW },
    { "seccomp", ALLOW },       /* can only add filters (the restarted worker's) */
    { "send", ALLOW },
    { "sendmsg", ALLOW },
    { "sendto", ALLOW },
    { "set_robust_list", ALLOW },
    { "statx", ALLOW },
    { "wait4", ALLOW },
    { "waitid", ALLOW },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Allows syscall nr when its argument arg equals one of values: one rule per value, which
 * libseccomp ORs. */
static int allow_arg_in(scmp_filter_ctx ctx, int nr, unsigned arg, const scmp_datum_t *values,
                        size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                  SCMP_CMP(arg, SCMP_CMP_EQ, values[i], 0));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_filter_syscall(rules[i].name);
        if (nr < 0)
            continue;   /* not a syscall of this architecture (see the top of this file) */
        int rc = -EINVAL;
        switch (rules[i].action) {
        case ALLOW_NO_EXEC_PROT:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                  SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
            break;
        case ALLOW_FORK_ONLY:
            rc = allow_arg_in(ctx, nr, 0, FORK_CLONE_FLAGS, N(FORK_CLONE_FLAGS));
            break;
        case ALLOW_STOP_SIGNALS:
            rc = allow_arg_in(ctx, nr, 1, STOP_SIGNALS, N(STOP_SIGNALS));
            break;
        case ALLOW_WORKER_PRCTL:
            rc = allow_arg_in(ctx, nr, 0, WORKER_START_PRCTL, N(WORKER_START_PRCTL));
            break;
        case ALLOW_DUMPABLE_OFF:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
                                  SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE), SCMP_A1(SCMP_CMP_EQ, 0));
            break;
        case DENY_ENOSYS:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
            break;
        case ALLOW:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int install(bool supervisor)
{
    scmp_filter_ctx ctx = SECCOMP_FILTER_NEW();
    if (!ctx)
        return -ENOMEM;
    int rc = add_rules(ctx, WORKER_RULES, N(WORKER_RULES));
    if (rc == 0 && supervisor)
        rc = add_rules(ctx, SUPERVISOR_EXTRA, N(SUPERVISOR_EXTRA));
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc;
}

int sandbox_worker_filter(void)
{
    return install(false);
}

int sandbox_supervisor_filter(void)
{
    return install(true);
}

int sandbox_no_dumps(size_t memlock_bytes)
{
    struct rlimit none = { 0, 0 };
    struct rlimit lock = { memlock_bytes, memlock_bytes };
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return -errno;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return -errno;
    /* Raising the limit needs CAP_SYS_RESOURCE; without it, keep what we have and let
     * sandbox_lock_memory report the failure. */
    struct rlimit cur;
    if (getrlimit(RLIMIT_MEMLOCK, &cur) == 0 && cur.rlim_cur < memlock_bytes)
        (void)setrlimit(RLIMIT_MEMLOCK, &lock);
    return 0;
}

int sandbox_drop_privileges(uid_t uid, gid_t gid)
{
    if (uid == 0 || gid == 0)
        return -EINVAL;
    if (geteuid() != 0)
        return -EPERM;  /* could not leave our uid: we would share it with whoever started us */
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return -errno;
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0)
        return -errno;
    /* The uid change made us dumpable again if fs.suid_dumpable says so (the kernel resets
     * the flag from it on every credential change): close it again, and for good. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return -errno;
    /* The uid change cleared the permitted and effective sets; clear the rest explicitly
     * (inheritable, ambient). */
    cap_t none = cap_init();
    if (!none)
        return -errno;
    int rc = cap_set_proc(none);
    cap_free(none);
    if (rc != 0)
        return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    return 0;
}

/* Touches and locks the stack pages below the caller's frame that the worker's deepest calls
 * (handshake, AEAD) use, so that secrets passing through the stack never reach swap. */
static __attribute__((noinline)) int lock_stack(void)
{
    volatile unsigned char area[64 * 1024];
    for (size_t i = 0; i < sizeof(area); i += 4096)
        area[i] = 0;
    return mlock((const void *)area, sizeof(area));
}

int sandbox_lock_memory(const void *secrets, size_t len)
{
    if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
        return 0;
    /* Without CAP_IPC_LOCK and with a small RLIMIT_MEMLOCK (8 MB by default, and not every
     * system lets root raise it), the whole address space does not fit: lock what holds
     * secrets, the key table and the stack, and leave the packet rings pageable. */
    if (mlock(secrets, len) != 0 || lock_stack() != 0)
        return -errno;
    return 1;
}
