/* The client's data path (see datapath.h): TUN packets sealed as DATA in batches (sendmmsg),
 * datagrams from the server in batches (recvmmsg) opened and written to the TUN. The receive
 * checks are PROTOCOL.md's, in its order; what fails is counted and dropped. What the
 * connection must hear of is reported as an event, never acted on here. */
#include "datapath.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "reply_wait.h"
#include "vpn/aead.h"
#include "vpn/fd_watch.h"
#include "vpn/log.h"
#include "vpn/offload.h"
#include "vpn/proto.h"
#include "vpn/role.h"
#include "vpn/spin.h"
#include "vpn/transport.h"
#include "vpn/udp_batch.h"

enum { CLIENT_BATCH = BATCH_MAX, DATAGRAM_MAX = MTU_MAX + TRANSPORT_OVERHEAD };

/* TUN thread: room for two super-packets' worth of segments per batch. */
enum { TX_SLOTS = 2 * OFFLOAD_SEGMENTS_MAX };
static uint8_t out_buf[TX_SLOTS][DATAGRAM_MAX];
static uint8_t read_buf[OFFLOAD_READ_MAX];
static uint8_t in_buf[CLIENT_BATCH][SLOT_DATA];       /* main thread */

/* Seals with counter, one of the counters of s reserved by the caller. */
static size_t seal(struct client *c, struct client_session *s, uint64_t counter, uint8_t *out,
                   uint8_t type, const uint8_t *pt, size_t len)
{
    return transport_seal(out, type, s->k_c2s, s->id, counter, client_server_time(c), pt, len);
}

/* Main thread: control messages (PING, PONG, DISCONNECT) on the current session. */
bool datapath_send(struct client *c, uint8_t type, const uint8_t *pt, size_t len)
{
    uint8_t out[DATAGRAM_MAX];
    struct client_session *s = c->slots.cur;
    if (!s || len > MTU_MAX)
        return false;
    uint64_t counter = __atomic_fetch_add(&s->send_counter, 1, __ATOMIC_RELAXED);
    size_t n = seal(c, s, counter, out, type, pt, len);
    __atomic_store_n(&c->last_tx_mono, clock_monotonic_ms(), __ATOMIC_RELAXED);
    return send(c->udp_fd, out, n, 0) == (ssize_t)n;
}

/* Reads one TUN packet (or super-packet, cut into segments) into out_buf[n..]; returns how
 * many slots it filled, 0 for nothing to send, -1 when the device is empty. */
static int read_tun(struct client *c, uint16_t mtu, int n, size_t lens[])
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
    int k = offload_split(read_buf, (size_t)r, mtu, out, lens + n, max);
    if (k <= 0)
        c->tx_drops++;
    return k < 0 ? 0 : k;
}

/* TUN thread: a batch of TUN reads, sealed and sent with sendmmsg. Returns how many packets
 * went out. */
static int from_tun(struct client *c)
{
    size_t lens[TX_SLOTS];
    int n = 0;
    struct client_session *s = slots_tx_begin(&c->slots);
    uint16_t mtu = s && s->mtu ? s->mtu : MTU_MAX;
    /* Stop while a full super-packet still fits, so that none is ever cut short. */
    while (n <= TX_SLOTS - OFFLOAD_SEGMENTS_MAX && n < CLIENT_BATCH) {
        int k = read_tun(c, mtu, n, lens);
        if (k < 0)
            break;
        n += k;
    }
    if (!n || !s) {
        c->tx_drops += (uint64_t)n;     /* not connected (yet, or any more) */
        slots_tx_end(&c->slots);
        return 0;
    }
    uint64_t first = __atomic_fetch_add(&s->send_counter, (uint64_t)n, __ATOMIC_RELAXED);
    for (int i = 0; i < n; i++) {
        size_t len = seal(c, s, first + (uint64_t)i, out_buf[i], MSG_DATA,
                          out_buf[i] + TRANSPORT_OVERHEAD, lens[i]);
        udp_batch_add(&c->tx_batch, out_buf[i], len, NULL);
        c->tx_packets++;
        c->tx_bytes += lens[i];
    }
    slots_tx_end(&c->slots);    /* sealed: the datagrams no longer need the session */
    c->tx_drops += udp_batch_flush(&c->tx_batch);
    __atomic_store_n(&c->last_tx_mono, clock_monotonic_ms(), __ATOMIC_RELAXED);
    return n;
}

