/* vpn-garbage: sends a chosen number of random and mutated datagrams at a VPN server or at a
 * connected client, for bench/run-garbage.sh and tests/integration/test_garbage.sh. It speaks
 * PROTOCOL.md with the project's own client code, so that its mutations start from real
 * packets: valid headers, live session ids, counters and tags.
 *
 *   vpn-garbage server HOST PORT SERVER_KEY USER TOKEN_HEX [options]
 *       handshakes as USER (a session of its own), then sends the mix at HOST:PORT from a
 *       UDP socket; finally checks that its session still answers a ping through the tunnel
 *       (to 192.168.100.10) and prints "session_alive yes|no".
 *   vpn-garbage client SRC_IP SRC_PORT DST_IP DST_PORT [options]
 *       sends the mix to a client at DST_IP:DST_PORT from SRC_IP:SRC_PORT (the server's
 *       address: a connected client takes nothing else) through a raw socket, run in the
 *       server's namespace. Its material is the server's real datagrams to that client,
 *       captured first (--capture-if IFNAME, --capture-seconds S: a packet socket on the
 *       interface that carries them).
 *
 * Options:
 *   -n N         datagrams of the mix to send (default 100000)
 *   --rate PPS   at most PPS datagrams a second (default 0: as fast as the socket takes them)
 *   --seed S     the mutations' random seed (default: from the clock)
 *   --mix K=W,.. weights of kinds (others keep their defaults; W=0 turns a kind off)
 *   --go-file F  after the handshake (or the capture) print "ready", wait until F exists,
 *                then send: the caller reads the server's counters in between
 *
 * Kinds (the mix):
 *   random          random bytes, random length 0..2000
 *   header          a valid header of a random type (1-7) with a consistent length field and a
 *                   random body of a plausible size for the type
 *   session_header  a transport header with the live session id and a sequence that matches a
 *                   random counter, random body (tag and ciphertext are garbage)
 *   truncated       a valid packet cut short
 *   extended        a valid packet with random bytes appended (length field kept or adjusted)
 *   wrong_length    a valid packet whose length field lies
 *   bitflip         a valid packet with 1 to 3 bits flipped
 *   replay          an exact copy of a valid packet sent (and taken) before
 *   reorder         valid packets never sent before, in shuffled groups of 2 to 32: taken
 *                   (server mode) or replays of captured ones (client mode)
 *   stale           (server) a valid packet stamped 60 s in the past
 *   sealed_garbage  (server) a valid seal around random bytes or another inner source
 *   hint            (client) SESSION_UNKNOWN naming the live session
 *   bad_padding     (server) a fresh CONNECT_REQ for USER with its padding broken (flags,
 *                   reserved, mac1, mac2 or tail bytes; or a non-zero byte of a v1 request)
 *   req_replay      (server) the handshake's own CONNECT_REQ again
 *   connect_resp    (client) a CONNECT_RESP of random body and valid length
 * Prints one line per kind, "kind NAME N", then "total N", "taken_expected N" (datagrams
 * that should be taken: the reordered valid packets in server mode), "session HEX". */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../client/handshake_client.h"
#include "vpn/keyfile.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

#include "icmp_echo.h"     /* ip_checksum */

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    DG_MAX = 2000,          /* largest datagram sent (the receivers read 1600) */
    RAW_PAYLOAD_MAX = 1472, /* client mode: one IPv4 packet on a 1500-byte link, no fragments */
    BATCH = 64,
    HISTORY = 1024,         /* valid datagrams kept for replays */
    GROUP_MAX = 32,
    CAPTURE_MAX = 4096,
};

