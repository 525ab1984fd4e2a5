/* RX thread: UDP datagrams in batches (recvmmsg) to the enclave workers' in_rx rings, from
 * our own port and, when [wireguard] is enabled, from the WireGuard port.
 *
 * Per datagram it does only the cheap checks of PROTOCOL.md (header, known session) or of
 * WireGuard's wire format, and one copy into the owning worker's ring; the doorbell of each
 * worker touched is rung once per batch. A full ring drops (counted), it never blocks this
 * thread. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>

#include "server.h"
#include "tx_role.h"
#include "handshake_guard.h"
#include "source_limit.h"
#include "wg_guard.h"
#include "vpn/cookie.h"
#include "vpn/log.h"
#include "vpn/spin.h"
#include "vpn/thread_slice.h"

/* SESSION_UNKNOWN hints are limited per source to a trickle (source_limit.h). */
enum { HINT_RATE = 1, HINT_BURST = 2, HINT_GLOBAL_RATE = 1000, HINT_GLOBAL_BURST = 1000 };

/* Answers the RX thread sends itself (hints, cookie replies), sent once per batch. */
struct rx_replies {
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    struct sockaddr_in6 to[BATCH_MAX];
    uint8_t buf[BATCH_MAX][COOKIE_REPLY_LEN];   /* our port's, the largest reply */
    int n;
};
_Static_assert((int)COOKIE_REPLY_LEN >= (int)WG_COOKIE_REPLY_LEN, "a reply slot holds either port's");

struct rx_batch {
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    struct sockaddr_in6 from[BATCH_MAX];
    uint8_t buf[BATCH_MAX][SLOT_DATA];
    uint32_t pending[MAX_WORKERS];      /* in_rx slots filled per worker, not yet published */
    uint32_t pending_hs[MAX_WORKERS];   /* in_hs slots, likewise */
    struct handshake_guard guard;
    struct source_limit hints;
    struct rx_replies replies;
    struct wg_guard wg_guard;           /* the WireGuard port's, when it is open... */
    bool wg_guarded;                    /* ...and started */
    uint64_t now_ms, wall_ms;
    uint64_t last_batch_ns;             /* borrow_after_quiet (tx_role.h) */
};

