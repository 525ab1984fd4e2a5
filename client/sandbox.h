/* What vpn-client gives up once it is set up (README, "Security model"). Each step is
 * visible from outside in /proc/<pid>/status: Uid/Gid, CapEff/CapPrm/CapBnd/CapAmb,
 * NoNewPrivs, Seccomp (tests/integration/test_client_sandbox.sh).
 *
 * Order in vpn-client (main.c): everything that needs root or a path is done first (server
 * key pinned in known_servers_file, TUN device and its IPv6 switched off, the privileged
 * helper forked (helper.h), UDP sockets, control socket, log file), then
 * sandbox_drop_privileges, then the TUN thread starts, then sandbox_install_filter covers
 * both threads. */
#ifndef CLIENT_SANDBOX_H
#define CLIENT_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

struct client_config;

/* Keeps CAP_NET_ADMIN only (permitted and effective; the bounding set loses every other
 * capability, the inheritable and ambient sets are emptied), switches to cfg->uid/gid
 * ([client] user) unless that is root, then sets PR_SET_NO_NEW_PRIVS and PR_SET_DUMPABLE 0.
 * Started without root (file capabilities), it keeps its uid and only narrows its
 * capabilities. Call it while the process has a single thread: capabilities are per thread,
 * and threads created afterwards inherit the reduced set. Returns 0, or -1 with why. */
int sandbox_drop_privileges(const struct client_config *cfg, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* Installs the client loop's seccomp allowlist on every thread of the process (TSYNC):
 * anything else kills the process (-DSANDBOX_DEBUG: names the call on stderr first). wait4
 * is allowed for the helper's pid only. Returns 0 or -errno. */
int sandbox_install_filter(pid_t helper) __attribute__((warn_unused_result));

#endif