enum kind {
    K_RANDOM, K_HEADER, K_SESSION_HEADER, K_TRUNCATED, K_EXTENDED, K_WRONG_LENGTH, K_BITFLIP,
    K_REPLAY, K_REORDER, K_STALE, K_SEALED_GARBAGE, K_HINT, K_BAD_PADDING, K_REQ_REPLAY,
    K_CONNECT_RESP, KINDS
};
static const char *const kind_names[KINDS] = {
    "random", "header", "session_header", "truncated", "extended", "wrong_length", "bitflip",
    "replay", "reorder", "stale", "sealed_garbage", "hint", "bad_padding", "req_replay",
    "connect_resp",
};
/* Default weights per mode; 0: not in that mode. */
static const unsigned server_weights[KINDS] = { 14, 10, 10, 10, 8, 8, 12, 8, 10, 3, 4, 0, 1, 1, 0 };
static const unsigned client_weights[KINDS] = { 15, 10, 10, 10, 8, 8, 12, 10, 10, 0, 0, 4, 0, 0, 3 };

static unsigned weights[KINDS];
static uint64_t sent_by_kind[KINDS];
static uint64_t taken_expected;

/* ---- a fast non-cryptographic generator for the mutations (xorshift64*) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t below(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rnd();
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* ---- sending in batches, paced ---- */

static int fd;
static bool raw_mode;
static struct sockaddr_in raw_dst;
static uint32_t raw_src_ip;
static uint16_t raw_src_port;
static uint64_t rate;
static uint8_t out_buf[BATCH][DG_MAX + 28];
static size_t out_len[BATCH];
static int out_n;
static uint64_t send_errors, total_sent;
static uint64_t pace_start_ns;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void flush(void)
{
    struct mmsghdr m[BATCH];
    struct iovec v[BATCH];
    if (!out_n)
        return;
    if (rate) {
        /* Never ahead of the schedule: datagram k leaves no earlier than k / rate seconds. */
        uint64_t due = pace_start_ns + (total_sent + (uint64_t)out_n) * 1000000000ULL / rate;
        uint64_t t = now_ns();
        if (due > t) {
            struct timespec ts = { (time_t)((due - t) / 1000000000ULL),
                                   (long)((due - t) % 1000000000ULL) };
            nanosleep(&ts, NULL);
        }
    }
    memset(m, 0, sizeof(m));
    for (int i = 0; i < out_n; i++) {
        v[i].iov_base = out_buf[i];
        v[i].iov_len = out_len[i];
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
        if (raw_mode) {
            m[i].msg_hdr.msg_name = &raw_dst;
            m[i].msg_hdr.msg_namelen = sizeof(raw_dst);
        }
    }
    int done = 0;
    while (done < out_n) {
        int r = sendmmsg(fd, m + done, (unsigned)(out_n - done), 0);
        if (r > 0) {
            done += r;
        } else if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            poll(&p, 1, 10);
        } else {
            send_errors++;   /* this one is lost; say so at the end */
            done++;
        }
    }
    total_sent += (uint64_t)out_n;
    out_n = 0;
}

/* Queues one datagram (the UDP payload) of the given kind. */
static void emit(enum kind k, const uint8_t *d, size_t len)
{
    if (out_n == BATCH)
        flush();
    uint8_t *o = out_buf[out_n];
    if (raw_mode) {
        if (len > RAW_PAYLOAD_MAX)
            len = RAW_PAYLOAD_MAX;
        struct iphdr *ip = (struct iphdr *)o;
        struct udphdr *u = (struct udphdr *)(o + 20);
        memset(o, 0, 28);
        ip->version = 4;
        ip->ihl = 5;
        ip->ttl = 64;
        ip->protocol = IPPROTO_UDP;
        ip->saddr = raw_src_ip;
        ip->daddr = raw_dst.sin_addr.s_addr;
        ip->tot_len = htons((uint16_t)(28 + len));   /* id and checksum: the kernel's */
        u->source = raw_src_port;
        u->dest = raw_dst.sin_port;
        u->len = htons((uint16_t)(8 + len));
        u->check = 0;                                 /* none (RFC 768) */
        memcpy(o + 28, d, len);
        out_len[out_n++] = 28 + len;
    } else {
        memcpy(o, d, len);
        out_len[out_n++] = len;
    }
    sent_by_kind[k]++;
}

/* ---- the session (server mode) ---- */

