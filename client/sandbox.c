/* vpn-client's sandbox: privilege drop and the seccomp allowlist of its loop (see sandbox.h).
 *
 * What the loop does after set-up, and so all it may do:
 *   main thread  recvmmsg from the UDP socket, write/writev into the TUN, send (handshakes,
 *                PING/PONG, DISCONNECT), poll, read the signalfd, accept4/read/write/close on
 *                the control socket, getrandom (ephemeral keys), the clock; send and recv on
 *                the helper's socket (helper.h: routes, resolvers, lookups); on a new address
 *                of the server, dup3 of the family's socket onto the UDP descriptor and
 *                connect (underlay.h); on a reconnect with a new address, tun_configure:
 *                socket(AF_INET) and five ioctls, which CAP_NET_ADMIN allows; at exit,
 *                DISCONNECT, join the TUN thread, wait4 for the helper (its pid only), close
 *                the TUN (the kernel removes the device with it).
 *   TUN thread   read the TUN, sendmmsg with UDP GSO, poll (the TUN and the stop eventfd);
 *                after a lone packet, the main thread's receive (reply_wait.h): recvmmsg,
 *                sched_yield, and what the main thread does with what it receives.
 * Never after set-up: open files (known_servers_file is written, when --server-key pins a
 * key, before the drop), exec, create threads or processes, make sockets but for the ioctls',
 * change routes (the helper does, in its own table), unlink (the control socket's file stays
 * behind as an unprivileged user may not remove it from /run; the next start replaces it, and
 * `vpn-client status` meanwhile says no client is running).
 *
 * The table follows STYLE.md and enclave/sandbox.c: the architecture check (libseccomp adds
 * it), the syscalls denied with an errno, then the allowed ones in alphabetical order with
 * argument checks where they matter (one line per permitted value), then the default action,
 * kill. Names absent on an architecture (the 32-bit ARM variants such as mmap2,
 * futex_time64, clock_gettime64, ppoll_time64, recvmmsg_time64 on x86-64) are skipped.
 *
 * What is not here, on purpose: name resolution (getaddrinfo would need files, sockets of
 * its own and the parsing of whatever the network answers, in the process that holds the
 * session keys); the helper's unprivileged lookup child does it (resolver.h). Tools such as
 * ip, nft or resolvectl: a filter and NO_NEW_PRIVS are inherited across execve, so they
 * cannot be exec'd from this loop, and clone/execve must not be added here; the helper,
 * forked before the drop, runs them. */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vpn/seccomp_filter.h"
#include "vpn/client_config.h"

struct rule {
    const char *name;
    enum { RULE_ALLOW, RULE_ALLOW_IF, RULE_DENY } action;
    unsigned arg;       /* RULE_ALLOW_IF: (argument arg & mask) == value */
    uint64_t mask;
    uint64_t value;     /* RULE_DENY: the errno */
};
#define ALLOW(name) { name, RULE_ALLOW, 0, 0, 0 }
#define ALLOW_ARG(name, arg, value) { name, RULE_ALLOW_IF, arg, ~0ULL, value }
#define ALLOW_NO_EXEC(name) { name, RULE_ALLOW_IF, 2, PROT_EXEC, 0 }   /* prot: no PROT_EXEC */
#define DENY(name, err) { name, RULE_DENY, 0, 0, err }

static const struct rule LOOP_RULES[] = {
    /* Denied with an errno. tun_configure switches IPv6 off through /proc on every address
     * change; the client did that at set-up already, and the call is best effort. */
    DENY("open", EACCES),
    DENY("openat", EACCES),
    /* Allowed. */
    ALLOW("accept4"),               /* control socket */
    ALLOW("brk"),
    ALLOW("clock_gettime"),
    ALLOW("clock_gettime64"),
    ALLOW("close"),
    ALLOW("connect"),               /* the UDP socket to a new address of the server */
    ALLOW("dup3"),                  /* ... of the other family, under the same number */
    ALLOW("epoll_ctl"),             /* pausing and moving the UDP socket's watch (fd_watch.h) */
    ALLOW("exit"),
    ALLOW("exit_group"),
    ALLOW("futex"),                 /* joining the TUN thread, libc locks */
    ALLOW("futex_time64"),
    ALLOW("getpid"),                /* abort() */
    ALLOW("getrandom"),             /* ephemeral keys, backoff jitter */
    ALLOW("gettid"),
    ALLOW("gettimeofday"),
    ALLOW_ARG("ioctl", 1, SIOCGIFFLAGS),    /* tun_configure: */
    ALLOW_ARG("ioctl", 1, SIOCSIFADDR),
    ALLOW_ARG("ioctl", 1, SIOCSIFFLAGS),
    ALLOW_ARG("ioctl", 1, SIOCSIFMTU),
    ALLOW_ARG("ioctl", 1, SIOCSIFNETMASK),
    ALLOW("madvise"),
    ALLOW_NO_EXEC("mmap"),
    ALLOW_NO_EXEC("mmap2"),
    ALLOW_NO_EXEC("mprotect"),
    ALLOW("mremap"),
    ALLOW("munmap"),
    ALLOW("poll"),
    ALLOW("ppoll"),
    ALLOW("ppoll_time64"),
    ALLOW("read"),                  /* TUN, signalfd, control socket */
    ALLOW("recv"),                  /* the helper's answers (32-bit ARM has recv of its own) */
    ALLOW("recvfrom"),
    ALLOW("recvmmsg"),
    ALLOW("recvmmsg_time64"),
    ALLOW("restart_syscall"),
    ALLOW("rt_sigprocmask"),
    ALLOW("rt_sigreturn"),
    ALLOW("sched_yield"),           /* TUN thread, waiting for a reply (reply_wait.h) */
    ALLOW("send"),                  /* 32-bit ARM has send of its own */
    ALLOW("sendmmsg"),              /* TUN thread, UDP GSO (a cmsg, no setsockopt) */
    ALLOW("sendto"),
    ALLOW("sigreturn"),
    ALLOW_ARG("socket", 0, AF_INET),    /* the ioctls' socket */
    ALLOW("tgkill"),                /* abort() */
    ALLOW("write"),                 /* TUN, eventfd, control socket, log */
    ALLOW("writev"),                /* TUN with a virtio-net header */
};

