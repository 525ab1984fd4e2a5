/* Fuzzes software TSO (core/lib/offload.c: offload_split, offload_segments) on what an
 * offloading TUN hands the TUN threads: a virtio_net_hdr and an IPv4 packet of up to 64 KB,
 * which the kernel builds from whatever a local or forwarded sender chose.
 *
 * Input: byte 0 bit 0 selects the form of the rest.
 *   0: bytes 1-2 mtu, 3 max segments, the rest the buffer as read from the TUN;
 *   1: a super-packet built here from the input (virtio fields, header lengths, options,
 *      flags, payload length up to 64 KB), so that most inputs reach the segmentation loop.
 * Every output buffer is a heap block of exactly mtu bytes (ASan sees one byte more), and
 * each result must be what the kernel's tcp_gso_segment would make: lengths consistent,
 * checksums valid, payload cut in order, sequence numbers advancing by the MSS, FIN and PSH on
 * the last segment only, CWR on the first only; and offload_segments must predict the count. */
#include "fuzz_util.h"

#include <linux/virtio_net.h>

#include "vpn/offload.h"
#include "vpn/proto.h"

enum { BUF_MAX = OFFLOAD_READ_MAX };

/* Independent RFC 1071 sum (two bytes at a time, big-endian), unfolded. */
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

/* A valid checksum makes the one's-complement sum all ones. */
static bool ip_ok(const uint8_t *ip, size_t ihl)
{
    return fold_sum(sum_be(ip, ihl, 0)) == 0xffff;
}

static bool l4_ok(const uint8_t *pkt, size_t off, size_t len)
{
    uint32_t s = sum_be(pkt + 12, 8, 0) + pkt[9] + (uint32_t)(len - off);
    return fold_sum(sum_be(pkt + off, len - off, s)) == 0xffff;
}

/* Builds a super-packet into buf from the input; returns its length. */
static size_t build(uint8_t *buf, const uint8_t *d, size_t n)
{
    uint8_t in[24] = { 0 };
    memcpy(in, d, n < sizeof(in) ? n : sizeof(in));
    d += n < sizeof(in) ? n : sizeof(in);
    n -= n < sizeof(in) ? n : sizeof(in);
    struct virtio_net_hdr h = { 0 };
    static const uint8_t types[] = { VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV4,
                                     VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
                                     VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_UDP,
                                     VIRTIO_NET_HDR_GSO_TCPV6 };
    h.gso_type = in[0] < 250 ? types[in[0] % sizeof(types)] : in[0];
    h.flags = in[1] & 1 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : in[1] >> 1;
    h.gso_size = (uint16_t)(in[2] | in[3] << 8);
    if (in[1] & 2)
        h.gso_size = (uint16_t)(h.gso_size % 1500 + 1);
    size_t ihl = in[4] & 0x80 ? (size_t)(in[4] & 15) * 4 : 20 + (size_t)(in[4] % 11) * 4;
    size_t thl = in[5] & 0x80 ? (size_t)(in[5] & 15) * 4 : 20 + (size_t)(in[5] % 11) * 4;
    size_t payload = (size_t)(in[6] | in[7] << 8);
    if (ihl < 20)
        ihl = 20;   /* the raw form reaches the short cases */
    if (thl < 20)
        thl = 20;
    if (ihl + thl + payload > 65535)
        payload = 65535 - ihl - thl;
    h.hdr_len = (uint16_t)(ihl + thl);
    h.csum_start = in[1] & 4 ? (uint16_t)(in[8] | in[9] << 8) : (uint16_t)ihl;
    h.csum_offset = in[1] & 8 ? in[10] : (in[0] & 1 ? 6 : 16);
    memcpy(buf, &h, sizeof(h));
    uint8_t *ip = buf + VNET_HDR_LEN;
    size_t len = ihl + thl + payload;
    memset(ip, 0, ihl + thl);
    ip[0] = (uint8_t)(in[11] & 0x80 ? (in[11] & 0xf0) | (ihl / 4) : 0x40 | ihl / 4);
    ip[1] = in[12];
    put_be16(ip + 2, in[13] & 1 ? (uint16_t)len : get_be16(in + 14));
    put_be16(ip + 4, get_be16(in + 14));
    ip[6] = in[13] & 2 ? 0x40 : in[16];
    ip[8] = 64;
    ip[9] = in[13] & 4 ? in[17] : 6;
    put_be32(ip + 12, 0x0a08000a);
    put_be32(ip + 16, 0xc0a8640a);
    for (size_t i = 20; i < ihl; i++)
        ip[i] = n ? (n--, *d++) : 1;
    uint8_t *tcp = ip + ihl;
    put_be16(tcp, 40000);
    put_be16(tcp + 2, 5201);
    put_be32(tcp + 4, get_be32(in + 18));
    put_be32(tcp + 8, 12345);
    tcp[12] = (uint8_t)(in[13] & 8 ? in[22] : (thl / 4) << 4);
    tcp[13] = in[23];
    put_be16(tcp + 14, 502);
    for (size_t i = 20; i < thl; i++)
        tcp[i] = n ? (n--, *d++) : 1;
    for (size_t i = 0; i < payload; i++)
        ip[ihl + thl + i] = n ? (n--, *d++) : (uint8_t)(i * 7 + (i >> 8));
    return VNET_HDR_LEN + len;
}

