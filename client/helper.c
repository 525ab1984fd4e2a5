/* The privileged helper process (see helper.h): start-up, its loop, and the check of every
 * request before it is carried out. */
#include "helper.h"

#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_apply.h"
#include "killswitch.h"
#include "vpn/proto.h"
#include "vpn/dns.h"
#include "vpn/log.h"

struct helper {
    const struct client_config *cfg;
    int fd;
    struct routes routes;
    struct dns_state dns;
    struct killswitch ks;
    bool have_endpoint;
    struct sockaddr_storage endpoint;
    struct lookup lookup;           /* pid 0: none running */
    uint64_t lookup_deadline_ms;
};

static void reply(struct helper *s, uint32_t op, int status, const char *why,
                  const struct resolver_result *r)
{
    struct helper_reply rep;
    memset(&rep, 0, sizeof(rep));
    rep.op = op;
    rep.status = status;
    if (why)
        snprintf(rep.why, sizeof(rep.why), "%s", why);
    if (r)
        rep.lookup = *r;
    (void)!send(s->fd, &rep, sizeof(rep), MSG_NOSIGNAL);
}

/* What the helper keeps of root: the bounding set narrowed to what ip, nft, iptables and the
 * lookup child's user switch need (an exec'd tool of root gets no more than this), no new
 * privileges by exec, no core dump or ptrace by the client's user. */
