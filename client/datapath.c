/* The client's data path: TUN packets sealed as DATA in batches (sendmmsg), datagrams from
 * the server in batches (recvmmsg) opened and written to the TUN. The receive checks are
 * PROTOCOL.md's, in its order; what fails is counted and dropped. */
#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "vpn/log.h"
#include "vpn/offload.h"
#include "vpn/udp_batch.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

enum { CLIENT_BATCH = BATCH_MAX, DATAGRAM_MAX = MTU_MAX + TRANSPORT_OVERHEAD };

/* TUN thread: room for two super-packets' worth of segments per batch. */
enum { TX_SLOTS = 2 * OFFLOAD_SEGMENTS_MAX };
static uint8_t out_buf[TX_SLOTS][DATAGRAM_MAX];
static uint8_t read_buf[OFFLOAD_READ_MAX];
static uint8_t in_buf[CLIENT_BATCH][SLOT_DATA];       /* main thread */

/* Seals with the next counters of s; first is the first of n counters reserved at once. */
static size_t seal(struct client *c, struct client_session *s, uint64_t counter, uint8_t *out,
                   uint8_t type, const uint8_t *pt, size_t len)
{
    return transport_seal(out, type, s->k_c2s, s->id, counter, conn_server_time(c), pt, len);
}

/* Main thread: control messages (PING, PONG, DISCONNECT) on the current session. */
bool datapath_send(struct client *c, uint8_t type, const uint8_t *pt, size_t len)
{
    uint8_t out[DATAGRAM_MAX];
    struct client_session *s = c->cur;
    if (!s || len > MTU_MAX)
        return false;
    uint64_t counter = __atomic_fetch_add(&s->send_counter, 1, __ATOMIC_RELAXED);
    size_t n = seal(c, s, counter, out, type, pt, len);
    __atomic_store_n(&c->last_tx_mono, clock_monotonic_ms(), __ATOMIC_RELAXED);
    return send(c->udp_fd, out, n, 0) == (ssize_t)n;
}

/* Reads one TUN packet (or super-packet, cut into segments) into out_buf[n..]; returns how
 * many slots it filled, 0 for nothing to send, -1 when the device is empty. */
static int read_tun(struct client *c, int n, size_t lens[])
{
    if (!c->tun_offload) {
        uint8_t *pt = out_buf[n] + TRANSPORT_OVERHEAD;
        ssize_t r = read(c->tun_fd, pt, MTU_MAX);
        if (r <= 0)
            return -1;
        /* The tunnel carries IPv4 (the server assigns an IPv4 address); the kernel's IPv6
         * chatter on the device (router solicitations) stays here. */
        if (r < 20 || (pt[0] >> 4) != 4) {
            c->tx_drops++;
            return 0;
        }
        lens[n] = (size_t)r;
        return 1;
    }
    ssize_t r = read(c->tun_fd, read_buf, sizeof(read_buf));
    if (r <= 0)
        return -1;
    uint8_t *out[OFFLOAD_SEGMENTS_MAX];
    int max = TX_SLOTS - n < OFFLOAD_SEGMENTS_MAX ? TX_SLOTS - n : OFFLOAD_SEGMENTS_MAX;
    for (int i = 0; i < max; i++)
        out[i] = out_buf[n + i] + TRANSPORT_OVERHEAD;
    uint16_t mtu = c->config.mtu ? c->config.mtu : MTU_MAX;
    int k = offload_split(read_buf, (size_t)r, mtu, out, lens + n, max);
    if (k <= 0)
        c->tx_drops++;
    return k < 0 ? 0 : k;
}

/* TUN thread: a batch of TUN reads, sealed and sent with sendmmsg. */
static void from_tun(struct client *c)
{
    size_t lens[TX_SLOTS];
    int n = 0;
    /* Stop while a full super-packet still fits, so that none is ever cut short. */
    while (n <= TX_SLOTS - OFFLOAD_SEGMENTS_MAX && n < CLIENT_BATCH) {
        int k = read_tun(c, n, lens);
        if (k < 0)
            break;
        n += k;
    }
    if (!n)
        return;
    struct client_session *s = __atomic_load_n(&c->tx, __ATOMIC_ACQUIRE);
    if (!s) {
        c->tx_drops += (uint64_t)n;     /* not connected (yet, or any more) */
        return;
    }
    uint64_t first = __atomic_fetch_add(&s->send_counter, (uint64_t)n, __ATOMIC_RELAXED);
    for (int i = 0; i < n; i++) {
        size_t len = seal(c, s, first + (uint64_t)i, out_buf[i], MSG_DATA,
                          out_buf[i] + TRANSPORT_OVERHEAD, lens[i]);
        udp_batch_add(&c->tx_batch, out_buf[i], len, NULL);
        c->tx_packets++;
        c->tx_bytes += lens[i];
    }
    c->tx_drops += udp_batch_flush(&c->tx_batch);
    __atomic_store_n(&c->last_tx_mono, clock_monotonic_ms(), __ATOMIC_RELAXED);
}

void *datapath_tun_thread(void *arg)
{
    struct client *c = arg;
    udp_batch_init(&c->tx_batch, c->udp_fd, true, 0);
    struct pollfd p[2] = { { .fd = c->tun_fd, .events = POLLIN },
                           { .fd = c->stop_fd, .events = POLLIN } };
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN)
            break;
        if (p[0].revents & POLLIN)
            from_tun(c);
    }
    return NULL;
}

