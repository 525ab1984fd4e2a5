/* The path to the server's current address (see underlay.h). */
#include "underlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vpn/fd_watch.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"

static int make_socket(int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int buf = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    return fd;
}

int underlay_open(struct client *c)
{
    c->sock4 = make_socket(AF_INET);
    c->sock6 = make_socket(AF_INET6);   /* -1 on a kernel without IPv6: IPv4 servers only */
    c->udp_family = AF_UNSPEC;
    if (c->sock4 < 0)
        return -1;
    c->udp_fd = fcntl(c->sock4, F_DUPFD_CLOEXEC, 0);
    if (c->udp_fd < 0)
        return -1;
    /* The watch holds the family's own descriptor, not udp_fd: dup3 below replaces what
     * udp_fd is, which an epoll entry keyed by udp_fd would not follow. */
    c->udp_watched = c->sock4;
    c->udp_watch = fd_watch_open(c->sock4);
    return c->udp_watch < 0 ? -1 : 0;
}

/* udp_fd to addr: the family's socket under udp_fd's number, disconnected, connected. */
static int point(struct client *c, const struct sockaddr *sa, socklen_t len)
{
    int s = sa->sa_family == AF_INET ? c->sock4 : c->sock6;
    if (s < 0) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    if (c->udp_family != sa->sa_family) {
        if (dup3(s, c->udp_fd, O_CLOEXEC) < 0 ||
            fd_watch_move(c->udp_watch, c->udp_watched, s) != 0)
            return -1;
        c->udp_watched = s;
    }
    c->udp_family = sa->sa_family;
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    (void)connect(c->udp_fd, &unspec, sizeof(unspec));
    return connect(c->udp_fd, sa, len);
}

void underlay_want_lookup(struct client *c, uint64_t now_ms)
{
    c->lookup.wanted = true;
    c->lookup.attempt = 0;
    c->lookup.next_ms = now_ms;
}

void underlay_tick(struct client *c, uint64_t now_ms, uint32_t jitter)
{
    if (!c->lookup.wanted || c->lookup.in_flight || now_ms < c->lookup.next_ms)
        return;
    struct helper_request q;
    memset(&q, 0, sizeof(q));
    q.op = HELPER_RESOLVE;
    if (helper_send(&c->helper, &q) == 0) {
        c->lookup.in_flight = true;
        c->lookup.attempt++;
    } else {
        c->lookup.next_ms = now_ms + client_sm_backoff_ms(++c->lookup.attempt, jitter);
    }
}

bool underlay_on_lookup(struct client *c, const struct helper_reply *rep, uint64_t now_ms,
                        uint32_t jitter)
{
    char text[64];
    const struct resolver_result *r = &rep->lookup;
    c->lookup.in_flight = false;
    if (rep->status != 0 || r->status != 0) {
        uint64_t wait = client_sm_backoff_ms(c->lookup.attempt, jitter);
        c->lookup.next_ms = now_ms + wait;
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "Cannot resolve %s: %s; %s, next try in %llu s",
                    c->cfg->server_ip, rep->status ? rep->why : r->why,
                    c->have_server ? "keeping the last address" : "no address yet",
                    (unsigned long long)(wait + 999) / 1000);
        return false;
    }
    c->lookup.wanted = false;
    bool first = !c->have_server;
    bool moved = !first && (c->server_len != r->addr_len ||
                            memcmp(&c->server, &r->addr, r->addr_len) != 0);
    if (point(c, (const struct sockaddr *)&r->addr, (socklen_t)r->addr_len) != 0) {
        log_error("Cannot send to %s: %s", c->server_text, strerror(errno));
        c->lookup.wanted = true;
        c->lookup.next_ms = now_ms + client_sm_backoff_ms(c->lookup.attempt, jitter);
        return false;
    }
    memcpy(&c->server, &r->addr, r->addr_len);
    c->server_len = (socklen_t)r->addr_len;
    c->have_server = true;
    if (first || moved) {
        struct sockaddr_in6 as6;
        if (r->addr.ss_family == AF_INET6) {
            memcpy(&as6, &r->addr, sizeof(as6));
        } else {
            /* format_endpoint speaks v4-mapped */
            const struct sockaddr_in *sin = (const struct sockaddr_in *)&r->addr;
            memset(&as6, 0, sizeof(as6));
            as6.sin6_family = AF_INET6;
            as6.sin6_port = sin->sin_port;
            as6.sin6_addr.s6_addr[10] = as6.sin6_addr.s6_addr[11] = 0xff;
            memcpy(&as6.sin6_addr.s6_addr[12], &sin->sin_addr, 4);
        }
        format_endpoint(&as6, text, sizeof(text));
        if (moved)
            log_warn("%s now resolves to %s: following it", c->cfg->server_ip, text);
        else
            log_debug("%s is %s", c->cfg->server_ip, text);
    }
    return first;
}
