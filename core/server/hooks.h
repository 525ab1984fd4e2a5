/* Operators' commands on connect and disconnect ([hooks] on_connect, on_disconnect): run by
 * the control thread through /bin/sh -c, never waited for (the control thread reaps them at
 * its sweeps and kills one that outlives [hooks] timeout, with its process group), as the
 * server's user with no capabilities and no way to gain any (run.h, unprivileged): never as
 * root unless the server itself stays root (user = root). Their environment:
 *
 *   VPN_EVENT     connect | disconnect
 *   VPN_USER      the user name
 *   VPN_ADDRESS   the session's tunnel address
 *   VPN_ENDPOINT  the client's address and port
 *   VPN_SESSION   the session id (hex)
 *   VPN_RX_BYTES  bytes from the client so far (disconnect: in all), VPN_TX_BYTES to it
 *   VPN_REASON    disconnect: why it ended ("idle timeout", "data quota reached", ...)
 *   PATH          /usr/sbin:/sbin:/usr/bin:/bin */
#ifndef SERVER_HOOKS_H
#define SERVER_HOOKS_H

#include <stdint.h>
#include <sys/types.h>

struct control;
struct session;

enum { HOOKS_RUNNING_MAX = 32 };

struct hook_run {
    pid_t pid;                  /* 0: free */
    uint64_t deadline_ms;       /* monotonic */
};

struct hooks {
    struct hook_run runs[HOOKS_RUNNING_MAX];
    uint64_t started, skipped, timed_out, failed;
};

/* A current session began (not a rekey) or ended (not replaced by a rekey). why: NULL for a
 * connect. */
void hooks_session(struct control *c, const struct session *s, const char *why);
/* Reaps finished hooks, kills the overdue. */
void hooks_tick(struct control *c, uint64_t now_ms);
/* At exit: up to two seconds to finish, then SIGTERM, then SIGKILL, a second each. */
void hooks_stop(struct control *c);

#endif