static struct hs_config cfg;
static struct session_keys keys;
static uint64_t counter;
static int64_t offset;
static uint8_t s_pub[KEY_LEN], token[TOKEN_LEN];
static const char *user;
static uint8_t hs_req[CONNECT_REQ_LEN];

static uint64_t server_now(void)
{
    return (uint64_t)((int64_t)clock_realtime_ms() + offset);
}

static ssize_t recv_timeout(uint8_t *buf, size_t len, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, ms) <= 0)
        return -1;
    return recv(fd, buf, len, 0);
}

static int handshake(void)
{
    struct hs_client st;
    uint8_t e[KEY_LEN], resp[512];
    randombytes_buf(e, sizeof(e));
    uint64_t t0 = clock_realtime_ms();
    if (!hs_client_request(&st, e, s_pub, user, token, t0, hs_req))
        return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (send(fd, hs_req, sizeof(hs_req), 0) < 0)
            return -1;
        uint64_t end = clock_monotonic_ms() + 1000;
        while (clock_monotonic_ms() < end) {
            ssize_t n = recv_timeout(resp, sizeof(resp), 100);
            if (n <= 0)
                continue;
            enum hs_client_verdict v = hs_client_response(&st, resp, (size_t)n, token, &cfg,
                                                          &keys);
            if (v == HSC_REJECTED)
                return cfg.status;
            if (v == HSC_ACCEPTED) {
                offset = (int64_t)get_be64(resp + 8) - (int64_t)((t0 + clock_realtime_ms()) / 2);
                return 0;
            }
        }
    }
    return -2;
}

/* An IPv4/UDP packet from src to the LAN host's discard port (9), payload random. */
static size_t inner_udp(uint8_t *p, uint32_t src)
{
    size_t payload = below(200), len = 28 + payload;
    memset(p, 0, 28);
    p[0] = 0x45;
    put_be16(p + 2, (uint16_t)len);
    p[8] = 64;
    p[9] = 17;
    put_be32(p + 12, src);
    put_be32(p + 16, 0xc0a8640a);
    put_be16(p + 10, ip_checksum(p, 20));
    put_be16(p + 20, 40000);
    put_be16(p + 22, 9);
    put_be16(p + 24, (uint16_t)(8 + payload));
    fill(p + 28, payload);
    return len;
}

/* A fresh valid DATA datagram (the next counter). */
static size_t fresh(uint8_t *d, uint64_t ts)
{
    uint8_t pt[256];
    size_t n = inner_udp(pt, cfg.client_ip);
    return transport_seal(d, MSG_DATA, keys.k_c2s, cfg.session_id, counter++, ts, pt, n);
}

/* ---- material: valid datagrams sent, or captured ones (client mode) ---- */

static uint8_t *history[HISTORY];
static size_t history_len[HISTORY];
static unsigned n_history, history_next;

static void remember(const uint8_t *d, size_t len)
{
    unsigned i = history_next++ % HISTORY;
    if (!history[i] && !(history[i] = malloc(DG_MAX)))
        abort();
    memcpy(history[i], d, len);
    history_len[i] = len;
    if (n_history < HISTORY)
        n_history++;
}

/* A valid datagram to mutate: a fresh one (server mode, consumes a counter) or a captured
 * one (client mode; a header of random body when nothing was captured). */
static size_t material(uint8_t *d)
{
    if (!raw_mode)
        return fresh(d, server_now());
    if (!n_history) {
        size_t body = TRANSPORT_OVERHEAD - HDR_LEN + below(MTU_MAX / 2);
        proto_hdr_write(d, MSG_DATA, (uint16_t)body, (uint32_t)rnd(), clock_realtime_ms());
        fill(d + HDR_LEN, body);
        return HDR_LEN + body;
    }
    unsigned i = below(n_history);
    memcpy(d, history[i], history_len[i]);
    return history_len[i];
}

static uint32_t live_sid(void)
{
    if (!raw_mode)
        return cfg.session_id;
    return n_history ? get_be32(history[below(n_history)] + HDR_LEN) : (uint32_t)rnd();
}