static void narrow_privileges(void)
{
    static const int KEEP[] = { CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETUID, CAP_SETGID };
    int last = (int)cap_max_bits() - 1;
    for (int cap = 0; cap <= last; cap++) {
        bool keep = false;
        for (size_t i = 0; i < sizeof(KEEP) / sizeof(KEEP[0]); i++)
            keep |= KEEP[i] == cap;
        if (!keep)
            (void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    }
    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Routes and resolvers back; the kill switch only when asked (a clean exit). */
static void restore(struct helper *s, bool kill_switch_too)
{
    resolver_cancel(&s->lookup);
    routes_clear(&s->routes);
    dns_restore(&s->dns);
    if (kill_switch_too)
        ks_disarm(&s->ks);
    else if (s->ks.armed != KS_NONE)
        log_warn("vpn-client ended without a clean exit: the kill switch stays armed (nothing "
                 "leaves the machine but to %s) until vpn-client starts again",
                 s->routes.tun);
}

__attribute__((noreturn))
static void fatal(struct helper *s, const char *why)
{
    log_error("vpn-client's helper: %s; restoring routes and resolvers and leaving", why);
    restore(s, false);
    _exit(1);
}

/* The endpoint's IPv4 address in host order, if it has one (v4-mapped included). */
static bool endpoint_v4(const struct sockaddr_storage *ss, uint32_t *addr)
{
    if (ss->ss_family == AF_INET) {
        *addr = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
        return true;
    }
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
    if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
        memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
        *addr = ntohl(*addr);
        return true;
    }
    return false;
}

static const struct sockaddr *endpoint_or_null(const struct helper *s)
{
    return s->have_endpoint ? (const struct sockaddr *)&s->endpoint : NULL;
}

/* A lookup's answer: the exceptions move to the new address before the client hears it. */
static void lookup_done(struct helper *s, struct resolver_result *r)
{
    char why[256] = "";
    int status = r->status == 0 ? 0 : -1;
    if (status == 0) {
        uint32_t v4 = 0;
        bool is_v4 = endpoint_v4(&r->addr, &v4);
        if (routes_set_endpoint(&s->routes, is_v4, v4, why, sizeof(why)) != 0) {
            log_error("Cannot route the server's address around the tunnel: %s", why);
            status = -1;
        } else {
            s->endpoint = r->addr;
            s->have_endpoint = true;
        }
    }
    /* The lookup's DNS exception ends either way. */
    if (s->ks.armed != KS_NONE &&
        ks_arm(&s->ks, endpoint_or_null(s), false, why, sizeof(why)) != 0) {
        log_error("Cannot update the kill switch: %s", why);
        status = -1;
    }
    if (status != 0 && r->status == 0) {
        r->status = -1;
        snprintf(r->why, sizeof(r->why), "%.*s", (int)sizeof(r->why) - 1, why);
    }
    reply(s, HELPER_RESOLVE, status, status ? r->why : NULL, r);
}

static void on_resolve(struct helper *s)
{
    struct resolver_result r;
    char why[256];
    if (s->lookup.pid > 0) {
        reply(s, HELPER_RESOLVE, -1, "a lookup is running already", NULL);
        return;
    }
    if (resolver_numeric(s->cfg->server_ip, s->cfg->server_port, &r)) {
        lookup_done(s, &r);
        return;
    }
    if (s->ks.armed != KS_NONE &&
        ks_arm(&s->ks, endpoint_or_null(s), true, why, sizeof(why)) != 0)
        log_warn("Cannot let DNS through the kill switch for the lookup: %s", why);
    if (resolver_start(s->cfg, &s->lookup, &r) != 0) {
        lookup_done(s, &r);
        return;
    }
    s->lookup_deadline_ms = clock_monotonic_ms() + RESOLVER_TIMEOUT_MS;
}

const char *helper_check_apply(struct helper_request *q)
{
    if (q->n_routes > ROUTES_MAX)
        return "too many routes";
    for (uint32_t i = 0; i < q->n_routes; i++) {
        if (q->routes[i].prefix > 32)
            return "a route prefix over 32";
        q->routes[i].addr &= ipv4_mask(q->routes[i].prefix);
    }
    if (q->n_dns > DNS_SERVERS_MAX)
        return "too many resolvers";
    for (uint32_t i = 0; i < q->n_dns; i++)
        if (dns_server_check(q->dns[i]))
            return "a resolver address outside the rule";
    size_t slen = strnlen(q->dns_search, sizeof(q->dns_search));
    if (slen == sizeof(q->dns_search))
        return "a search list without its end";
    if (slen && dns_search_check(q->dns_search, slen))
        return "a search list outside the rule";
    return NULL;
}

static void on_apply(struct helper *s, struct helper_request *q)
{
    char why[520] = "", dns_why[256] = "";    /* why: both reasons */
    const char *bad = helper_check_apply(q);
    if (bad)
        fatal(s, bad);
    int status = routes_apply(&s->routes, q->routes, (int)q->n_routes, why, sizeof(why));
    bool all = false;
    for (uint32_t i = 0; i < q->n_routes; i++)
        all |= q->routes[i].prefix == 0;
    bool want_dns = s->cfg->pull_dns && (q->n_dns > 0 || q->dns_search[0]);
    if (want_dns && dns_apply(&s->dns, q->dns, (int)q->n_dns, q->dns_search, all, dns_why,
                              sizeof(dns_why)) != 0)
        status = -1;
    else if (!want_dns)
        dns_restore(&s->dns);
    /* Both can have failed: one line with both reasons (cut to the reply's size). */
    if (dns_why[0]) {
        size_t n = strlen(why);
        snprintf(why + n, sizeof(why) - n, "%s%.*s", n ? "; " : "", (int)sizeof(dns_why) - 1,
                 dns_why);
    }
    reply(s, HELPER_APPLY, status ? -1 : 0, why, NULL);
}

static void on_request(struct helper *s)
{
    struct helper_request q;
    ssize_t n = recv(s->fd, &q, sizeof(q), MSG_TRUNC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        /* The client is gone, whatever the way. */
        restore(s, false);
        _exit(0);
    }
    if (n != (ssize_t)sizeof(q))
        fatal(s, "a request of the wrong size");
    switch (q.op) {
    case HELPER_RESOLVE:
        on_resolve(s);
        break;
    case HELPER_APPLY:
        on_apply(s, &q);
        break;
    case HELPER_RESTORE:
        restore(s, true);
        reply(s, HELPER_RESTORE, 0, NULL, NULL);
        _exit(0);
    default:
        fatal(s, "an unknown request");
    }
}

/* Leftovers of a client of this TUN and table that did not exit cleanly. */
static void reset(struct helper *s)
{
    int routes = routes_reset(&s->routes);
    int dns = dns_reset(&s->dns);
    int ks = ks_reset(&s->ks);
    if (routes || dns || ks)
        log_warn("Removed what an earlier vpn-client of %s left behind:%s%s%s",
                 s->routes.tun, routes ? " routes" : "", dns ? " resolv.conf" : "",
                 ks ? " kill switch" : "");
}

__attribute__((noreturn))
static void helper_main(const struct client_config *cfg, const char *tun, int fd)
{
    static struct helper s;
    char why[256];
    s.cfg = cfg;
    s.fd = fd;
    s.lookup.fd = -1;
    routes_init(&s.routes, tun, cfg->route_table);
    dns_init(&s.dns, tun, cfg->state_dir);
    ks_init(&s.ks, tun);
    narrow_privileges();
    reset(&s);
    if (cfg->kill_switch && ks_arm(&s.ks, NULL, false, why, sizeof(why)) != 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "cannot arm the kill switch: %s", why);
        reply(&s, HELPER_HELLO, -1, msg, NULL);
        _exit(1);
    }
    reply(&s, HELPER_HELLO, 0, NULL, NULL);
    for (;;) {
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
                               { .fd = s.lookup.pid > 0 ? s.lookup.fd : -1, .events = POLLIN } };
        int timeout = -1;
        if (s.lookup.pid > 0) {
            uint64_t now = clock_monotonic_ms();
            timeout = now >= s.lookup_deadline_ms ? 0 : (int)(s.lookup_deadline_ms - now);
        }
        int n = poll(p, 2, timeout);
        if (n < 0 && errno != EINTR)
            fatal(&s, "poll failed");
        if (s.lookup.pid > 0 && (p[1].revents || clock_monotonic_ms() >= s.lookup_deadline_ms)) {
            struct resolver_result r;
            if (p[1].revents) {
                resolver_finish(&s.lookup, &r);
            } else {
                resolver_cancel(&s.lookup);
                memset(&r, 0, sizeof(r));
                r.status = -1;
                snprintf(r.why, sizeof(r.why), "no answer within %d s",
                         RESOLVER_TIMEOUT_MS / 1000);
            }
            lookup_done(&s, &r);
        }
        if (p[0].revents)
            on_request(&s);
    }
}

