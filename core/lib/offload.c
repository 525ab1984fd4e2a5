/* TSO in software for packets read from an offloading TUN (see offload.h). The segment
 * headers follow what the kernel's tcp_gso_segment does: the IP header is copied with its
 * total length, id (incremented per segment) and checksum rewritten; the TCP sequence number
 * advances by the MSS; FIN and PSH stay on the last segment only, CWR on the first only; each
 * segment's TCP checksum is computed in full over the pseudo-header (RFC 793, RFC 1071). */
#include "vpn/offload.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "vpn/proto.h"

const uint8_t offload_zero_hdr[VNET_HDR_LEN];

int offload_enable(int tun_fd)
{
    int hdr = VNET_HDR_LEN;
    if (ioctl(tun_fd, TUNSETVNETHDRSZ, &hdr) != 0)
        return -errno;
    if (ioctl(tun_fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN) != 0)
        return -errno;
    return 0;
}

/* RFC 1071 one's-complement sum, eight bytes at a time into a 64-bit accumulator (the
 * profile showed the two-bytes-at-a-time loop at 3 % of all CPU while segmenting). The sum
 * is byte-order independent in the one's-complement sense, so native loads are summed and
 * the result swapped once at the end. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t initial)
{
    uint64_t acc = 0;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        acc += w >> 32;
        acc += w & 0xffffffffu;
        p += 8;
        n -= 8;
    }
    while (n >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        p += 2;
        n -= 2;
    }
    if (n) {
        uint16_t w = 0;
        memcpy(&w, p, 1);
        acc += w;
    }
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    uint16_t native = (uint16_t)acc;
    uint16_t be = (uint16_t)(native >> 8 | native << 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    be = native;
#endif
    return initial + be;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t offload_inet_checksum(const uint8_t *p, size_t n)
{
    return fold(sum16(p, n, 0));
}

static void ip_checksum(uint8_t *ip, size_t ihl)
{
    ip[10] = ip[11] = 0;
    put_be16(ip + 10, fold(sum16(ip, ihl, 0)));
}

/* Full TCP (or UDP) checksum of an IPv4 packet's transport part at offset off. */
static void l4_checksum(uint8_t *pkt, size_t off, size_t len, size_t csum_at)
{
    uint32_t sum = sum16(pkt + 12, 8, 0);       /* source and destination */
    sum += pkt[9];                              /* protocol */
    sum += (uint32_t)(len - off);
    pkt[csum_at] = pkt[csum_at + 1] = 0;
    sum = sum16(pkt + off, len - off, sum);
    uint16_t c = fold(sum);
    if (c == 0 && pkt[9] == 17)
        c = 0xffff;                             /* UDP: zero means "no checksum" */
    put_be16(pkt + csum_at, c);
}

int offload_segments(const uint8_t *buf, size_t len)
{
    struct virtio_net_hdr h;
    if (len < VNET_HDR_LEN + 40)
        return len >= VNET_HDR_LEN + 20 ? 1 : 0;
    memcpy(&h, buf, sizeof(h));
    if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE)
        return 1;
    const uint8_t *pkt = buf + VNET_HDR_LEN;
    size_t ihl = (size_t)(pkt[0] & 15) * 4;
    if (ihl < 20 || len < VNET_HDR_LEN + ihl + 20 || h.gso_size == 0)
        return 0;
    size_t hdrs = ihl + (size_t)(pkt[ihl + 12] >> 4) * 4;
    size_t plen = len - VNET_HDR_LEN;
    if (plen <= hdrs)
        return 0;
    return (int)((plen - hdrs + h.gso_size - 1) / h.gso_size);
}

uint32_t offload_peek_dst(const uint8_t *buf, size_t len)
{
    if (len < VNET_HDR_LEN + 20 || (buf[VNET_HDR_LEN] >> 4) != 4)
        return 0;
    return get_be32(buf + VNET_HDR_LEN + 16);
}

int offload_split(const uint8_t *buf, size_t len, uint16_t mtu, uint8_t *const out[],
                  size_t lens[], int max)
{
    struct virtio_net_hdr h;
    if (len < VNET_HDR_LEN + 20 || max < 1)
        return 0;
    memcpy(&h, buf, sizeof(h));
    const uint8_t *pkt = buf + VNET_HDR_LEN;
    size_t plen = len - VNET_HDR_LEN;
    size_t ihl = (size_t)(pkt[0] & 15) * 4;
    if ((pkt[0] >> 4) != 4 || ihl < 20 || plen < ihl)
        return 0;

    if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
        if (plen > mtu)
            return 0;
        memcpy(out[0], pkt, plen);
        if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            size_t at = (size_t)h.csum_start + h.csum_offset;
            if (h.csum_start < ihl || at + 2 > plen)
                return 0;
            l4_checksum(out[0], h.csum_start, plen, at);
        }
        lens[0] = plen;
        return 1;
    }
    if ((h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_TCPV4 || pkt[9] != 6)
        return 0;
    if (plen < ihl + 20)
        return 0;
    size_t thl = (size_t)(pkt[ihl + 12] >> 4) * 4;
    size_t hdrs = ihl + thl;
    size_t mss = h.gso_size;
    if (thl < 20 || plen < hdrs || mss == 0 || hdrs + mss > mtu)
        return 0;
    size_t payload = plen - hdrs;
    int n = (int)((payload + mss - 1) / mss);
    if (n > max || n == 0)
        return 0;
    uint16_t id = get_be16(pkt + 4);
    uint32_t seq = get_be32(pkt + ihl + 4);
    uint8_t flags = pkt[ihl + 13];
    for (int i = 0; i < n; i++) {
        size_t chunk = i == n - 1 ? payload - (size_t)i * mss : mss;
        uint8_t *seg = out[i];
        memcpy(seg, pkt, hdrs);
        memcpy(seg + hdrs, pkt + hdrs + (size_t)i * mss, chunk);
        put_be16(seg + 2, (uint16_t)(hdrs + chunk));
        put_be16(seg + 4, (uint16_t)(id + i));
        ip_checksum(seg, ihl);
        put_be32(seg + ihl + 4, seq + (uint32_t)((size_t)i * mss));
        uint8_t f = flags;
        if (i != n - 1)
            f &= (uint8_t)~0x09;    /* FIN, PSH only on the last segment */
        if (i != 0)
            f &= (uint8_t)~0x80;    /* CWR only on the first */
        seg[ihl + 13] = f;
        l4_checksum(seg, ihl, hdrs + chunk, ihl + 16);
        lens[i] = hdrs + chunk;
    }
    return n;
}