/* TUN thread: after `sent` packets went out, takes their reply with the receive role, as the
 * main thread would, if reply_wait.h says to wait and the main thread is asleep. */
static void await_reply(struct client *c, struct reply_wait *w, int sent)
{
    uint64_t main_rx = counter_read(&c->main_rx);
    uint32_t window_us = reply_wait_window(w, sent, main_rx);
    if (!window_us || !role_take(&c->rx_role))
        return;
    /* The main thread, asleep, is not to be woken for the reply (vpn/fd_watch.h). */
    if (c->udp_watch >= 0)
        fd_watch_pause_or_warn(c->udp_watch, c->udp_watched, "the UDP socket");
    uint64_t start = spin_clock_ns();
    struct spin look;
    spin_worked(&look, window_us);
    int got;
    /* spin_again yields at each look: the server's side of the reply may need this CPU. */
    while (!(got = datapath_from_udp(c, c->on_event)) && spin_again(&look))
        ;
    if (got < 0) {
        /* An event asked the client to exit: the main thread does. Said under the role, so
         * that the main thread, taking it next, handles nothing more. */
        uint64_t one = 1;
        c->rx_exit = true;
        if (write(c->exit_fd, &one, sizeof(one)) != sizeof(one))
            log_warn("Cannot tell the main thread to exit: %s", strerror(errno));
    }
    if (c->udp_watch >= 0)
        fd_watch_resume_or_complain(c->udp_watch, c->udp_watched, "the UDP socket");
    role_release(&c->rx_role);
    reply_wait_done(w, got != 0, (uint32_t)((spin_clock_ns() - start) / 1000u));
    counter_inc(&c->reply_waits);
    if (got)
        counter_inc(&c->replies_caught);
}

void *datapath_tun_thread(void *arg)
{
    struct client *c = arg;
    /* Named by itself (prctl): the main thread may no longer open /proc/self/task/N/comm of
     * a non-dumpable process. Then main may install the filter, which this thread's start-up
     * in libc would not pass. */
    pthread_setname_np(pthread_self(), "vpn-client-tun");
    if (aead_init() != 0)       /* before main installs the filter */
        log_warn("OpenSSL's AEAD is unavailable to the TUN thread: libsodium's serves instead");
    sem_post(&c->tun_started);
    udp_batch_init(&c->tx_batch, c->udp_fd, true, 0);
    struct pollfd p[2] = { { .fd = c->tun_fd, .events = POLLIN },
                           { .fd = c->stop_fd, .events = POLLIN } };
    struct reply_wait wait = { 0 };
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN)
            break;
        if (p[0].revents & POLLIN)
            await_reply(c, &wait, from_tun(c));
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

/* Authenticated messages since the last event: reported as one CEV_TRAFFIC before the next
 * event (which may depend on when the last one came, as a hint does) and at a batch's end. */
struct rx_batch {
    client_event_fn report;
    uint64_t now_ms;
    bool traffic;
};

/* Reports the traffic seen so far, then ev (if any), and counts ev's datagram by the
 * receiver's verdict. Returns -1 when the client must exit. */
static int report(struct client *c, struct rx_batch *b, struct client_event *ev,
                  enum client_rx_drop reason)
{
    if (b->traffic) {
        struct client_event t = { .type = CEV_TRAFFIC, .now_ms = b->now_ms };
        b->traffic = false;
        if (b->report(c, &t) == EV_EXIT)
            return -1;
    }
    if (!ev)
        return 0;
    ev->now_ms = b->now_ms;
    int verdict = b->report(c, ev);
    if (verdict == EV_DROPPED)
        c->rx_drops[reason]++;
    else
        c->rx_other++;  /* taken, even when the receiver then asks to exit */
    return verdict == EV_EXIT ? -1 : 0;
}

/* One datagram, checked in PROTOCOL.md's receiver order; it lands in exactly one counter: a
 * drop reason, rx_packets or rx_other. Returns -1 when report asked to exit. */
