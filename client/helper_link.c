/* The client's end of the helper's socket (see helper.h): sandboxed, so only send, recv and
 * poll on the one descriptor it already has. */
#include "helper.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "vpn/proto.h"

int helper_send(struct helper_link *h, const struct helper_request *req)
{
    if (h->fd < 0)
        return -EPIPE;
    return send(h->fd, req, sizeof(*req), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(*req)
               ? 0
               : -errno;
}

int helper_recv(struct helper_link *h, struct helper_reply *rep)
{
    if (h->fd < 0)
        return -EPIPE;
    ssize_t n = recv(h->fd, rep, sizeof(*rep), MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -EAGAIN;
    if (n != (ssize_t)sizeof(*rep))
        return -EPIPE;
    rep->why[sizeof(rep->why) - 1] = '\0';
    rep->lookup.why[sizeof(rep->lookup.why) - 1] = '\0';
    return 0;
}

int helper_restore(struct helper_link *h, int timeout_ms)
{
    struct helper_request req;
    memset(&req, 0, sizeof(req));
    req.op = HELPER_RESTORE;
    if (helper_send(h, &req) != 0)
        return -1;
    uint64_t end = clock_monotonic_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = clock_monotonic_ms();
        struct pollfd p = { .fd = h->fd, .events = POLLIN };
        if (now >= end || poll(&p, 1, (int)(end - now)) < 0)
            return -1;
        struct helper_reply rep;
        int rc = helper_recv(h, &rep);
        if (rc == -EPIPE)
            return -1;
        if (rc == 0 && rep.op == HELPER_RESTORE)
            return rep.status == 0 ? 0 : -1;
    }
}