/* ---- the kinds ---- */

static void gen_random(void)
{
    uint8_t d[DG_MAX];
    size_t len = below(DG_MAX + 1);
    fill(d, len);
    emit(K_RANDOM, d, len);
}

static size_t body_len_for(uint8_t type)
{
    switch (type) {
    case MSG_CONNECT_REQ: return CONNECT_REQ_PAYLOAD;
    case MSG_CONNECT_RESP: return CONNECT_RESP_MIN - HDR_LEN + below(CONNECT_RESP_MAX - CONNECT_RESP_MIN + 1);
    case MSG_SESSION_UNKNOWN: return SESSION_UNKNOWN_PAYLOAD;
    default: return TRANSPORT_OVERHEAD - HDR_LEN + below(MTU_MAX + 1);
    }
}

static void gen_header(void)
{
    uint8_t d[DG_MAX];
    uint8_t type = (uint8_t)(1 + below(7));
    size_t body = body_len_for(type);
    proto_hdr_write(d, type, (uint16_t)body, (uint32_t)rnd(), rnd());
    fill(d + HDR_LEN, body);
    emit(K_HEADER, d, HDR_LEN + body);
}

static void gen_session_header(void)
{
    uint8_t d[DG_MAX];
    static const uint8_t types[] = { MSG_DATA, MSG_DATA, MSG_PING, MSG_PONG, MSG_DISCONNECT };
    size_t body = TRANSPORT_OVERHEAD - HDR_LEN + below(MTU_MAX + 1);
    uint64_t c = rnd() >> 4;
    proto_hdr_write(d, types[below(N(types))], (uint16_t)body, (uint32_t)c,
                    raw_mode ? clock_realtime_ms() : server_now());
    fill(d + HDR_LEN, body);
    put_be32(d + HDR_LEN, live_sid());
    put_be64(d + HDR_LEN + 4, c);
    emit(K_SESSION_HEADER, d, HDR_LEN + body);
}

static void gen_truncated(void)
{
    uint8_t d[DG_MAX];
    size_t len = material(d);
    emit(K_TRUNCATED, d, below((uint32_t)len));
}

static void gen_extended(void)
{
    uint8_t d[DG_MAX];
    size_t len = material(d), extra = 1 + below(64);
    if (len + extra > DG_MAX)
        extra = DG_MAX - len;
    fill(d + len, extra);
    if (rnd() & 1)
        put_be16(d + 2, (uint16_t)(len + extra - HDR_LEN));   /* consistent: the tag fails */
    emit(K_EXTENDED, d, len + extra);
}

static void gen_wrong_length(void)
{
    uint8_t d[DG_MAX];
    size_t len = material(d);
    uint16_t delta = (uint16_t)(1 + below(0xfffe));
    put_be16(d + 2, (uint16_t)(get_be16(d + 2) + delta));
    emit(K_WRONG_LENGTH, d, len);
}

static void gen_bitflip(void)
{
    uint8_t d[DG_MAX];
    size_t len = material(d);
    int flips = 1 + (int)below(3);
    uint8_t orig[DG_MAX];
    memcpy(orig, d, len);
    do {
        for (int i = 0; i < flips; i++)
            d[below((uint32_t)len)] ^= (uint8_t)(1 << below(8));
    } while (memcmp(orig, d, len) == 0);
    emit(K_BITFLIP, d, len);
}

static void gen_replay(void)
{
    if (!n_history) {
        gen_random();
        return;
    }
    unsigned i = below(n_history);
    emit(K_REPLAY, history[i], history_len[i]);
}

