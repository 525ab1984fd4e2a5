/* The enclave's sandbox: capabilities, dumps, memory locking and the seccomp allowlists.
 *
 * The allowlists are ordered tables (STYLE.md): architecture check (libseccomp adds it), the
 * syscalls denied with an errno, then the allowed ones in alphabetical order with argument
 * masks where they matter, then the default action. Names absent on an architecture (the
 * 32-bit ARM variants such as mmap2, futex_time64, clock_gettime64 on x86-64) are skipped:
 * seccomp_syscall_resolve_name returns __NR_SCMP_ERROR for them. A debug build
 * (-DSANDBOX_DEBUG) traps instead of killing, so the kernel log and the core name the call. */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vpn/log.h"

struct rule {
    const char *name;
    enum { ALLOW, ALLOW_NO_EXEC_PROT, DENY_EPERM } action;
};

/* What a worker does after start-up: read/write its doorbell, read the clock, draw random
 * numbers, and what glibc's allocator and abort() may need. No open, no socket, no exec. */
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
    { "read", ALLOW },
    { "restart_syscall", ALLOW },
    { "rt_sigprocmask", ALLOW },
    { "rt_sigreturn", ALLOW },
    { "sched_yield", ALLOW },
    { "sigreturn", ALLOW },
    { "tgkill", ALLOW },
    { "write", ALLOW },
};

/* The supervisor additionally waits for, restarts and stops workers, and polls its channel. */
static const struct rule SUPERVISOR_EXTRA[] = {
    { "clone", ALLOW },
    { "clone3", DENY_EPERM },   /* glibc falls back to clone when clone3 says ENOSYS/EPERM */
    { "close", ALLOW },
    { "fstat", ALLOW },
    { "fstat64", ALLOW },
    { "newfstatat", ALLOW },
    { "statx", ALLOW },
    { "pread64", ALLOW },
    { "dup2", ALLOW },
    { "dup3", ALLOW },
    { "fork", ALLOW },
    { "kill", ALLOW },
    { "mlock", ALLOW },
    { "mlockall", ALLOW },
    { "munlock", ALLOW },
    { "nanosleep", ALLOW },
    { "clock_nanosleep", ALLOW },
    { "clock_nanosleep_time64", ALLOW },
    { "poll", ALLOW },
    { "ppoll", ALLOW },
    { "ppoll_time64", ALLOW },
    { "prctl", ALLOW },
    { "rt_sigaction", ALLOW },
    { "seccomp", ALLOW },
    { "set_robust_list", ALLOW },
    { "recv", ALLOW },          /* 32-bit ARM has send/recv of its own */
    { "recvfrom", ALLOW },
    { "recvmsg", ALLOW },
    { "send", ALLOW },
    { "sendmsg", ALLOW },
    { "sendto", ALLOW },
    { "wait4", ALLOW },
    { "waitid", ALLOW },
};

static int add_rules(scmp_filter_ctx ctx, const struct rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(rules[i].name);
        if (nr == __NR_SCMP_ERROR)
            continue;   /* not a syscall of this architecture */
        int rc;
        switch (rules[i].action) {
        case ALLOW_NO_EXEC_PROT:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                  SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
            break;
        case DENY_EPERM:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
            break;
        default:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

#ifdef SANDBOX_DEBUG
#include <signal.h>
#include <stdio.h>
/* Debug build: name the forbidden syscall on stderr, then die as the filter would. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "[ERROR] seccomp: forbidden syscall %d (%s)\n",
                     si->si_syscall,
                     seccomp_syscall_resolve_num_arch(si->si_arch, si->si_syscall) ?: "?");
    (void)!write(2, msg, (size_t)n);
    _exit(31);
}
#endif

static int install(bool supervisor)
{
#ifdef SANDBOX_DEBUG
    struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
    sigaction(SIGSYS, &sa, NULL);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
#else
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
#endif
    if (!ctx)
        return -ENOMEM;
    int rc = add_rules(ctx, WORKER_RULES, sizeof(WORKER_RULES) / sizeof(WORKER_RULES[0]));
    if (rc == 0 && supervisor)
        rc = add_rules(ctx, SUPERVISOR_EXTRA, sizeof(SUPERVISOR_EXTRA) / sizeof(SUPERVISOR_EXTRA[0]));
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
