/* Fuzzes software GRO (core/lib/offload.c: gro_add, gro_flush) on arbitrary sequences of
 * packets as the TX thread and the client deliver them after decryption: what a peer put in
 * its DATA packets. The "TUN" is one end of an AF_UNIX datagram socketpair, so that every
 * writev comes back as one datagram and is checked against the input:
 *
 *   - every packet handed in comes out exactly once and in order, either written as it was
 *     (zero virtio header) or as part of one super-packet;
 *   - a super-packet has a TCPv4 GSO virtio header whose hdr_len and gso_size match it, an IP
 *     total length equal to what was written, a valid IP checksum, the TCP pseudo-header sum
 *     for NEEDS_CSUM, and is the first segment's headers followed by the payloads of
 *     consecutive segments of one flow (same addresses, ports, ack, window, options; sequence
 *     numbers contiguous), all of gso_size bytes but the last, at most OFFLOAD_SEGMENTS_MAX;
 *   - nothing is written beyond 65535 bytes of IP packet.
 *
 * Input: records, each starting with an op byte.
 *   op % 4 == 0: a raw packet: 2 length bytes, then the bytes (zeros past the input's end);
 *   op % 4 == 1: the next segment of the current flow: payload length, flag and perturbation
 *                bytes (sequence gap, another ack, window, TTL, a fragment bit);
 *   op % 4 == 2: gro_flush;
 *   op % 4 == 3: a new flow template: ports, TCP options length and bytes. */
#include "fuzz_util.h"

#include <linux/virtio_net.h>
#include <sys/socket.h>

#include "vpn/offload.h"
#include "vpn/proto.h"

enum { MAX_PKTS = 512, PKT_MAX = 65535 };

static struct tcp_gro g;
static int tun[2];
/* Packets handed in and not yet seen come out (a FIFO of copies). */
static uint8_t *queue[MAX_PKTS];
static size_t queue_len[MAX_PKTS];
static int q_head, q_tail;