static void gen_reorder(uint64_t *left)
{
    uint8_t d[GROUP_MAX][DG_MAX];
    size_t len[GROUP_MAX];
    unsigned g = 2 + below(GROUP_MAX - 1);
    if (g > *left)
        g = (unsigned)*left;
    if (g < 1 || g > GROUP_MAX)
        g = 1;
    if (raw_mode && !n_history) {
        gen_random();
        return;
    }
    for (unsigned i = 0; i < g; i++)
        len[i] = material(d[i]);
    /* Fisher-Yates: a random order of the group. */
    for (unsigned i = g; i-- > 1;) {
        unsigned j = below(i + 1);
        uint8_t t[DG_MAX];
        size_t tl = len[i];
        memcpy(t, d[i], len[i]);
        memcpy(d[i], d[j], len[j]);
        len[i] = len[j];
        memcpy(d[j], t, tl);
        len[j] = tl;
    }
    for (unsigned i = 0; i < g; i++) {
        emit(K_REORDER, d[i], len[i]);
        if (!raw_mode) {
            remember(d[i], len[i]);
            taken_expected++;
        }
    }
    *left -= g - 1;     /* the caller counts one */
}

static void gen_stale(void)
{
    uint8_t d[DG_MAX];
    emit(K_STALE, d, fresh(d, server_now() - 60000));
}

static void gen_sealed_garbage(void)
{
    uint8_t d[DG_MAX], pt[MTU_MAX];
    size_t n;
    if (rnd() & 1) {
        n = below(MTU_MAX + 1);
        fill(pt, n);
        if (n)
            pt[0] = (uint8_t)(pt[0] | 0x80);   /* never IPv4: the enclave's "malformed" */
    } else {
        n = inner_udp(pt, cfg.client_ip + 1 + below(100));     /* another inner source */
    }
    emit(K_SEALED_GARBAGE, d,
         transport_seal(d, MSG_DATA, keys.k_c2s, cfg.session_id, counter++, server_now(), pt, n));
}

static void gen_hint(void)
{
    uint8_t d[SESSION_UNKNOWN_LEN];
    emit(K_HINT, d, proto_session_unknown(d, live_sid(), below(4096), clock_realtime_ms()));
}

/* CONNECT_REQs built once with fresh ephemerals, then broken in one padding byte each time. */
static uint8_t padded[16][CONNECT_REQ_LEN];

static void gen_bad_padding(void)
{
    uint8_t d[CONNECT_REQ_LEN];
    memcpy(d, padded[below(N(padded))], sizeof(d));
    uint8_t *pad = d + HDR_LEN + REQ_PAD_OFF;
    size_t at;
    switch (below(6)) {
    case 0: at = 1; break;                                              /* flags */
    case 1: at = 2 + below(14); break;                                  /* reserved */
    case 2: at = REQ_MAC1_OFF - REQ_PAD_OFF + below(REQ_MACX_LEN); break;   /* mac1 */
    case 3:
        /* mac2 (extension 3) is not padding: nothing but the load check reads it, so a wrong
         * one alone leaves a valid request that would replace our own session. It goes with a
         * broken tail: a cookie reply under load, dropped by the enclave otherwise. */
        pad[REQ_MAC2_OFF - REQ_PAD_OFF + below(REQ_MACX_LEN)] ^= (uint8_t)(1 + below(255));
        at = REQ_EXT_TAIL_OFF - REQ_PAD_OFF + below(REQ_MAC_OFF - REQ_EXT_TAIL_OFF);
        break;
    case 4: at = REQ_EXT_TAIL_OFF - REQ_PAD_OFF + below(REQ_MAC_OFF - REQ_EXT_TAIL_OFF); break;
    default:                                                            /* a v1 request */
        memset(pad, 0, REQ_MAC_OFF - REQ_PAD_OFF);
        at = 1 + below(REQ_MAC_OFF - REQ_PAD_OFF - 1);
        break;
    }
    pad[at] ^= (uint8_t)(1 + below(255));
    emit(K_BAD_PADDING, d, sizeof(d));
}

