/* The TUN role: IP packets the kernel routes into the tunnel, to the in_tun ring of the worker
 * that owns the destination's session. Reads until the device is empty or a batch is full,
 * then publishes and rings each touched worker once. The TUN thread holds the role while
 * awake; the RX thread borrows it right after it wrote a lone packet to the TUN, whose reply
 * is then usually already queued there (tx_role.h), and pauses the TUN thread's wake-ups
 * meanwhile: the TUN thread sleeps on a watch of the device (vpn/fd_watch.h). */
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "tx_role.h"
#include "vpn/fd_watch.h"
#include "vpn/offload.h"
#include "vpn/spin.h"
#include "vpn/thread_slice.h"

/* Yields the TUN thread may spend waiting for ring room for one super-packet (each a few
 * microseconds when the worker is running, a scheduler slice when it must be woken). */
enum { ROOM_TRIES = 200 };

struct tun_batch {
    uint32_t pending[MAX_WORKERS];
    uint64_t last_batch_ns;     /* borrow_after_quiet (tx_role.h) */
};

static struct session *route(struct server *srv, uint32_t dst)
{
    struct session *s = sessions_find_ip(&srv->sessions, dst);
    if (!s)
        counter_inc(&srv->tun_drops[TUN_DROP_NO_SESSION]);
    return s;
}

static void fill_meta(struct pkt_slot *slot, const struct session *s, const struct sockaddr_in6 *ep,
                      size_t len)
{
    slot->meta.op = OP_ENCRYPT;
    slot->meta.len = (uint16_t)len;
    slot->meta.aux = 0;
    slot->meta.session_id = s->id;
    slot->meta.cookie = 0;
    slot->meta.peer = *ep;
}

/* The ring of the worker that owns dst's session, with room for `need` more slots (waiting up
 * to `tries` yields for it), or NULL (counted). */
static struct ring *ring_for(struct server *srv, struct tun_batch *b, uint32_t dst,
                             uint32_t need, int tries, struct session **sp, int *wp)
{
    struct session *s = route(srv, dst);
    if (!s)
        return NULL;
    int w = s->worker;
    struct ring *r = &srv->enclave.rings[w].in_tun;
    if (!enclave_ring_room(&srv->enclave, w, r, &b->pending[w], need, tries)) {
        counter_inc(&srv->tun_drops[TUN_DROP_RING_FULL]);
        r->idx->dropped++;
        return NULL;
    }
    *sp = s;
    *wp = w;
    return r;
}

/* One plain IP packet. */
static void enqueue(struct server *srv, struct tun_batch *b, const uint8_t *pkt, size_t len)
{
    struct session *s;
    int w;
    if (len < 20 || (pkt[0] >> 4) != 4) {
        srv->tun_drops[TUN_DROP_NOT_IPV4]++;
        return;
    }
    struct ring *r = ring_for(srv, b, get_be32(pkt + 16), 1, 1, &s, &w);
    if (!r)
        return;
    struct sockaddr_in6 ep;
    session_get_endpoint(s, &ep);
    struct pkt_slot *slot = ring_produce_slot(r, b->pending[w]);
    fill_meta(slot, s, &ep, len);
    memcpy(slot->data, pkt, len);
    b->pending[w]++;
    counter_inc(&s->tx_packets);
    counter_add(&s->tx_bytes, len);
}