static void prepare(struct rx_batch *b)
{
    for (int i = 0; i < BATCH_MAX; i++) {
        b->iov[i].iov_base = b->buf[i];
        b->iov[i].iov_len = SLOT_DATA;
        memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
        b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
        b->msgs[i].msg_hdr.msg_iovlen = 1;
        b->msgs[i].msg_hdr.msg_name = &b->from[i];
        b->msgs[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
    }
}

/* Copies one datagram into ring r of worker w (in_rx or in_hs; unpublished until the batch
 * ends). */
static void enqueue(struct server *srv, int w, struct ring *r, uint32_t *pending, uint16_t op,
                    uint16_t aux, uint32_t sid, const uint8_t *data, size_t len,
                    const struct sockaddr_in6 *from)
{
    if (!enclave_ring_room(&srv->enclave, w, r, &pending[w], 1, 1)) {
        counter_inc(&srv->rx_drops[RX_DROP_RING_FULL]);
        r->idx->dropped++;
        return;
    }
    struct pkt_slot *slot = ring_produce_slot(r, pending[w]);
    slot->meta.op = op;
    slot->meta.len = (uint16_t)len;
    slot->meta.aux = aux;
    slot->meta.session_id = sid;
    slot->meta.cookie = 0;
    slot->meta.peer = *from;
    memcpy(slot->data, data, len);
    pending[w]++;
}

static void reply(struct rx_batch *b, const uint8_t *data, size_t len,
                  const struct sockaddr_in6 *to)
{
    struct rx_replies *r = &b->replies;
    if (r->n == BATCH_MAX || len > sizeof(r->buf[0]))
        return;
    memcpy(r->buf[r->n], data, len);
    r->to[r->n] = *to;
    r->iov[r->n] = (struct iovec){ .iov_base = r->buf[r->n], .iov_len = len };
    r->msgs[r->n].msg_hdr = (struct msghdr){ .msg_name = &r->to[r->n],
                                             .msg_namelen = sizeof(r->to[r->n]),
                                             .msg_iov = &r->iov[r->n], .msg_iovlen = 1 };
    r->n++;
}

/* The batch's replies, from the socket it was read from (a batch holds one port's datagrams). */
static void send_replies(struct server *srv, struct rx_batch *b, int fd)
{
    struct rx_replies *r = &b->replies;
    if (r->n && sendmmsg(fd, r->msgs, (unsigned)r->n, MSG_DONTWAIT) < r->n)
        counter_inc(&srv->rx_drops[RX_DROP_REPLY_SEND]);
    r->n = 0;
}

/* A transport message for a session we do not have (the server or its enclave restarted, or
 * the session timed out): tell the sender, so that it handshakes again at once instead of
 * after three keepalive intervals (docs/PROTOCOL.md, extension 2). Rate-limited per source;
 * the hint is smaller than the message that caused it. */
static void hint_unknown(struct server *srv, struct rx_batch *b, const uint8_t *pkt, uint32_t sid,
                         const struct sockaddr_in6 *from)
{
    if (!source_limit_allow(&b->hints, from, b->now_ms))
        return;
    uint8_t hint[SESSION_UNKNOWN_LEN];
    proto_session_unknown(hint, sid, get_be64(pkt + HDR_LEN + 4), b->wall_ms);
    reply(b, hint, sizeof(hint), from);
    counter_inc(&srv->hints_sent);
}

/* Whether the handshake ring of worker w is an eighth full or more, or the workers lately
 * refused many handshakes (auth pressure): either port's guard then asks for cookies. */
static bool handshakes_busy(struct server *srv, const struct rx_batch *b, int w)
{
    struct ring *r = &srv->enclave.rings[w].in_hs;
    uint32_t used = ring_capacity(r) - ring_free(r) + b->pending_hs[w];
    return used >= ring_capacity(r) / 8 ||
           b->now_ms < __atomic_load_n(&srv->auth_pressure_until_ms, __ATOMIC_RELAXED);
}

/* A CONNECT_REQ: the guard decides (handshake_guard.h); what passes goes to a worker's
 * handshake ring, apart from data so that a flood of handshakes cannot hold data up. */
static void handshake(struct server *srv, struct rx_batch *b, const uint8_t *pkt, size_t len,
                      const struct sockaddr_in6 *from)
{
    int w = (int)(srv->rx_rr % (uint32_t)srv->enclave.workers);
    struct ring *r = &srv->enclave.rings[w].in_hs;
    uint8_t answer[COOKIE_REPLY_LEN];
    size_t answer_len = 0;
    bool busy = handshakes_busy(srv, b, w);
    enum guard_verdict v = handshake_guard_check(&b->guard, pkt, from, busy, b->now_ms,
                                                 b->wall_ms, answer, &answer_len);
    switch (v) {
    case GUARD_PASS:
    case GUARD_PASS_PROVEN:
        srv->rx_rr++;
        enqueue(srv, w, r, b->pending_hs, OP_HELLO, v == GUARD_PASS_PROVEN ? HELLO_SOURCE_PROVEN : 0,
                0, pkt, len, from);
        return;
    case GUARD_COOKIE:
        reply(b, answer, answer_len, from);
        counter_inc(&srv->cookies_sent);
        return;
    case GUARD_BAD_MAC1:
        counter_inc(&srv->rx_drops[RX_DROP_BAD_MAC1]);
        return;
    case GUARD_LEGACY_LOADED:
        counter_inc(&srv->rx_drops[RX_DROP_LEGACY_LOADED]);
        return;
    case GUARD_COOKIE_LIMITED:
        counter_inc(&srv->rx_drops[RX_DROP_COOKIE_RATE]);
        return;
    case GUARD_RATE:
        counter_inc(&srv->rx_drops[RX_DROP_HANDSHAKE_RATE]);
        return;
    }
}

static void classify(struct server *srv, struct rx_batch *b, int i)
{
    const uint8_t *pkt = b->buf[i];
    size_t len = b->msgs[i].msg_len;
    struct vpn_hdr h;
    enum hdr_verdict v = proto_hdr_parse(pkt, len, &h);
    if (v != HDR_OK) {
        counter_inc(&srv->rx_hdr_verdicts[v]);
        counter_inc(&srv->rx_drops[RX_DROP_HEADER]);
        return;
    }
    if (h.type == MSG_CONNECT_REQ) {
        handshake(srv, b, pkt, len, &b->from[i]);
        return;
    }
    if (h.type == MSG_CONNECT_RESP || h.type == MSG_SESSION_UNKNOWN ||
        h.type == MSG_COOKIE_REPLY) {
        counter_inc(&srv->rx_drops[RX_DROP_UNEXPECTED]);
        return;
    }
    uint32_t sid = get_be32(pkt + HDR_LEN);
    if (!sessions_find_id(&srv->sessions, sid)) {
        counter_inc(&srv->rx_drops[RX_DROP_NO_SESSION]);
        hint_unknown(srv, b, pkt, sid, &b->from[i]);
        return;
    }
    int w = enclave_worker_of(&srv->enclave, sid);
    enqueue(srv, w, &srv->enclave.rings[w].in_rx, b->pending, OP_DECRYPT, 0, sid, pkt, len,
            &b->from[i]);
}

/* A WireGuard initiation: the WireGuard guard decides (wg_guard.h: mac1, load, cookies,
 * budgets) before a worker spends a Diffie-Hellman on it. */
static void wg_handshake(struct server *srv, struct rx_batch *b, const uint8_t *pkt, size_t len,
                         const struct sockaddr_in6 *from)
{
    int w = (int)(srv->rx_rr % (uint32_t)srv->enclave.workers);
    uint8_t answer[WG_COOKIE_REPLY_LEN];
    size_t answer_len = 0;
    if (!b->wg_guarded) {
        counter_inc(&srv->rx_drops[RX_DROP_WG_BAD_MAC1]);
        return;
    }
    switch (wg_guard_check(&b->wg_guard, pkt, from, handshakes_busy(srv, b, w), b->now_ms,
                           answer, &answer_len)) {
    case WG_GUARD_PASS:
        srv->rx_rr++;
        enqueue(srv, w, &srv->enclave.rings[w].in_hs, b->pending_hs, OP_WG_HELLO, 0, 0, pkt,
                len, from);
        return;
    case WG_GUARD_COOKIE:
        reply(b, answer, answer_len, from);
        counter_inc(&srv->cookies_sent);
        return;
    case WG_GUARD_BAD_MAC1:
        counter_inc(&srv->rx_drops[RX_DROP_WG_BAD_MAC1]);
        return;
    case WG_GUARD_COOKIE_LIMITED:
        counter_inc(&srv->rx_drops[RX_DROP_WG_COOKIE_RATE]);
        return;
    case WG_GUARD_RATE:
        counter_inc(&srv->rx_drops[RX_DROP_WG_HANDSHAKE_RATE]);
        return;
    }
}

/* A datagram on the WireGuard port: initiations to a worker's handshake ring, transport
 * messages to their session's worker (our session id is the receiver index we gave the
 * peer). We never initiate, so responses and cookie replies are not for us. */
static void classify_wireguard(struct server *srv, struct rx_batch *b, int i)
{
    const uint8_t *pkt = b->buf[i];
    size_t len = b->msgs[i].msg_len;
    switch (wg_classify(pkt, (unsigned)len)) {
    case WG_MSG_INITIATION:
        wg_handshake(srv, b, pkt, len, &b->from[i]);
        return;
    case WG_MSG_TRANSPORT: {
        uint32_t sid = wg_get_le32(pkt + WG_DATA_RECEIVER);
        struct session *s = sessions_find_id(&srv->sessions, sid);
        if (!s || !s->wireguard) {
            counter_inc(&srv->rx_drops[RX_DROP_WG_NO_SESSION]);
            return;
        }
        int w = enclave_worker_of(&srv->enclave, sid);
        enqueue(srv, w, &srv->enclave.rings[w].in_rx, b->pending, OP_WG_DECRYPT, 0, sid, pkt,
                len, &b->from[i]);
        return;
    }
    default:
        counter_inc(&srv->rx_drops[RX_DROP_WG_MALFORMED]);
        return;
    }
}

void *rx_thread_main(void *arg)
{
    struct server *srv = arg;
    static struct rx_batch batch;   /* one RX thread: static keeps 100 KB off its stack */
    struct rx_batch *b = &batch;
    prepare(b);
    handshake_guard_init(&b->guard, srv->s_pub, clock_monotonic_ms());
    source_limit_init(&b->hints, HINT_RATE, HINT_BURST, HINT_GLOBAL_RATE, HINT_GLOBAL_BURST);
    /* main.c fetched BLAKE2s before the filter (wg_blake2s_init), so only memory can fail
     * here; the port then stays open for the sessions there are, its initiations dropped. */
    b->wg_guarded = srv->wg_fd >= 0 &&
                    wg_guard_init(&b->wg_guard, srv->wg_pub, clock_monotonic_ms()) == 0;
    if (srv->wg_fd >= 0 && !b->wg_guarded)
        log_error("WireGuard: the guard could not start; initiations will be dropped");
    /* Our port, then the WireGuard port (if any), each read in turn. */
    int fds[2] = { srv->udp_fd, srv->wg_fd };
    int nfds = srv->wg_fd >= 0 ? 2 : 1, turn = 0, idle = 0;
    rcu_register_thread();
    thread_short_slice();
    while (!srv->stopping) {
        int fd = fds[turn];
        bool wireguard = turn == 1;
        turn = (turn + 1) % nfds;
        for (int i = 0; i < BATCH_MAX; i++)
            b->msgs[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
        int n = recvmmsg(fd, b->msgs, BATCH_MAX, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                static struct log_limit lim;
                log_limited(&lim, LOG_WARN, "UDP receive: %s", strerror(errno));
            }
            /* Sleep only when every socket came back empty in a row. */
            if (++idle >= nfds) {
                idle = 0;
                if (!server_wait_readable(srv, fds, nfds, -1))
                    break;
            }
            continue;
        }
        idle = 0;
        uint64_t now_ns = spin_clock_ns();     /* CLOCK_MONOTONIC, read once a batch */
        b->now_ms = now_ns / 1000000u;
        b->wall_ms = clock_realtime_ms();
        rcu_read_lock();
        for (int i = 0; i < n; i++) {
            if (wireguard)
                classify_wireguard(srv, b, i);
            else
                classify(srv, b, i);
        }
        rcu_read_unlock();
        /* A packet or two: see them through the worker ourselves (tx_role.h). What we
         * write to the TUN is usually answered before the write returns: read the answer
         * too, and keep the TUN thread asleep meanwhile. */
        bool borrowed = tx_role_borrow(srv, &b->last_batch_ns, now_ns, n,
                                       enclave_batch_pending(&srv->enclave, b->pending));
        if (borrowed)
            tun_wakeups_pause(srv);
        enclave_publish_batch(&srv->enclave, offsetof(struct worker_rings, in_rx), b->pending);
        enclave_publish_batch(&srv->enclave, offsetof(struct worker_rings, in_hs), b->pending_hs);
        send_replies(srv, b, fd);
        if (borrowed) {
            if (tx_role_run(srv, BORROW_WAIT_US))
                tun_role_pass(srv);
            tun_wakeups_resume(srv);
        }
        uint64_t until = handshake_load_until(&b->guard.load);
        if (b->wg_guarded && handshake_load_until(&b->wg_guard.load) > until)
            until = handshake_load_until(&b->wg_guard.load);
        __atomic_store_n(&srv->under_load_until_ms, until, __ATOMIC_RELAXED);
        rcu_quiescent_state();
    }
    rcu_unregister_thread();
    if (b->wg_guarded)
        wg_guard_uninit(&b->wg_guard);
    return NULL;
}