static void gen_connect_resp(void)
{
    uint8_t d[CONNECT_RESP_MAX];
    size_t len = CONNECT_RESP_MIN + below(CONNECT_RESP_MAX - CONNECT_RESP_MIN + 1);
    if (rnd() & 1)
        len = CONNECT_FAIL_EXT_LEN;
    proto_hdr_write(d, MSG_CONNECT_RESP, (uint16_t)(len - HDR_LEN), 0, clock_realtime_ms());
    fill(d + HDR_LEN, len - HDR_LEN);
    if (rnd() & 1)
        memset(d + HDR_LEN, 0, KEY_LEN);    /* the failure forms */
    emit(K_CONNECT_RESP, d, len);
}

/* A weight is a share of the datagrams sent. A reorder group is GROUP_AVG datagrams on
 * average, so its kind is drawn GROUP_AVG times less often than its weight says. */
enum { GROUP_AVG = (2 + GROUP_MAX) / 2 };

static void run_mix(uint64_t n)
{
    unsigned total = 0, draw[KINDS];
    for (int k = 0; k < KINDS; k++) {
        draw[k] = weights[k] * (k == K_REORDER ? 1 : GROUP_AVG);
        total += draw[k];
    }
    pace_start_ns = now_ns();
    for (uint64_t left = n; left > 0; left--) {
        uint32_t r = below(total);
        int k = 0;
        while (r >= draw[k])
            r -= draw[k++];
        switch (k) {
        case K_RANDOM: gen_random(); break;
        case K_HEADER: gen_header(); break;
        case K_SESSION_HEADER: gen_session_header(); break;
        case K_TRUNCATED: gen_truncated(); break;
        case K_EXTENDED: gen_extended(); break;
        case K_WRONG_LENGTH: gen_wrong_length(); break;
        case K_BITFLIP: gen_bitflip(); break;
        case K_REPLAY: gen_replay(); break;
        case K_REORDER: gen_reorder(&left); break;
        case K_STALE: gen_stale(); break;
        case K_SEALED_GARBAGE: gen_sealed_garbage(); break;
        case K_HINT: gen_hint(); break;
        case K_BAD_PADDING: gen_bad_padding(); break;
        case K_REQ_REPLAY: emit(K_REQ_REPLAY, hs_req, sizeof(hs_req)); break;
        default: gen_connect_resp(); break;
        }
    }
    flush();
}

/* ---- capture (client mode): the server's real datagrams to the client ---- */

static void capture(const char *ifname, double seconds)
{
    /* ETH_P_ALL: a tap for one protocol sees only what arrives, not what the host sends. */
    int p = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
    unsigned idx = if_nametoindex(ifname);
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = (int)idx };
    if (p < 0 || !idx || bind(p, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
        fprintf(stderr, "vpn-garbage: cannot capture on %s: %s\n", ifname, strerror(errno));
        exit(1);
    }
    uint64_t end = clock_monotonic_ms() + (uint64_t)(seconds * 1000);
    uint8_t pkt[70000];
    while (clock_monotonic_ms() < end && n_history < HISTORY) {
        struct pollfd pf = { .fd = p, .events = POLLIN };
        if (poll(&pf, 1, 50) <= 0)
            continue;
        struct sockaddr_ll from;
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(p, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &from_len);
        if (n < 28 || from.sll_protocol != htons(ETH_P_IP) || (pkt[0] >> 4) != 4 ||
            pkt[9] != IPPROTO_UDP)
            continue;
        size_t ihl = (size_t)(pkt[0] & 15) * 4;
        if ((size_t)n < ihl + 8 || memcmp(pkt + 12, &raw_src_ip, 4) != 0 ||
            memcmp(pkt + 16, &raw_dst.sin_addr, 4) != 0 ||
            memcmp(pkt + ihl, &raw_src_port, 2) != 0 || memcmp(pkt + ihl + 2, &raw_dst.sin_port, 2) != 0)
            continue;
        const uint8_t *d = pkt + ihl + 8;
        size_t len = (size_t)n - ihl - 8;
        struct vpn_hdr h;
        /* One datagram exactly (a UDP GSO train seen before segmentation is left out). */
        if (len > DG_MAX || proto_hdr_parse(d, len, &h) != HDR_OK || !proto_is_transport(h.type))
            continue;
        remember(d, len);
    }
    close(p);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: vpn-garbage server HOST PORT SERVER_KEY USER TOKEN_HEX [options]\n"
            "       vpn-garbage client SRC_IP SRC_PORT DST_IP DST_PORT [options]\n"
            "options: -n N  --rate PPS  --seed S  --mix KIND=W,...  --go-file F\n"
            "         --capture-if IFNAME  --capture-seconds S (client mode)\n");
    exit(2);
}