/* One read from an offloading TUN: cut straight into the owning worker's ring slots. */
static void enqueue_offloaded(struct server *srv, struct tun_batch *b, const uint8_t *buf,
                              size_t len)
{
    struct session *s;
    int w;
    uint32_t dst = offload_peek_dst(buf, len);
    if (!dst) {
        srv->tun_drops[TUN_DROP_NOT_IPV4]++;
        return;
    }
    /* A super-packet needs room for all its segments at once. The TUN thread (unlike the RX
     * thread) may wait a little for it: what waits meanwhile is the kernel's TUN queue,
     * which then pushes back on the LAN sender. The wait is bounded; past it, a drop. */
    int need = offload_segments(buf, len);
    struct ring *r = ring_for(srv, b, dst, need > 0 ? (uint32_t)need : 1, ROOM_TRIES, &s, &w);
    if (!r)
        return;
    uint32_t room = ring_free(r) - b->pending[w];
    uint8_t *out[OFFLOAD_SEGMENTS_MAX];
    size_t lens[OFFLOAD_SEGMENTS_MAX];
    int max = room < OFFLOAD_SEGMENTS_MAX ? (int)room : OFFLOAD_SEGMENTS_MAX;
    for (int i = 0; i < max; i++)
        out[i] = ring_produce_slot(r, b->pending[w] + (uint32_t)i)->data;
    int n = offload_split(buf, len, srv->mtu, out, lens, max);
    if (n <= 0) {
        counter_inc(&srv->tun_drops[TUN_DROP_BAD_GSO]);
        return;
    }
    struct sockaddr_in6 ep;
    uint64_t bytes = 0;
    session_get_endpoint(s, &ep);
    for (int i = 0; i < n; i++) {
        fill_meta(ring_produce_slot(r, b->pending[w] + (uint32_t)i), s, &ep, lens[i]);
        bytes += lens[i];
    }
    counter_add(&s->tx_bytes, bytes);
    counter_add(&s->tx_packets, (uint64_t)n);
    b->pending[w] += (uint32_t)n;
}

/* The TUN role's state: whoever holds srv->tun_role uses it, one holder at a time. */
static struct tun_batch tun_batch;
static uint8_t tun_buf[OFFLOAD_READ_MAX];

/* With the TUN role held: reads until the device is empty or a batch is full, publishes, and
 * sees a packet or two through the worker itself (tx_role.h). Returns the reads. */
static int tun_pass(struct server *srv)
{
    struct tun_batch *b = &tun_batch;
    int got = 0;
    rcu_read_lock();
    while (got < BATCH_MAX) {
        ssize_t n = read(srv->tun_fd, tun_buf, sizeof(tun_buf));
        if (n <= 0)
            break;
        if (srv->tun_offload) {
            enqueue_offloaded(srv, b, tun_buf, (size_t)n);
        } else if ((size_t)n > MTU_MAX) {
            srv->tun_drops[TUN_DROP_NOT_IPV4]++;
        } else {
            enqueue(srv, b, tun_buf, (size_t)n);
        }
        got++;
    }
    rcu_read_unlock();
    bool borrowed = tx_role_borrow(srv, &b->last_batch_ns, spin_clock_ns(), got,
                                   enclave_batch_pending(&srv->enclave, b->pending));
    enclave_publish_batch(&srv->enclave, offsetof(struct worker_rings, in_tun), b->pending);
    rcu_quiescent_state();
    if (borrowed)
        tx_role_run(srv, BORROW_WAIT_US);
    return got;
}

void tun_role_pass(struct server *srv)
{
    if (!role_take(&srv->tun_role))
        return;
    tun_pass(srv);
    role_release(&srv->tun_role);
}

void tun_wakeups_pause(struct server *srv)
{
    fd_watch_pause_or_warn(srv->tun_watch, srv->tun_fd, "the TUN");
}

void tun_wakeups_resume(struct server *srv)
{
    fd_watch_resume_or_complain(srv->tun_watch, srv->tun_fd, "the TUN");
}

void *tun_thread_main(void *arg)
{
    struct server *srv = arg;
    rcu_register_thread();
    thread_short_slice();
    while (!srv->stopping) {
        int got = 0;
        if (role_take(&srv->tun_role)) {
            got = tun_pass(srv);
            role_release(&srv->tun_role);
        } else {
            sched_yield();  /* a borrower is reading the device: it empties it */
        }
        if (got < BATCH_MAX && !server_wait_readable(srv, &srv->tun_watch, 1, -1))
            break;
    }
    rcu_unregister_thread();
    return NULL;
}
