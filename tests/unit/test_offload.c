/* Software TSO (offload_split) and TCP coalescing (tcp_gro): segments carry valid IPv4 and TCP
 * checksums and the right sequence numbers and flags, and a coalesced run cut again by
 * offload_split (as the kernel would) gives back exactly the original segments. */
#include <linux/virtio_net.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/offload.h"
#include "vpn/proto.h"

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (; n > 1; p += 2, n -= 2)
        s += (uint32_t)(p[0] << 8 | p[1]);
    if (n)
        s += (uint32_t)(p[0] << 8);
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static bool ip_ok(const uint8_t *p) { return fold(sum16(p, 20, 0)) == 0xffff; }

static bool tcp_ok(const uint8_t *p, size_t len)
{
    uint32_t s = sum16(p + 12, 8, 0) + 6 + (uint32_t)(len - 20);
    return fold(sum16(p + 20, len - 20, s)) == 0xffff;
}

/* A TCP/IPv4 packet 10.8.0.10:5000 -> 192.168.100.10:80 with payload bytes i % 251. */
static size_t make_tcp(uint8_t *p, uint32_t seq, size_t payload, uint8_t flags, uint16_t id)
{
    memset(p, 0, 52);
    p[0] = 0x45;
    put_be16(p + 2, (uint16_t)(52 + payload));
    put_be16(p + 4, id);
    put_be16(p + 6, 0x4000);
    p[8] = 64;
    p[9] = 6;
    put_be32(p + 12, 0x0a08000a);
    put_be32(p + 16, 0xc0a8640a);
    put_be16(p + 20, 5000);
    put_be16(p + 22, 80);
    put_be32(p + 24, seq);
    put_be32(p + 28, 777);
    p[32] = 8 << 4;     /* 32-byte header: 12 bytes of timestamp option */
    p[33] = flags;
    put_be16(p + 34, 500);
    p[40] = 1; p[41] = 1; p[42] = 8; p[43] = 10;
    put_be32(p + 44, 123456);
    put_be32(p + 48, 654321);
    for (size_t i = 0; i < payload; i++)
        p[52 + i] = (uint8_t)((seq + i) % 251);
    return 52 + payload;
}

static void finish_checksums(uint8_t *p, size_t len)
{
    put_be16(p + 10, 0);
    put_be16(p + 10, (uint16_t)~fold(sum16(p, 20, 0)));
    put_be16(p + 36, 0);
    uint32_t s = sum16(p + 12, 8, 0) + 6 + (uint32_t)(len - 20);
    put_be16(p + 36, (uint16_t)~fold(sum16(p + 20, len - 20, s)));
}

Test(offload, split_tso_superpacket)
{
    static uint8_t buf[OFFLOAD_READ_MAX];
    static uint8_t seg[OFFLOAD_SEGMENTS_MAX][1500];
    uint8_t *out[OFFLOAD_SEGMENTS_MAX];
    size_t lens[OFFLOAD_SEGMENTS_MAX];
    for (int i = 0; i < OFFLOAD_SEGMENTS_MAX; i++)
        out[i] = seg[i];
    const size_t mss = 1348, payload = 10 * mss + 100;
    size_t len = make_tcp(buf + VNET_HDR_LEN, 1000, payload, 0x18 | 0x01, 42);  /* PSH FIN */
    struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 52,
                                .gso_size = (uint16_t)mss, .csum_start = 20, .csum_offset = 16 };
    memcpy(buf, &h, sizeof(h));
    int n = offload_split(buf, VNET_HDR_LEN + len, 1400, out, lens, OFFLOAD_SEGMENTS_MAX);
    cr_assert_eq(n, 11);
    cr_assert_eq(offload_segments(buf, VNET_HDR_LEN + len), n, "the count the TUN thread reserves");
    for (int i = 0; i < n; i++) {
        size_t want = 52 + (i == n - 1 ? 100 : mss);
        cr_assert_eq(lens[i], want, "segment %d length", i);
        cr_assert(ip_ok(seg[i]), "IP checksum of segment %d", i);
        cr_assert(tcp_ok(seg[i], lens[i]), "TCP checksum of segment %d", i);
        cr_assert_eq(get_be32(seg[i] + 24), 1000 + (uint32_t)(i * mss));
        cr_assert_eq(get_be16(seg[i] + 4), 42 + i);
        uint8_t f = seg[i][33];
        cr_assert_eq((f & 0x09) != 0, i == n - 1, "FIN/PSH only on the last");
        for (size_t k = 0; k < lens[i] - 52; k++)
            cr_assert_eq(seg[i][52 + k], (uint8_t)((1000 + i * mss + k) % 251));
    }
    /* Too many segments for the room given: refused whole, never cut short. */
    cr_assert_eq(offload_split(buf, VNET_HDR_LEN + len, 1400, out, lens, 5), 0);
    /* Segments that would not fit the MTU: refused. */
    cr_assert_eq(offload_split(buf, VNET_HDR_LEN + len, 1300, out, lens, 64), 0);
}