static int handle(struct client *c, struct rx_batch *b, uint8_t *pkt, size_t len)
{
    struct vpn_hdr h;
    struct client_event ev = { .buf = pkt, .len = len };
    enum client_rx_drop why;
    if (proto_hdr_parse(pkt, len, &h) != HDR_OK) {
        why = CRX_HEADER;
        goto drop;
    }
    switch (h.type) {
    case MSG_CONNECT_RESP:
        ev.type = CEV_RESPONSE;
        return report(c, b, &ev, CRX_RESPONSE);
    case MSG_COOKIE_REPLY:
        ev.type = CEV_COOKIE_REPLY;
        return report(c, b, &ev, CRX_COOKIE);
    case MSG_SESSION_UNKNOWN:
        ev.type = CEV_SESSION_UNKNOWN;
        ev.sid = get_be32(pkt + HDR_LEN);
        ev.counter = get_be64(pkt + HDR_LEN + 4);
        return report(c, b, &ev, CRX_HINT);
    default:
        break;
    }
    if (!proto_is_transport(h.type)) {
        why = CRX_UNEXPECTED;
        goto drop;
    }
    uint32_t sid;
    uint64_t counter;
    struct client_session *s;
    if (!proto_transport_ids(pkt, &h, &sid, &counter)) {
        why = CRX_SEQUENCE;
        goto drop;
    }
    if (!(s = slots_find(&c->slots, sid))) {
        why = CRX_NO_SESSION;
        goto drop;
    }
    if (!replay_check(&s->rx, counter)) {
        why = CRX_REPLAY;
        goto drop;
    }
    uint8_t *pt = pkt + TRANSPORT_OVERHEAD;
    size_t pt_len = len - TRANSPORT_OVERHEAD;
    if (!transport_open(pt, pkt, len, s->k_s2c)) {
        why = CRX_AUTH;
        goto drop;
    }
    /* Step 6, against our estimate of the server's time: the session's window is the
     * server's (pushed or default) plus our estimate's error (slots.h, vpn/limits.h). */
    uint64_t now = client_server_time(c);
    uint64_t diff = now > h.ts ? now - h.ts : h.ts - now;
    if (diff > s->ts_window_ms) {
        why = CRX_STALE;
        goto drop;
    }
    replay_mark(&s->rx, counter);
    b->traffic = true;
    switch (h.type) {
    case MSG_DATA:
        if (pt_len < 20) {
            why = CRX_INNER;
            goto drop;
        }
        if (!tun_deliver(c, pt, pt_len)) {
            why = CRX_TUN_WRITE;
            goto drop;
        }
        c->rx_packets++;
        c->rx_bytes += pt_len;
        return 0;
    case MSG_PING: {
        uint8_t stamp[PONG_PLAINTEXT];
        put_be64(stamp, h.ts);
        datapath_send(c, MSG_PONG, stamp, sizeof(stamp));
        c->rx_other++;
        return 0;
    }
    case MSG_DISCONNECT:
        ev.type = CEV_DISCONNECT;
        ev.sid = sid;
        ev.reason = pt_len ? pt[0] : 0;
        return report(c, b, &ev, CRX_NO_SESSION);   /* always taken */
    default:
        c->rx_other++;  /* PONG */
        return 0;
    }
drop:
    c->rx_drops[why]++;
    return 0;
}

/* The end of a batch: what is left to report, and the coalesced TUN writes. */
static int finish_batch(struct client *c, struct rx_batch *b, int rc)
{
    if (rc >= 0)
        rc = report(c, b, NULL, CRX_HEADER);
    if (c->tun_offload) {
        gro_flush(&rx_gro);
        /* A failed write of a coalesced run loses packets already counted as delivered:
         * counted here as well, once per write. */
        c->rx_drops[CRX_TUN_WRITE] += rx_gro.write_errors;
        rx_gro.write_errors = 0;
    }
    return rc < 0 ? -1 : 0;
}

uint64_t client_rx_dropped(const struct client *c)
{
    uint64_t sum = 0;
    for (int i = 0; i < CLIENT_RX_DROPS; i++)
        sum += c->rx_drops[i];
    return sum;
}

int datapath_receive(struct client *c, uint8_t *pkt, size_t len, uint64_t now_ms,
                     client_event_fn report_fn)
{
    struct rx_batch b = { .report = report_fn, .now_ms = now_ms };
    if (rx_gro.fd != c->tun_fd)
        gro_init(&rx_gro, c->tun_fd);
    return finish_batch(c, &b, handle(c, &b, pkt, len));
}

int datapath_from_udp(struct client *c, client_event_fn report_fn)
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
    struct rx_batch b = { .report = report_fn, .now_ms = clock_monotonic_ms() };
    int rc = 0;
    if (rx_gro.fd != c->tun_fd)
        gro_init(&rx_gro, c->tun_fd);
    for (int i = 0; i < n && rc >= 0; i++)
        rc = handle(c, &b, in_buf[i], msgs[i].msg_len);
    return finish_batch(c, &b, rc) < 0 ? -1 : n;
}
