/* RX thread: UDP datagrams in batches (recvmmsg) to the enclave workers' in_rx rings.
 *
 * Per datagram it does only the cheap checks of PROTOCOL.md (header, known session) and one
 * copy into the owning worker's ring; the doorbell of each worker touched is rung once per
 * batch. A full ring drops (counted), it never blocks this thread. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "server.h"
#include "source_limit.h"
#include "vpn/log.h"

/* Handshakes cost the enclave two X25519 operations each, so a source may not make it do more
 * than HANDSHAKE_RATE of them per second (with a burst for a whole office behind one NAT
 * coming back after a server restart), and all sources together no more than
 * HANDSHAKE_GLOBAL_RATE. Beyond that, requests are dropped before any cryptography.
 * SESSION_UNKNOWN hints are limited the same way, to a trickle per source. */
enum {
    HANDSHAKE_RATE = 200,
    HANDSHAKE_BURST = 400,
    HANDSHAKE_GLOBAL_RATE = 20000,
    HANDSHAKE_GLOBAL_BURST = 20000,
    HINT_RATE = 1,
    HINT_BURST = 2,
    HINT_GLOBAL_RATE = 1000,
    HINT_GLOBAL_BURST = 1000,
};

struct rx_batch {
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    struct sockaddr_in6 from[BATCH_MAX];
    uint8_t buf[BATCH_MAX][SLOT_DATA];
    uint32_t pending[MAX_WORKERS];      /* slots filled per worker, not yet published */
    struct source_limit handshakes, hints;
    uint64_t now_ms;
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

/* Copies one datagram into worker w's in_rx ring (unpublished until the batch ends). */
static void enqueue(struct server *srv, struct rx_batch *b, int w, uint16_t op, uint32_t sid,
                    const uint8_t *data, size_t len, const struct sockaddr_in6 *from)
{
    struct ring *r = &srv->enclave.rings[w].in_rx;
    if (!enclave_ring_room(&srv->enclave, w, r, &b->pending[w], 1, 1)) {
        counter_inc(&srv->rx_drops[RX_DROP_RING_FULL]);
        r->idx->dropped++;
        return;
    }
    struct pkt_slot *slot = ring_produce_slot(r, b->pending[w]);
    slot->meta.op = op;
    slot->meta.len = (uint16_t)len;
    slot->meta.aux = 0;
    slot->meta.session_id = sid;
    slot->meta.cookie = 0;
    slot->meta.peer = *from;
    memcpy(slot->data, data, len);
    b->pending[w]++;
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
    proto_session_unknown(hint, sid, get_be64(pkt + HDR_LEN + 4), clock_realtime_ms());
    server_send_datagram(srv, hint, sizeof(hint), from);
    counter_inc(&srv->hints_sent);
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
        if (!source_limit_allow(&b->handshakes, &b->from[i], b->now_ms)) {
            counter_inc(&srv->rx_drops[RX_DROP_HANDSHAKE_RATE]);
            return;
        }
        int w = (int)(srv->rx_rr++ % (uint32_t)srv->enclave.workers);
        enqueue(srv, b, w, OP_HELLO, 0, pkt, len, &b->from[i]);
        return;
    }
    if (h.type == MSG_CONNECT_RESP || h.type == MSG_SESSION_UNKNOWN) {
        counter_inc(&srv->rx_drops[RX_DROP_UNEXPECTED]);
        return;
    }
    uint32_t sid = get_be32(pkt + HDR_LEN);
    if (!sessions_find_id(&srv->sessions, sid)) {
        counter_inc(&srv->rx_drops[RX_DROP_NO_SESSION]);
        hint_unknown(srv, b, pkt, sid, &b->from[i]);
        return;
    }
    enqueue(srv, b, enclave_worker_of(&srv->enclave, sid), OP_DECRYPT, sid, pkt, len, &b->from[i]);
}

void *rx_thread_main(void *arg)
{
    struct server *srv = arg;
    static struct rx_batch batch;   /* one RX thread: static keeps 100 KB off its stack */
    struct rx_batch *b = &batch;
    prepare(b);
    source_limit_init(&b->handshakes, HANDSHAKE_RATE, HANDSHAKE_BURST, HANDSHAKE_GLOBAL_RATE,
                      HANDSHAKE_GLOBAL_BURST);
    source_limit_init(&b->hints, HINT_RATE, HINT_BURST, HINT_GLOBAL_RATE, HINT_GLOBAL_BURST);
    rcu_register_thread();
    while (!srv->stopping) {
        for (int i = 0; i < BATCH_MAX; i++)
            b->msgs[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
        int n = recvmmsg(srv->udp_fd, b->msgs, BATCH_MAX, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                static struct log_limit lim;
                log_limited(&lim, LOG_WARN, "UDP receive: %s", strerror(errno));
            }
            if (!server_wait_readable(srv, &srv->udp_fd, 1, -1))
                break;
            continue;
        }
        b->now_ms = clock_monotonic_ms();
        rcu_read_lock();
        for (int i = 0; i < n; i++)
            classify(srv, b, i);
        rcu_read_unlock();
        enclave_publish_batch(&srv->enclave, offsetof(struct worker_rings, in_rx), b->pending);
        rcu_quiescent_state();
    }
    rcu_unregister_thread();
    return NULL;
}