Test(offload, plain_packet_gets_its_checksum)
{
    uint8_t buf[1500 + VNET_HDR_LEN], seg[1500];
    uint8_t *out[1] = { seg };
    size_t lens[1];
    size_t len = make_tcp(buf + VNET_HDR_LEN, 5, 300, 0x10, 1);
    struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
                                .csum_offset = 16 };
    memcpy(buf, &h, sizeof(h));
    cr_assert_eq(offload_split(buf, VNET_HDR_LEN + len, 1400, out, lens, 1), 1);
    cr_assert_eq(lens[0], len);
    cr_assert(tcp_ok(seg, len));
    /* Garbage: not IPv4, truncated, unknown GSO type. */
    buf[VNET_HDR_LEN] = 0x60;
    cr_assert_eq(offload_split(buf, VNET_HDR_LEN + len, 1400, out, lens, 1), 0);
    cr_assert_eq(offload_split(buf, 12, 1400, out, lens, 1), 0);
    buf[VNET_HDR_LEN] = 0x45;
    buf[1] = VIRTIO_NET_HDR_GSO_UDP;
    cr_assert_eq(offload_split(buf, VNET_HDR_LEN + len, 1400, out, lens, 1), 0);
}

/* Reads everything written to the pipe standing in for the TUN. */
static size_t drain(int fd, uint8_t *buf, size_t cap)
{
    ssize_t n = read(fd, buf, cap);
    return n > 0 ? (size_t)n : 0;
}

Test(offload, coalesced_run_splits_back_into_the_same_segments)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    static struct tcp_gro g;
    gro_init(&g, p[1]);
    static uint8_t pkts[8][1500];
    size_t lens[8];
    const size_t mss = 1348;
    for (int i = 0; i < 8; i++) {
        lens[i] = make_tcp(pkts[i], 9000 + (uint32_t)(i * mss), i == 7 ? 200 : mss,
                           i == 7 ? 0x18 : 0x10, (uint16_t)(7 + i));
        finish_checksums(pkts[i], lens[i]);
        gro_add(&g, pkts[i], lens[i]);
    }
    gro_flush(&g);
    cr_assert_eq(g.writes, 1, "eight in-order segments, one write");
    static uint8_t written[OFFLOAD_READ_MAX];
    size_t n = drain(p[0], written, sizeof(written));
    cr_assert_eq(n, VNET_HDR_LEN + 52 + 7 * mss + 200);
    struct virtio_net_hdr h;
    memcpy(&h, written, sizeof(h));
    cr_assert_eq(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    cr_assert_eq(h.gso_size, mss);
    cr_assert(ip_ok(written + VNET_HDR_LEN));

    static uint8_t seg[OFFLOAD_SEGMENTS_MAX][1500];
    uint8_t *out[OFFLOAD_SEGMENTS_MAX];
    size_t slens[OFFLOAD_SEGMENTS_MAX];
    for (int i = 0; i < OFFLOAD_SEGMENTS_MAX; i++)
        out[i] = seg[i];
    cr_assert_eq(offload_split(written, n, 1400, out, slens, OFFLOAD_SEGMENTS_MAX), 8);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(slens[i], lens[i]);
        /* Byte for byte the segment that went in (ids were consecutive, as the kernel
         * renumbers them from the first). */
        cr_assert_eq(memcmp(seg[i], pkts[i], lens[i]), 0, "segment %d differs", i);
        cr_assert(tcp_ok(seg[i], slens[i]));
    }
    close(p[0]);
    close(p[1]);
}

Test(offload, runs_break_where_they_must)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    static struct tcp_gro g;
    gro_init(&g, p[1]);
    static uint8_t a[1500], b[1500], c[1500], d[1500];
    size_t la = make_tcp(a, 100, 1000, 0x10, 1);
    size_t lb = make_tcp(b, 1100 + 1, 1000, 0x10, 2);   /* a gap: new run */
    size_t lc = make_tcp(c, 2101, 1000, 0x11, 3);       /* FIN: never coalesced */
    size_t ld = make_tcp(d, 3101, 1000, 0x10, 4);
    put_be16(d + 22, 81);                               /* another flow */
    gro_add(&g, a, la);
    gro_add(&g, b, lb);
    gro_add(&g, c, lc);
    gro_add(&g, d, ld);
    gro_flush(&g);
    cr_assert_eq(g.writes, 4);
    close(p[0]);
    close(p[1]);
}