static void set_mix(const char *spec)
{
    char *copy = strdup(spec), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        int k;
        if (!eq)
            usage();
        *eq = '\0';
        for (k = 0; k < KINDS && strcmp(kind_names[k], t) != 0; k++)
            ;
        if (k == KINDS) {
            fprintf(stderr, "vpn-garbage: unknown kind %s\n", t);
            exit(2);
        }
        weights[k] = (unsigned)atoi(eq + 1);
    }
    free(copy);
}

/* Pings 192.168.100.10 through the session; true when a reply comes back. */
static int alive_pings;

static bool session_alive(void)
{
    uint8_t pkt[64], d[128], buf[2048], pt[2048];
    for (int attempt = 0; attempt < 5; attempt++) {
        alive_pings++;
        memset(pkt, 0, sizeof(pkt));
        pkt[0] = 0x45;
        put_be16(pkt + 2, 60);
        pkt[8] = 64;
        pkt[9] = 1;
        put_be32(pkt + 12, cfg.client_ip);
        put_be32(pkt + 16, 0xc0a8640a);
        put_be16(pkt + 10, ip_checksum(pkt, 20));
        pkt[20] = 8;
        put_be16(pkt + 24, 0x6762);
        put_be16(pkt + 26, (uint16_t)attempt);
        put_be16(pkt + 22, ip_checksum(pkt + 20, 40));
        size_t n = transport_seal(d, MSG_DATA, keys.k_c2s, cfg.session_id, counter++,
                                  server_now(), pkt, 60);
        if (send(fd, d, n, 0) < 0)
            return false;
        uint64_t end = clock_monotonic_ms() + 1000;
        while (clock_monotonic_ms() < end) {
            ssize_t r = recv_timeout(buf, sizeof(buf), 100);
            struct vpn_hdr h;
            if (r <= 0 || proto_hdr_parse(buf, (size_t)r, &h) != HDR_OK || h.type != MSG_DATA ||
                get_be32(buf + HDR_LEN) != cfg.session_id)
                continue;
            if (transport_open(pt, buf, (size_t)r, keys.k_s2c) && pt[9] == 1 && pt[20] == 0 &&
                get_be16(pt + 24) == 0x6762)
                return true;
        }
    }
    return false;
}

