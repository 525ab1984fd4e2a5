/* The client's privileged helper: a small process forked before the sandbox that keeps root
 * (and only CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETUID and CAP_SETGID in its bounding set) to do
 * what the sandboxed client may not: run ip, nft, iptables, resolvectl and resolvconf (an
 * exec from the sandbox would inherit its seccomp filter and no_new_privs), edit resolv.conf,
 * and start the unprivileged name lookups (resolver.h). As OpenSSH's monitor serves its
 * sandboxed child, it serves the client over a SOCK_SEQPACKET socketpair, one fixed-size
 * request at a time, and does nothing it is not asked but clean up:
 *
 *   at start   it removes what an earlier client of the same TUN and routing table left
 *              after a crash (routes.h, dns_apply.h, killswitch.h), arms the kill switch when
 *              configured, and says HELLO (or why it could not: the client then exits);
 *   RESOLVE    looks up [client] server_ip (its own copy of the configuration: the client
 *              cannot make it look up anything else), then points the throw route and the
 *              kill switch at the new address before it answers with it;
 *   APPLY      routes and resolvers of a new session: at most ROUTES_MAX networks, at most
 *              3 resolvers that pass dns_server_check and a search list that passes
 *              dns_search_check, nothing else; the TUN and the routing table are fixed at
 *              start, not in the request;
 *   RESTORE    everything back as it was (routes, resolvers, kill switch), then it exits;
 *   end of the socket (the client died, even by SIGKILL): routes and resolvers back; the
 *              kill switch stays armed (fail closed) until the next start.
 * A request of the wrong size, an unknown op or a value outside those rules is a client
 * gone wrong: the helper restores as at the end of the socket and exits, and the client, which
 * cannot route without it, exits too.
 *
 * Why not do these before the sandbox: routes and resolvers come from the server after the
 * handshake, they change with every reconnect, and a lookup happens on every reconnect. */
#ifndef CLIENT_HELPER_H
#define CLIENT_HELPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "resolver.h"
#include "routes.h"
#include "vpn/client_config.h"
#include "vpn/limits.h"
#include "vpn/netaddr.h"

enum helper_op {
    HELPER_HELLO = 1,   /* reply only: the helper is ready (status 0) or why not */
    HELPER_RESOLVE,
    HELPER_APPLY,
    HELPER_RESTORE,
};

struct helper_request {
    uint32_t op;
    /* APPLY */
    uint32_t n_routes;                      /* 0..ROUTES_MAX */
    struct ipv4_net routes[ROUTES_MAX];
    uint32_t n_dns;                         /* 0..DNS_SERVERS_MAX */
    uint32_t dns[DNS_SERVERS_MAX];
    char dns_search[DNS_SEARCH_MAX + 1];    /* NUL-terminated; "" for none */
};

struct helper_reply {
    uint32_t op;                            /* what it answers */
    int32_t status;                         /* 0, or -1: why says what failed */
    struct resolver_result lookup;          /* RESOLVE: the address, or why not */
    char why[256];
};

/* The client's end. */
struct helper_link {
    int fd;                                 /* -1: no helper */
    pid_t pid;
};

/* The helper's check of an APPLY request (pure; the helper runs it on every one): NULL when
 * every value is within the rules of helper.h (route prefixes are masked to their network on
 * the way), else what is wrong. */
const char *helper_check_apply(struct helper_request *q);

/* Forks the helper for TUN tun and cfg; the child closes the descriptors in close_fds (the
 * TUN, signalfd: nothing of the data path may outlive the client in it) and runs
 * helper_main. Waits for its HELLO. Returns 0, or -1 with why. */
int helper_start(struct helper_link *h, struct client_config *cfg, const char *tun,
                 const int *close_fds, int n_close, char *why, size_t why_len);

/* Sends one request (never blocks: the socket holds many). Returns 0 or -errno. */
int helper_send(struct helper_link *h, const struct helper_request *req);

/* One reply, if one is there. Returns 0 (rep filled), -EAGAIN (none yet), or -EPIPE (the
 * helper is gone, or sent something malformed). */
int helper_recv(struct helper_link *h, struct helper_reply *rep);

/* RESTORE, and waits up to timeout_ms for its answer (replies to other requests still on the
 * way are read and dropped). Returns 0, or -1 when the helper did not confirm. */
int helper_restore(struct helper_link *h, int timeout_ms);

#endif
