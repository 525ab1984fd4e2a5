/* UDP GSO batching (see udp_batch.h). The kernel cuts a GSO message's payload (the
 * concatenation of its iovecs) into datagrams of gso_size bytes, the last one possibly
 * shorter, so a run is cut where the destination or the size changes, after a short
 * datagram, or at the kernel's limits on segments and bytes. */
#include "vpn/udp_batch.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

void udp_batch_init(struct udp_batch *b, int fd, bool connected, socklen_t peer_len)
{
    memset(b, 0, sizeof(*b));
    b->fd = fd;
    b->gso = true;
    b->connected = connected;
    b->peer_len = peer_len;
}

static bool same_peer(const struct udp_batch *b, unsigned i, unsigned j)
{
    return b->connected || memcmp(b->peer[i], b->peer[j], b->peer_len) == 0;
}

struct gso_msgs {
    struct mmsghdr m[UDP_BATCH_MAX];
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl[UDP_BATCH_MAX];
    unsigned count[UDP_BATCH_MAX];  /* datagrams in each message */
};

static unsigned send_all(struct udp_batch *b, struct mmsghdr *m, unsigned n_msgs,
                         const unsigned *count)
{
    unsigned refused = 0, sent = 0;
    while (sent < n_msgs) {
        int k = sendmmsg(b->fd, m + sent, n_msgs - sent, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (b->gso && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT) &&
                m[sent].msg_hdr.msg_controllen)
                return UDP_BATCH_MAX + 1;   /* GSO refused: caller resends plainly */
            refused += count ? count[sent] : 1;
            sent++;
            continue;
        }
        sent += (unsigned)k;
    }
    return refused;
}

static unsigned flush_plain(struct udp_batch *b)
{
    struct mmsghdr m[UDP_BATCH_MAX];
    for (unsigned i = 0; i < b->n; i++) {
        memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
        m[i].msg_hdr.msg_iov = &b->iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
        if (!b->connected) {
            m[i].msg_hdr.msg_name = (void *)b->peer[i];
            m[i].msg_hdr.msg_namelen = b->peer_len;
        }
    }
    return send_all(b, m, b->n, NULL);
}

unsigned udp_batch_flush(struct udp_batch *b)
{
    if (!b->n)
        return 0;
    unsigned refused;
    if (!b->gso) {
        refused = flush_plain(b);
        b->n = 0;
        return refused;
    }
    static __thread struct gso_msgs g;
    unsigned n_msgs = 0;
    for (unsigned i = 0; i < b->n;) {
        size_t seg = b->iov[i].iov_len, total = seg;
        unsigned j = i + 1;
        while (j < b->n && j - i < UDP_GSO_MAX_SEGMENTS && same_peer(b, i, j) &&
               b->iov[j].iov_len <= seg && total + b->iov[j].iov_len <= UDP_GSO_MAX_BYTES) {
            total += b->iov[j].iov_len;
            j++;
            if (b->iov[j - 1].iov_len < seg)
                break;      /* a short datagram ends the run */
        }
        struct msghdr *h = &g.m[n_msgs].msg_hdr;
        memset(h, 0, sizeof(*h));
        h->msg_iov = &b->iov[i];
        h->msg_iovlen = j - i;
        if (!b->connected) {
            h->msg_name = (void *)b->peer[i];
            h->msg_namelen = b->peer_len;
        }
        if (j - i > 1) {
            h->msg_control = g.ctl[n_msgs].buf;
            h->msg_controllen = sizeof(g.ctl[n_msgs].buf);
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t s16 = (uint16_t)seg;
            memcpy(CMSG_DATA(c), &s16, sizeof(s16));
        }
        g.count[n_msgs] = j - i;
        n_msgs++;
        i = j;
    }
    refused = send_all(b, g.m, n_msgs, g.count);
    if (refused == UDP_BATCH_MAX + 1) {
        /* Not supported here (old kernel, a device without checksum offload): plain. */
        b->gso = false;
        refused = flush_plain(b);
    }
    b->n = 0;
    return refused;
}

void udp_batch_add(struct udp_batch *b, const void *data, size_t len, const void *peer)
{
    if (b->n == UDP_BATCH_MAX)
        udp_batch_flush(b);
    b->iov[b->n].iov_base = (void *)data;
    b->iov[b->n].iov_len = len;
    b->peer[b->n] = peer;
    b->n++;
}