static uint32_t sum_be(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold_sum(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* One datagram written to the "TUN": consumes the packets it carries from the queue. */
static void check_written(const uint8_t *d, size_t n)
{
    static const uint8_t zero[VNET_HDR_LEN];
    struct virtio_net_hdr h;
    FUZZ_ASSERT(n >= VNET_HDR_LEN && n - VNET_HDR_LEN <= PKT_MAX);
    FUZZ_ASSERT(q_head < q_tail);
    const uint8_t *ip = d + VNET_HDR_LEN;
    size_t len = n - VNET_HDR_LEN;
    if (memcmp(d, zero, VNET_HDR_LEN) == 0) {
        /* Written as it came. */
        FUZZ_ASSERT(len == queue_len[q_head] && memcmp(ip, queue[q_head], len) == 0);
        free(queue[q_head++]);
        return;
    }
    memcpy(&h, d, sizeof(h));
    FUZZ_ASSERT(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
    FUZZ_ASSERT(h.csum_start == 20 && h.csum_offset == 16 && h.gso_size > 0);
    size_t hdrs = h.hdr_len, mss = h.gso_size;
    FUZZ_ASSERT(hdrs >= 40 && hdrs < len && ip[0] == 0x45 && ip[9] == 6);
    FUZZ_ASSERT(hdrs == 20 + (size_t)(ip[32] >> 4) * 4);
    FUZZ_ASSERT(get_be16(ip + 2) == len);
    FUZZ_ASSERT(fold_sum(sum_be(ip, 20, 0)) == 0xffff);
    uint16_t pseudo = fold_sum(sum_be(ip + 12, 8, 0) + 6 + (uint32_t)(len - 20));
    FUZZ_ASSERT(get_be16(ip + 36) == pseudo);
    /* The segments it is made of, in order. */
    uint8_t first[PKT_MAX];
    memcpy(first, queue[q_head], queue_len[q_head] < hdrs ? queue_len[q_head] : hdrs);
    FUZZ_ASSERT(queue_len[q_head] > hdrs);
    size_t off = hdrs, segs = 0;
    uint32_t seq = get_be32(first + 24);
    uint8_t psh = 0;
    FUZZ_ASSERT(memcmp(ip + 4, first + 4, 6) == 0 && memcmp(ip + 12, first + 12, 8) == 0);
    FUZZ_ASSERT(ip[1] == first[1]);
    while (off < len) {
        FUZZ_ASSERT(q_head < q_tail);
        const uint8_t *s = queue[q_head];
        size_t slen = queue_len[q_head], payload = slen - hdrs;
        FUZZ_ASSERT(slen > hdrs && s[0] == 0x45 && s[9] == 6 && get_be16(s + 2) == slen);
        FUZZ_ASSERT((get_be16(s + 6) & 0x3fff) == 0);
        FUZZ_ASSERT(s[1] == first[1] && s[8] == first[8]);
        FUZZ_ASSERT(memcmp(s + 12, first + 12, 8) == 0);            /* addresses */
        FUZZ_ASSERT(memcmp(s + 20, first + 20, 4) == 0);            /* ports */
        FUZZ_ASSERT(get_be32(s + 24) == seq);                       /* contiguous */
        FUZZ_ASSERT(memcmp(s + 28, first + 28, 5) == 0);            /* ack, data offset */
        FUZZ_ASSERT(memcmp(s + 34, first + 34, 2) == 0);            /* window */
        FUZZ_ASSERT(memcmp(s + 40, first + 40, hdrs - 40) == 0);    /* options */
        FUZZ_ASSERT((s[33] & ~0x08) == 0x10);                       /* ACK, maybe PSH */
        FUZZ_ASSERT(off + payload <= len && memcmp(ip + off, s + hdrs, payload) == 0);
        FUZZ_ASSERT(off + payload == len ? payload <= mss : payload == mss);
        psh |= s[33] & 0x08;
        seq += (uint32_t)payload;
        off += payload;
        segs++;
        free(queue[q_head++]);
    }
    FUZZ_ASSERT(segs >= 2 && segs <= OFFLOAD_SEGMENTS_MAX);
    FUZZ_ASSERT(ip[33] == (0x10 | psh));
    FUZZ_ASSERT(memcmp(ip + 20, first + 20, 13) == 0 && memcmp(ip + 34, first + 34, 2) == 0 &&
                memcmp(ip + 38, first + 38, hdrs - 38) == 0);
}

static void drain(void)
{
    static uint8_t d[PKT_MAX + VNET_HDR_LEN + 16];
    ssize_t n;
    while ((n = recv(tun[1], d, sizeof(d), MSG_DONTWAIT | MSG_TRUNC)) >= 0) {
        FUZZ_ASSERT((size_t)n <= sizeof(d) - 16);
        check_written(d, (size_t)n);
    }
    FUZZ_ASSERT(g.write_errors == 0);
}

static void add(const uint8_t *pkt, size_t len)
{
    FUZZ_ASSERT(q_tail < MAX_PKTS);
    queue[q_tail] = malloc(len ? len : 1);
    memcpy(queue[q_tail], pkt, len);
    queue_len[q_tail++] = len;
    gro_add(&g, pkt, len);
    drain();
}

struct flow {
    uint16_t sport, dport;
    uint32_t seq, ack;
    size_t opt_len;
    uint8_t opts[40];
};

static uint16_t ip_csum(const uint8_t *ip)
{
    return (uint16_t)~fold_sum(sum_be(ip, 20, 0));
}

/* The next segment of flow f, with perturbations chosen by p. */
static size_t segment(uint8_t *pkt, struct flow *f, size_t payload, uint8_t flags,
                      const uint8_t p[3])
{
    size_t hdrs = 40 + f->opt_len, len = hdrs + payload;
    memset(pkt, 0, hdrs);
    pkt[0] = 0x45;
    pkt[1] = p[0] & 1 ? p[1] : 0;
    put_be16(pkt + 2, (uint16_t)(p[0] & 2 ? len + p[2] : len));
    put_be16(pkt + 4, (uint16_t)f->seq);
    put_be16(pkt + 6, p[0] & 4 ? (uint16_t)(p[1] << 8 | p[2]) : 0x4000);
    pkt[8] = p[0] & 8 ? p[2] : 64;
    pkt[9] = p[0] & 16 ? p[1] : 6;
    put_be32(pkt + 12, 0x0a08000a);
    put_be32(pkt + 16, p[0] & 32 ? 0x0a08000b : 0xc0a8640a);
    pkt[10] = pkt[11] = 0;
    put_be16(pkt + 10, ip_csum(pkt));
    uint8_t *t = pkt + 20;
    put_be16(t, f->sport);
    put_be16(t + 2, f->dport);
    put_be32(t + 4, f->seq + (p[0] & 64 ? p[1] : 0));
    put_be32(t + 8, f->ack + (p[0] & 128 ? p[2] : 0));
    t[12] = (uint8_t)((20 + f->opt_len) / 4 << 4);
    t[13] = flags;
    put_be16(t + 14, (uint16_t)(1000 + (p[1] & 3)));
    memcpy(t + 20, f->opts, f->opt_len);
    for (size_t i = 0; i < payload; i++)
        pkt[hdrs + i] = (uint8_t)(f->seq + i);
    f->seq += (uint32_t)payload;
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pkt[PKT_MAX];
    if (!tun[0]) {
        int big = 4 << 20;
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, tun) != 0)
            abort();
        setsockopt(tun[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        setsockopt(tun[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    }
    gro_init(&g, tun[0]);
    q_head = q_tail = 0;
    struct flow f = { .sport = 40000, .dport = 5201, .seq = 1000, .ack = 77 };
    size_t i = 0;
    while (i < size && q_tail < MAX_PKTS) {
        uint8_t op = data[i++];
        switch (op % 4) {
        case 0: {
            size_t len = i + 2 <= size ? get_be16(data + i) % 2048 : 0;
            i += 2;
            memset(pkt, 0, len);
            for (size_t k = 0; k < len && i < size; k++)
                pkt[k] = data[i++];
            add(pkt, len);
            break;
        }
        case 1: {
            uint8_t b[6] = { 0 };
            for (size_t k = 0; k < sizeof(b) && i < size; k++)
                b[k] = data[i++];
            size_t payload = (size_t)(b[0] << 8 | b[1]);
            payload = op & 0x80 ? 1400 : payload % 1500;
            if (op & 0x40)
                payload = (payload % 1400) + 1;
            uint8_t flags = op & 0x20 ? b[2] : (uint8_t)(0x10 | (b[2] & 0x08));
            const uint8_t none[3] = { 0 };
            add(pkt, segment(pkt, &f, payload, flags, op & 0x10 ? b + 3 : none));
            break;
        }
        case 2:
            gro_flush(&g);
            drain();
            break;
        case 3: {
            uint8_t b[3] = { 0 };
            for (size_t k = 0; k < sizeof(b) && i < size; k++)
                b[k] = data[i++];
            f.sport = (uint16_t)(40000 + (b[0] & 3));
            f.opt_len = (size_t)(b[1] % 11) * 4;
            for (size_t k = 0; k < f.opt_len; k++)
                f.opts[k] = i < size ? data[i++] : (uint8_t)k;
            f.seq += b[2] & 1 ? 0 : 1;
            break;
        }
        }
    }
    gro_flush(&g);
    drain();
    FUZZ_ASSERT(q_head == q_tail);      /* everything came out */
    return 0;
}