static void wait_go(const char *go_file)
{
    struct stat st;
    if (!go_file)
        return;
    printf("ready\n");
    fflush(stdout);
    while (stat(go_file, &st) != 0) {
        /* Keep the session fresh meanwhile: nothing has to be sent, the server's idle
         * timeout is long. Drain what arrives (hints, ICMP answers). */
        uint8_t buf[2048];
        if (!raw_mode)
            recv_timeout(buf, sizeof(buf), 20);
        else
            usleep(20000);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || sodium_init() < 0)
        usage();
    bool server = strcmp(argv[1], "server") == 0;
    bool client = strcmp(argv[1], "client") == 0;
    int fixed = server ? 7 : client ? 6 : 0;
    if (!fixed || argc < fixed)
        usage();
    uint64_t n = 100000;
    const char *go_file = NULL, *capture_if = NULL;
    double capture_seconds = 3;
    rng_state = now_ns() ^ (uint64_t)getpid() << 32;
    memcpy(weights, server ? server_weights : client_weights, sizeof(weights));
    for (int i = fixed; i < argc; i++) {
        const char *o = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(o, "-n") == 0)
            n = strtoull(v, NULL, 10);
        else if (strcmp(o, "--rate") == 0)
            rate = strtoull(v, NULL, 10);
        else if (strcmp(o, "--seed") == 0)
            rng_state = strtoull(v, NULL, 0) | 1;
        else if (strcmp(o, "--mix") == 0)
            set_mix(v);
        else if (strcmp(o, "--go-file") == 0)
            go_file = v;
        else if (strcmp(o, "--capture-if") == 0)
            capture_if = v;
        else if (strcmp(o, "--capture-seconds") == 0)
            capture_seconds = atof(v);
        else
            usage();
    }
    if (!rng_state)
        rng_state = 1;
    unsigned total = 0;
    for (int k = 0; k < KINDS; k++) {
        if (!(server ? server_weights : client_weights)[k] && weights[k]) {
            fprintf(stderr, "vpn-garbage: kind %s is not for %s mode\n", kind_names[k], argv[1]);
            return 2;
        }
        total += weights[k];
    }
    if (!total)
        usage();

    if (server) {
        struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
        user = argv[5];
        if (getaddrinfo(argv[2], argv[3], &hints, &res) != 0 || keyfile_decode(argv[4], s_pub) != 0 ||
            sodium_hex2bin(token, TOKEN_LEN, argv[6], strlen(argv[6]), NULL, NULL, NULL) != 0)
            usage();
        fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int big = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
            perror("vpn-garbage: socket");
            return 1;
        }
        int st = handshake();
        if (st != 0) {
            fprintf(stderr, "vpn-garbage: handshake failed (%d)\n", st);
            return 1;
        }
        for (size_t i = 0; i < N(padded); i++) {
            struct hs_client h;
            uint8_t e[KEY_LEN];
            randombytes_buf(e, sizeof(e));
            if (!hs_client_request(&h, e, s_pub, user, token, clock_realtime_ms() + i + 1,
                                   padded[i]))
                return 1;
            hs_client_wipe(&h);
        }
        printf("session %08x\n", cfg.session_id);
        fflush(stdout);
    } else {
        struct in_addr a;
        raw_mode = true;
        if (inet_pton(AF_INET, argv[2], &a) != 1)
            usage();
        raw_src_ip = a.s_addr;
        raw_src_port = htons((uint16_t)atoi(argv[3]));
        raw_dst.sin_family = AF_INET;
        if (inet_pton(AF_INET, argv[4], &raw_dst.sin_addr) != 1)
            usage();
        raw_dst.sin_port = htons((uint16_t)atoi(argv[5]));
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
        if (fd < 0) {
            perror("vpn-garbage: raw socket (root?)");
            return 1;
        }
        int big = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        if (capture_if)
            capture(capture_if, capture_seconds);
        printf("captured %u\n", n_history);
        if (n_history)
            printf("session %08x\n", get_be32(history[0] + HDR_LEN));
        fflush(stdout);
    }

    wait_go(go_file);
    uint64_t t0 = now_ns();
    run_mix(n);
    double secs = (double)(now_ns() - t0) / 1e9;
    for (int k = 0; k < KINDS; k++)
        if (weights[k] || sent_by_kind[k])
            printf("kind %s %llu\n", kind_names[k], (unsigned long long)sent_by_kind[k]);
    printf("total %llu\n", (unsigned long long)total_sent);
    printf("send_errors %llu\n", (unsigned long long)send_errors);
    printf("taken_expected %llu\n", (unsigned long long)taken_expected);
    printf("seconds %.2f\n", secs);
    printf("rate %.0f\n", secs > 0 ? (double)total_sent / secs : 0.0);
    fflush(stdout);
    if (server) {
        /* Let the queues empty, then the session must still carry a ping. */
        usleep(500000);
        uint8_t drain[2048];
        while (recv_timeout(drain, sizeof(drain), 0) > 0)
            ;
        bool ok = session_alive();
        printf("session_alive %s\nalive_pings %d\n", ok ? "yes" : "no", alive_pings);
        sodium_memzero(&keys, sizeof(keys));
    }
    return 0;
}