static int add_rules(scmp_filter_ctx ctx, const struct rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_filter_syscall(rules[i].name);
        if (nr < 0)
            continue;   /* not a syscall of this architecture */
        int rc;
        switch (rules[i].action) {
        case RULE_ALLOW_IF:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                  SCMP_CMP(rules[i].arg, SCMP_CMP_MASKED_EQ, rules[i].mask,
                                           rules[i].value));
            break;
        case RULE_DENY:
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)rules[i].value), nr, 0);
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

int sandbox_install_filter(pid_t helper)
{
    scmp_filter_ctx ctx = SECCOMP_FILTER_NEW();
    if (!ctx)
        return -ENOMEM;
    /* Both threads: the TUN thread was started before the filter (creating it needs clone,
     * which the loop never needs again). */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0)
        rc = add_rules(ctx, LOOP_RULES, sizeof(LOOP_RULES) / sizeof(LOOP_RULES[0]));
    /* Reaping the helper at exit, and no other process. */
    const struct rule wait_helper[] = { ALLOW_ARG("wait4", 0, (uint64_t)(uint32_t)helper) };
    if (rc == 0 && helper > 0)
        rc = add_rules(ctx, wait_helper, 1);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc;
}

/* The bounding set loses everything but CAP_NET_ADMIN. Dropping needs CAP_SETPCAP: without
 * root (file capabilities) the set stays as the administrator gave it. */
static int drop_bounding_set(bool root)
{
    int last = (int)cap_max_bits() - 1;
    for (int cap = 0; cap <= last; cap++) {
        if (cap == CAP_NET_ADMIN)
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL &&
            (root || errno != EPERM))
            return -errno;
    }
    return 0;
}

/* Leaves root for cfg's uid and gid, keeping the permitted capabilities across the change
 * (PR_SET_KEEPCAPS) so that CAP_NET_ADMIN can be made effective again afterwards. */
static int switch_user(const struct client_config *cfg)
{
    gid_t gid = cfg->gid;
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(1, &gid) != 0 ||
        setresgid(gid, gid, gid) != 0 || setresuid(cfg->uid, cfg->uid, cfg->uid) != 0)
        return -errno;
    return prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 ? -errno : 0;
}

/* Permitted and effective: CAP_NET_ADMIN (when we had it); inheritable: nothing. */
static int keep_net_admin(void)
{
    cap_t now = cap_get_proc(), keep = cap_init();
    cap_flag_value_t had = CAP_CLEAR;
    static const cap_value_t NET_ADMIN[] = { CAP_NET_ADMIN };
    int rc = -ENOMEM;
    if (now && keep && cap_get_flag(now, CAP_NET_ADMIN, CAP_PERMITTED, &had) == 0) {
        rc = 0;
        if (had == CAP_SET &&
            (cap_set_flag(keep, CAP_PERMITTED, 1, NET_ADMIN, CAP_SET) != 0 ||
             cap_set_flag(keep, CAP_EFFECTIVE, 1, NET_ADMIN, CAP_SET) != 0))
            rc = -errno;
        if (rc == 0 && cap_set_proc(keep) != 0)
            rc = -errno;
    }
    if (now)
        cap_free(now);
    if (keep)
        cap_free(keep);
    return rc;
}

int sandbox_drop_privileges(const struct client_config *cfg, char *why, size_t why_len)
{
    bool root = geteuid() == 0;
    int rc = drop_bounding_set(root);
    if (rc < 0) {
        snprintf(why, why_len, "bounding set: %s", strerror(-rc));
        return -1;
    }
    if (root && cfg->uid != 0 && (rc = switch_user(cfg)) < 0) {
        snprintf(why, why_len, "switching to user %s (uid %u): %s", cfg->user,
                 (unsigned)cfg->uid, strerror(-rc));
        return -1;
    }
    if ((rc = keep_net_admin()) < 0) {
        snprintf(why, why_len, "capabilities: %s", strerror(-rc));
        return -1;
    }
    /* Ambient capabilities would survive an execve; the client execs nothing (see the top
     * of this file), so none is kept. EINVAL: a kernel without ambient capabilities. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        snprintf(why, why_len, "ambient capabilities: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(why, why_len, "no_new_privs: %s", strerror(errno));
        return -1;
    }
    /* After the uid change, which sets it from fs.suid_dumpable: no core dump with the token
     * or session keys, and no ptrace or /proc/<pid>/mem by other processes of the same
     * (possibly shared: nobody) user. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        snprintf(why, why_len, "dumpable: %s", strerror(errno));
        return -1;
    }
    return 0;
}