static void check(const uint8_t *buf, size_t len, uint16_t mtu, int max)
{
    uint8_t *out[OFFLOAD_SEGMENTS_MAX];
    size_t lens[OFFLOAD_SEGMENTS_MAX];
    for (int i = 0; i < max; i++) {
        out[i] = malloc(mtu ? mtu : 1);
        lens[i] = (size_t)-1;
    }
    int n = offload_split(buf, len, mtu, out, lens, max);
    FUZZ_ASSERT(n >= 0 && n <= max);
    int predicted = offload_segments(buf, len);
    if (predicted == 0)
        FUZZ_ASSERT(n == 0);    /* "0 when it cannot say: offload_split will refuse it too" */
    if (n > 0)
        FUZZ_ASSERT(predicted == n);

    struct virtio_net_hdr h;
    const uint8_t *pkt = buf + VNET_HDR_LEN;
    size_t plen = len - VNET_HDR_LEN;
    if (n > 0)
        memcpy(&h, buf, sizeof(h));
    if (n > 0 && h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
        FUZZ_ASSERT(n == 1 && lens[0] == plen && plen <= mtu);
        size_t at = (size_t)h.csum_start + h.csum_offset;
        if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            FUZZ_ASSERT(memcmp(out[0], pkt, at) == 0 &&
                        memcmp(out[0] + at + 2, pkt + at + 2, plen - at - 2) == 0);
            /* The kernel asks for checksums at even offsets only (TCP 16, UDP 6): at an
             * odd one no 16-bit field can make the sum come out right. */
            if (!(h.csum_offset & 1))
                FUZZ_ASSERT(l4_ok(out[0], h.csum_start, plen));
        } else {
            FUZZ_ASSERT(memcmp(out[0], pkt, plen) == 0);
        }
    } else if (n > 0) {
        size_t ihl = (size_t)(pkt[0] & 15) * 4, thl = (size_t)(pkt[ihl + 12] >> 4) * 4;
        size_t hdrs = ihl + thl, mss = h.gso_size, off = 0;
        FUZZ_ASSERT(pkt[9] == 6 && hdrs + mss <= mtu);
        uint32_t seq = get_be32(pkt + ihl + 4);
        uint8_t flags = pkt[ihl + 13];
        for (int i = 0; i < n; i++) {
            const uint8_t *s = out[i];
            size_t chunk = lens[i] - hdrs;
            FUZZ_ASSERT(lens[i] > hdrs && lens[i] <= mtu);
            FUZZ_ASSERT(i == n - 1 ? chunk <= mss : chunk == mss);
            FUZZ_ASSERT(get_be16(s + 2) == lens[i]);
            FUZZ_ASSERT(get_be16(s + 4) == (uint16_t)(get_be16(pkt + 4) + i));
            FUZZ_ASSERT(ip_ok(s, ihl));
            FUZZ_ASSERT(l4_ok(s, ihl, lens[i]));
            FUZZ_ASSERT(get_be32(s + ihl + 4) == seq + (uint32_t)off);
            uint8_t want = flags;
            if (i != n - 1)
                want &= (uint8_t)~0x09;
            if (i != 0)
                want &= (uint8_t)~0x80;
            FUZZ_ASSERT(s[ihl + 13] == want);
            /* Every other header byte is the super-packet's. */
            FUZZ_ASSERT(s[0] == pkt[0] && s[1] == pkt[1] && memcmp(s + 6, pkt + 6, 4) == 0 &&
                        memcmp(s + 12, pkt + 12, ihl - 12) == 0);
            FUZZ_ASSERT(memcmp(s + ihl, pkt + ihl, 4) == 0 &&
                        memcmp(s + ihl + 8, pkt + ihl + 8, 5) == 0 &&
                        memcmp(s + ihl + 14, pkt + ihl + 14, 2) == 0 &&
                        memcmp(s + ihl + 18, pkt + ihl + 18, thl - 18) == 0);
            FUZZ_ASSERT(memcmp(s + hdrs, pkt + hdrs + off, chunk) == 0);
            off += chunk;
        }
        FUZZ_ASSERT(off == plen - hdrs);    /* the whole payload, nothing more */
    }
    for (int i = 0; i < max; i++)
        free(out[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t built[BUF_MAX];
    if (size < 4)
        return 0;
    uint16_t mtu = get_be16(data + 1);
    int max = data[3] % OFFLOAD_SEGMENTS_MAX + 1;
    if (mtu > 9000)
        mtu = (uint16_t)(mtu % 1500 + 1);   /* keep the heap blocks small */
    size_t len;
    uint8_t *buf;
    if (data[0] & 1) {
        if (data[0] & 2)
            max = OFFLOAD_SEGMENTS_MAX;
        if (data[0] & 4)
            mtu = 1400;
        len = build(built, data + 4, size - 4);
        buf = malloc(len);
        memcpy(buf, built, len);
    } else {
        len = size - 4 > BUF_MAX ? BUF_MAX : size - 4;
        buf = malloc(len ? len : 1);
        memcpy(buf, data + 4, len);
    }
    check(buf, len, mtu, max);
    free(buf);
    return 0;
}
