/* Per-class tc statistics read straight from the kernel over rtnetlink (RTM_GETTCLASS dump),
 * the way `tc -s class show` gets them: no process is forked, so the status tool, served by
 * the control thread that also finishes handshakes, costs a fraction of a millisecond. */
#include "vpn/qos.h"

#include <errno.h>
#include <linux/gen_stats.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { NL_BUF = 32768, NL_TIMEOUT_MS = 500 };

/* Walks the attributes nested in [p, p+len), calling fn for each. */
static void for_each_attr(const uint8_t *p, size_t len,
                          void (*fn)(const struct rtattr *a, void *ctx), void *ctx)
{
    const struct rtattr *a = (const struct rtattr *)p;
    size_t left = len;
    while (RTA_OK(a, left)) {
        fn(a, ctx);
        a = RTA_NEXT(a, left);
    }
}

static void stats2_attr(const struct rtattr *a, void *ctx)
{
    struct qos_class_stats *st = ctx;
    const void *d = RTA_DATA(a);
    size_t n = RTA_PAYLOAD(a);
    switch (a->rta_type) {
    case TCA_STATS_BASIC:
        if (n >= sizeof(struct gnet_stats_basic)) {
            struct gnet_stats_basic b;
            memcpy(&b, d, sizeof(b));
            st->bytes = b.bytes;
            if (!st->packets)
                st->packets = b.packets;
        }
        break;
    case TCA_STATS_PKT64:
        if (n >= sizeof(uint64_t))
            memcpy(&st->packets, d, sizeof(uint64_t));
        break;
    case TCA_STATS_RATE_EST64:
        if (n >= sizeof(struct gnet_stats_rate_est64)) {
            struct gnet_stats_rate_est64 r;
            memcpy(&r, d, sizeof(r));
            st->rate_bps = r.bps * 8;       /* the kernel counts bytes per second */
        }
        break;
    case TCA_STATS_RATE_EST:
        if (n >= sizeof(struct gnet_stats_rate_est) && !st->rate_bps) {
            struct gnet_stats_rate_est r;
            memcpy(&r, d, sizeof(r));
            st->rate_bps = (uint64_t)r.bps * 8;
        }
        break;
    case TCA_STATS_QUEUE:
        if (n >= sizeof(struct gnet_stats_queue)) {
            struct gnet_stats_queue q;
            memcpy(&q, d, sizeof(q));
            st->drops = q.drops;
        }
        break;
    }
}

struct class_msg {
    bool htb;
    const struct rtattr *stats2;
};

static void class_attr(const struct rtattr *a, void *ctx)
{
    struct class_msg *c = ctx;
    if (a->rta_type == TCA_KIND)
        c->htb = RTA_PAYLOAD(a) >= 4 && memcmp(RTA_DATA(a), "htb", 4) == 0;
    else if (a->rta_type == TCA_STATS2)
        c->stats2 = a;
}

int qos_read_stats(const char *ifname, struct qos_class_stats *out, int max)
{
    unsigned ifindex = if_nametoindex(ifname);
    if (!ifindex)
        return -1;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -1;
    struct timeval tv = { 0, NL_TIMEOUT_MS * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct {
        struct nlmsghdr h;
        struct tcmsg t;
    } req;
    memset(&req, 0, sizeof(req));
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.t));
    req.h.nlmsg_type = RTM_GETTCLASS;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = 1;
    req.t.tcm_family = AF_UNSPEC;
    req.t.tcm_ifindex = (int)ifindex;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        close(fd);
        return -1;
    }
    uint8_t buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    int n = 0;
    for (;;) {
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got <= 0) {
            close(fd);
            return -1;
        }
        size_t left = (size_t)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                close(fd);
                return n;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                close(fd);
                return -1;
            }
            if (h->nlmsg_type != RTM_NEWTCLASS || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
                continue;
            const struct tcmsg *t = NLMSG_DATA(h);
            struct class_msg c = { 0 };
            for_each_attr((const uint8_t *)t + NLMSG_ALIGN(sizeof(*t)),
                          h->nlmsg_len - NLMSG_LENGTH(sizeof(*t)), class_attr, &c);
            if (!c.htb || (unsigned)t->tcm_ifindex != ifindex || n >= max)
                continue;
            struct qos_class_stats *st = &out[n++];
            memset(st, 0, sizeof(*st));
            st->major = (uint16_t)(t->tcm_handle >> 16);
            st->minor = (uint16_t)t->tcm_handle;
            if (c.stats2)
                for_each_attr(RTA_DATA(c.stats2), RTA_PAYLOAD(c.stats2), stats2_attr, st);
        }
    }
}