/* ---- coalescing on the way into the TUN ---- */

enum { TCP_ACK = 0x10, TCP_PSH = 0x08 };

void gro_init(struct tcp_gro *g, int tun_fd)
{
    g->fd = tun_fd;
    g->len = 0;
    g->segs = 0;
    g->writes = g->write_errors = 0;
}

static void write_plain(struct tcp_gro *g, const uint8_t *pkt, size_t len)
{
    struct iovec v[2] = { { (void *)offload_zero_hdr, VNET_HDR_LEN }, { (void *)pkt, len } };
    g->writes++;
    if (writev(g->fd, v, 2) < 0)
        g->write_errors++;
}

/* Header bytes of a segment that may join a run (IPv4 without options or fragments, TCP with
 * only ACK or ACK+PSH and some payload), or 0. */
static size_t coalescable(const uint8_t *pkt, size_t len)
{
    if (len < 40 || pkt[0] != 0x45 || pkt[9] != 6 || (get_be16(pkt + 6) & 0x3fff) != 0 ||
        get_be16(pkt + 2) != len)
        return 0;
    size_t thl = (size_t)(pkt[20 + 12] >> 4) * 4;
    uint8_t flags = pkt[20 + 13];
    if (thl < 20 || 20 + thl >= len || (flags & ~TCP_PSH) != TCP_ACK)
        return 0;
    return 20 + thl;
}

/* Same flow, same ack, window, TOS, TTL and TCP options: everything but length, id, seq,
 * checksums and PSH. */
static bool same_run(const uint8_t *a, const uint8_t *b, size_t hdrs)
{
    return a[1] == b[1] && a[8] == b[8] && memcmp(a + 12, b + 12, 8) == 0 &&
           memcmp(a + 20, b + 20, 4) == 0 &&            /* ports */
           memcmp(a + 28, b + 28, 4) == 0 &&            /* ack */
           a[32] == b[32] && memcmp(a + 34, b + 34, 2) == 0 &&   /* data offset, window */
           memcmp(a + 40, b + 40, hdrs - 40) == 0;      /* options */
}

void gro_flush(struct tcp_gro *g)
{
    if (!g->len)
        return;
    if (g->segs == 1) {
        write_plain(g, g->buf, g->len);
    } else {
        uint8_t *ip = g->buf;
        put_be16(ip + 2, (uint16_t)g->len);
        ip_checksum(ip, 20);
        /* NEEDS_CSUM: the kernel completes the checksum; the field holds the pseudo-header
         * sum, folded but not complemented. */
        uint32_t ps = sum16(ip + 12, 8, 0) + 6 + (uint32_t)(g->len - 20);
        uint16_t folded = (uint16_t)~fold(ps);
        put_be16(ip + 20 + 16, folded);
        struct virtio_net_hdr h = {
            .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
            .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
            .hdr_len = (uint16_t)g->hdrs,
            .gso_size = (uint16_t)g->mss,
            .csum_start = 20,
            .csum_offset = 16,
        };
        struct iovec v[2] = { { &h, VNET_HDR_LEN }, { g->buf, g->len } };
        g->writes++;
        if (writev(g->fd, v, 2) < 0)
            g->write_errors++;
    }
    g->len = 0;
    g->segs = 0;
}

void gro_add(struct tcp_gro *g, const uint8_t *pkt, size_t len)
{
    size_t hdrs = coalescable(pkt, len);
    if (!hdrs) {
        gro_flush(g);
        write_plain(g, pkt, len);
        return;
    }
    size_t payload = len - hdrs;
    uint32_t seq = get_be32(pkt + 24);
    if (g->len && !g->closed && hdrs == g->hdrs && seq == g->next_seq && payload <= g->mss &&
        g->segs < OFFLOAD_SEGMENTS_MAX && g->len + payload <= sizeof(g->buf) &&
        same_run(g->buf, pkt, hdrs)) {
        memcpy(g->buf + g->len, pkt + hdrs, payload);
        g->len += payload;
        g->segs++;
        g->next_seq = seq + (uint32_t)payload;
        g->buf[20 + 13] |= pkt[20 + 13] & TCP_PSH;
        g->closed = payload < g->mss || (pkt[20 + 13] & TCP_PSH);
        return;
    }
    gro_flush(g);
    memcpy(g->buf, pkt, len);
    g->len = len;
    g->segs = 1;
    g->hdrs = hdrs;
    g->mss = payload;
    g->next_seq = seq + (uint32_t)payload;
    g->closed = (pkt[20 + 13] & TCP_PSH) != 0;
}