int helper_start(struct helper_link *h, struct client_config *cfg, const char *tun,
                 const int *close_fds, int n_close, char *why, size_t why_len)
{
    int sv[2];
    h->fd = -1;
    h->pid = 0;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(why, why_len, "socketpair: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_len, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        /* Nothing of the client's secrets or data path in here: the token erased, the TUN
         * and the signalfd closed (the TUN must vanish when the client dies). */
        sodium_memzero(cfg->auth_token, sizeof(cfg->auth_token));
        for (int i = 0; i < n_close; i++)
            if (close_fds[i] >= 0)
                close(close_fds[i]);
        close(sv[0]);
        helper_main(cfg, tun, sv[1]);
    }
    close(sv[1]);
    h->fd = sv[0];
    h->pid = pid;
    struct helper_reply rep;
    struct pollfd p = { .fd = h->fd, .events = POLLIN };
    /* The reset and the kill switch run tools: seconds at most, unless the machine hangs. */
    if (poll(&p, 1, 30000) != 1 || recv(h->fd, &rep, sizeof(rep), 0) != (ssize_t)sizeof(rep) ||
        rep.op != HELPER_HELLO) {
        snprintf(why, why_len, "the helper did not start");
        return -1;
    }
    if (rep.status != 0) {
        rep.why[sizeof(rep.why) - 1] = '\0';
        snprintf(why, why_len, "%s", rep.why);
        return -1;
    }
    return 0;
}