/* Main thread: coalesces what goes into an offloading TUN (vpn/offload.h). */
static struct tcp_gro rx_gro;

static bool tun_deliver(struct client *c, const uint8_t *pkt, size_t len)
{
    if (c->tun_offload) {
        gro_add(&rx_gro, pkt, len);
        return true;
    }
    return write(c->tun_fd, pkt, len) == (ssize_t)len;
}

/* The session a transport datagram belongs to, or NULL. */
static struct client_session *session_of(struct client *c, uint32_t sid)
{
    if (c->cur && c->cur->id == sid)
        return c->cur;
    if (c->prev && c->prev->id == sid)
        return c->prev;
    return NULL;
}

uint64_t client_rx_dropped(const struct client *c)
{
    uint64_t sum = 0;
    for (int i = 0; i < CLIENT_RX_DROPS; i++)
        sum += c->rx_drops[i];
    return sum;
}

/* Returns -1 to exit, 1 when the server ended the session, 0 otherwise. Every datagram ends
 * in exactly one counter: a drop reason, rx_packets or rx_other. */
static int handle(struct client *c, uint8_t *pkt, size_t len)
{
    struct vpn_hdr h;
    if (proto_hdr_parse(pkt, len, &h) != HDR_OK) {
        c->rx_drops[CRX_HEADER]++;
        return 0;
    }
    if (h.type == MSG_CONNECT_RESP)
        return conn_on_response(c, pkt, len);
    if (h.type == MSG_SESSION_UNKNOWN) {
        conn_on_session_unknown(c, get_be32(pkt + HDR_LEN), get_be64(pkt + HDR_LEN + 4));
        return 0;
    }
    if (!proto_is_transport(h.type)) {
        c->rx_drops[CRX_UNEXPECTED]++;
        return 0;
    }
    uint32_t sid;
    uint64_t counter;
    struct client_session *s;
    if (!proto_transport_ids(pkt, &h, &sid, &counter)) {
        c->rx_drops[CRX_SEQUENCE]++;
        return 0;
    }
    if (!(s = session_of(c, sid))) {
        c->rx_drops[CRX_NO_SESSION]++;
        return 0;
    }
    if (!replay_check(&s->rx, counter)) {
        c->rx_drops[CRX_REPLAY]++;
        return 0;
    }
    uint8_t *pt = pkt + TRANSPORT_OVERHEAD;
    size_t pt_len = len - TRANSPORT_OVERHEAD;
    if (!transport_open(pt, pkt, len, s->k_s2c)) {
        c->rx_drops[CRX_AUTH]++;
        return 0;
    }
    uint64_t now = conn_server_time(c);
    uint64_t diff = now > h.ts ? now - h.ts : h.ts - now;
    if (diff > 5000 + 2000) {
        /* The server's window is replay_window_ms (5 s by default); we allow our offset
         * estimate's error on top. */
        c->rx_drops[CRX_STALE]++;
        return 0;
    }
    replay_mark(&s->rx, counter);
    c->last_rx_mono = clock_monotonic_ms();
    if (h.type != MSG_DATA)
        c->rx_other++;
    switch (h.type) {
    case MSG_DATA:
        if (pt_len < 20) {
            c->rx_drops[CRX_INNER]++;
        } else if (tun_deliver(c, pt, pt_len)) {
            c->rx_packets++;
            c->rx_bytes += pt_len;
        } else {
            c->rx_drops[CRX_TUN_WRITE]++;
        }
        break;
    case MSG_PING: {
        uint8_t stamp[PONG_PLAINTEXT];
        put_be64(stamp, h.ts);
        datapath_send(c, MSG_PONG, stamp, sizeof(stamp));
        break;
    }
    case MSG_DISCONNECT:
        if (s == c->cur)
            return 1;
        c->prev = NULL;     /* wiped when its slot is reused */
        break;
    default:
        break;
    }
    return 0;
}

int datapath_from_udp(struct client *c)
{
    struct mmsghdr msgs[CLIENT_BATCH];
    struct iovec iov[CLIENT_BATCH];
    for (int i = 0; i < CLIENT_BATCH; i++) {
        iov[i].iov_base = in_buf[i];
        iov[i].iov_len = SLOT_DATA;
        memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(c->udp_fd, msgs, CLIENT_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    int rc = 0;
    if (rx_gro.fd != c->tun_fd)
        gro_init(&rx_gro, c->tun_fd);
    for (int i = 0; i < n && rc >= 0; i++) {
        int r = handle(c, in_buf[i], msgs[i].msg_len);
        if (r < 0)
            rc = -1;
        else if (r > 0) {
            log_warn("The server ended the session: reconnecting");
            conn_drop_sessions(c);
            c->state = CLIENT_HANDSHAKE;
            c->attempt = 0;
            c->first_attempt_mono = clock_monotonic_ms();
            c->next_attempt_mono = c->first_attempt_mono + 1000;
        }
    }
    if (c->tun_offload) {
        gro_flush(&rx_gro);
        /* A failed write of a coalesced run loses packets already counted as delivered:
         * counted here as well, once per write. */
        c->rx_drops[CRX_TUN_WRITE] += rx_gro.write_errors;
        rx_gro.write_errors = 0;
    }
    return rc;
}
