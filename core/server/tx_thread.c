/* The TX role: the enclave workers' results.
 *   out_enc  sealed datagrams -> one sendmmsg per batch, straight from the ring slots
 *   out_dec  decrypted packets -> TUN (after upload policing); keepalives and roaming update
 *            the session; handshake and session events go to the control thread.
 * The TX thread holds the role and sleeps on the workers' doorbells when every result ring is
 * empty; the RX and TUN threads borrow it for a packet or two (tx_role.c). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "tx_order.h"
#include "tx_role.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/offload.h"
#include "vpn/thread_slice.h"
#include "vpn/udp_batch.h"

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Coalesces what goes into an offloading TUN (vpn/offload.h). */
static struct tcp_gro tx_gro;

/* Sealed datagrams straight from the ring slots, grouped into UDP GSO runs: from our port,
 * or from the WireGuard port for a WireGuard session's (aux, enclave_ipc.h). */
static uint32_t send_sealed(struct server *srv, struct udp_batch ub[2], struct ring *r)
{
    uint32_t n = ring_available(r);
    if (n > BATCH_MAX)
        n = BATCH_MAX;
    if (!n)
        return 0;
    bool wireguard = false;
    for (uint32_t i = 0; i < n; i++) {
        struct pkt_slot *s = ring_consume_slot(r, i);
        bool wg = (s->meta.aux & HELLO_WIREGUARD) && srv->wg_fd >= 0;
        wireguard |= wg;
        udp_batch_add(&ub[wg], s->data, s->meta.len, &s->meta.peer);
    }
    counter_add(&srv->tx_drops[TX_DROP_UDP_SEND], udp_batch_flush(&ub[0]));
    if (wireguard)
        counter_add(&srv->tx_drops[TX_DROP_UDP_SEND], udp_batch_flush(&ub[1]));
    ring_consume_release(r, n);
    return n;
}

/* An authenticated packet from the session's client: refresh it and follow it if it roamed. */
static struct session *refresh(struct server *srv, const struct pkt_slot *s, uint64_t now_ms)
{
    struct session *ses = sessions_find_id(&srv->sessions, s->meta.session_id);
    if (!ses)
        return NULL;
    __atomic_store_n(&ses->last_rx_ms, now_ms, __ATOMIC_RELAXED);
    if (!endpoint_equal(&ses->endpoint, &s->meta.peer)) {
        char a[64], b[64];
        format_endpoint(&ses->endpoint, a, sizeof(a));
        format_endpoint(&s->meta.peer, b, sizeof(b));
        session_set_endpoint(ses, &s->meta.peer);
        static struct log_limit lim;
        log_limited(&lim, LOG_INFO, "session of %s moved from %s to %s", ses->username, a, b);
    }
    return ses;
}

/* A new upload policy for the session (its start, or a reload): re-initialise its bucket. This
 * thread alone touches the buckets' state. */
static void apply_policy(struct server *srv, struct session *ses, uint64_t t_us)
{
    struct upload_policy p;
    if (!upload_policy_changed(&ses->policy, &ses->policy_seen, &p))
        return;
    struct qos_bucket *was = ses->upload;
    if (!p.limited || p.user_slot >= QOS_USER_MAX) {
        ses->upload = NULL;
    } else if (p.shared_default || p.user_slot < 0) {
        ses->upload = &srv->default_upload;
    } else {
        struct qos_bucket *b = &srv->user_upload[p.user_slot];
        struct upload_policy *set = &srv->user_upload_set[p.user_slot];
        if (memcmp(set, &p, sizeof(p)) != 0) {
            qos_bucket_init_htb(b, &srv->upload_link, p.rate_bps, p.ceil_bps, t_us);
            qos_bucket_set_prio(b, p.prio);
            *set = p;
        }
        ses->upload = b;
    }
    if (ses->upload != was)
        qos_share_reset(&ses->upload_share);
}

/* The link-wide policy (total bandwidth, the default class): at start and after a reload. */
static void apply_link_policy(struct server *srv, uint32_t *seen, uint64_t t_us)
{
    struct upload_link_policy l;
    if (!upload_link_changed(&srv->upload_link_policy, seen, &l) || !l.limited)
        return;
    qos_link_init(&srv->upload_link, l.total_bps, t_us);
    qos_bucket_init_htb(&srv->default_upload, &srv->upload_link, l.default_rate_bps,
                        l.default_ceil_bps, t_us);
    qos_bucket_set_prio(&srv->default_upload, QOS_DEFAULT_PRIO);
}

static bool forward_event(struct server *srv, const struct pkt_slot *s)
{
    struct ctl_event *ev = malloc(sizeof(*ev));
    if (!ev || s->meta.len > sizeof(ev->data)) {
        free(ev);
        return false;
    }
    cds_wfcq_node_init(&ev->node);
    ev->meta = s->meta;
    ev->len = s->meta.len;
    memcpy(ev->data, s->data, s->meta.len);
    cds_wfcq_enqueue(&srv->events_head, &srv->events_tail, &ev->node);
    return true;
}

static uint32_t deliver(struct server *srv, struct ring *r, uint64_t now_ms, uint64_t t_us,
                        bool *events)
{
    uint32_t n = ring_available(r);
    if (n > BATCH_MAX)
        n = BATCH_MAX;
    for (uint32_t i = 0; i < n; i++) {
        struct pkt_slot *s = ring_consume_slot(r, i);
        struct session *ses;
        switch (s->meta.op) {
        case RES_DATA:
            ses = refresh(srv, s, now_ms);
            if (!ses) {
                counter_inc(&srv->tx_drops[TX_DROP_NO_SESSION]);
                break;
            }
            apply_policy(srv, ses, t_us);
            if (ses->upload && !qos_share_pass(ses->upload, &ses->upload_share, s->meta.len, t_us)) {
                counter_inc(&ses->upload_drops);
                counter_inc(&srv->tx_drops[TX_DROP_UPLOAD_QOS]);
                break;
            }
            counter_inc(&ses->rx_packets);
            counter_add(&ses->rx_bytes, s->meta.len);
            if (srv->tun_offload)
                gro_add(&tx_gro, s->data, s->meta.len);
            else if (write(srv->tun_fd, s->data, s->meta.len) < 0)
                counter_inc(&srv->tx_drops[TX_DROP_TUN_WRITE]);
            break;
        case RES_KEEPALIVE:
            refresh(srv, s, now_ms);
            break;
        default:
            *events |= forward_event(srv, s);
            break;
        }
    }
    if (srv->tun_offload) {
        /* The run may point into nothing of the ring (it is a copy): flush before release
         * only to keep latency low, once per batch. */
        gro_flush(&tx_gro);
        counter_add(&srv->tx_drops[TX_DROP_TUN_WRITE], tx_gro.write_errors);
        tx_gro.write_errors = 0;
    }
    if (n)
        ring_consume_release(r, n);
    return n;
}

/* The TX role's state: whoever holds the role (tx_role.c) uses it, one holder at a time.
 * tx_udp[1] sends from the WireGuard port. */
static struct udp_batch tx_udp[2];
static uint32_t tx_link_seen;

void tx_init(struct server *srv)
{
    udp_batch_init(&tx_udp[0], srv->udp_fd, false, sizeof(struct sockaddr_in6));
    udp_batch_init(&tx_udp[1], srv->wg_fd, false, sizeof(struct sockaddr_in6));
    gro_init(&tx_gro, srv->tun_fd);
    tx_link_seen = 0;
}

uint32_t tx_pass(struct server *srv)
{
    uint32_t done = 0;
    bool events = false;
    uint64_t now_ms = clock_monotonic_ms();
    uint64_t t_us = now_us();
    apply_link_policy(srv, &tx_link_seen, t_us);
    uint32_t backlog[MAX_WORKERS];
    int order[MAX_WORKERS];
    int workers = srv->enclave.workers;
    for (int w = 0; w < workers; w++)
        backlog[w] = ring_available(&srv->enclave.rings[w].out_enc) +
                     ring_available(&srv->enclave.rings[w].out_dec);
    tx_order_by_backlog(backlog, workers, order);
    rcu_read_lock();
    for (int i = 0; i < workers; i++) {
        int w = order[i];
        done += send_sealed(srv, tx_udp, &srv->enclave.rings[w].out_enc);
        done += deliver(srv, &srv->enclave.rings[w].out_dec, now_ms, t_us, &events);
    }
    rcu_read_unlock();
    if (events) {
        uint64_t one = 1;
        ssize_t k = write(srv->event_fd, &one, sizeof(one));
        (void)k;
    }
    rcu_quiescent_state();
    return done;
}

void *tx_thread_main(void *arg)
{
    struct server *srv = arg;
    int nw = srv->enclave.workers;
    rcu_register_thread();
    thread_short_slice();
    while (!srv->stopping) {
        if (tx_role_take(srv))
            tx_role_run(srv, 0);
        if (!server_wait_readable(srv, srv->enclave.doorbell, nw, 1000))
            break;
        char sink[64];
        for (int w = 0; w < nw; w++)
            while (read(srv->enclave.doorbell[w], sink, sizeof(sink)) > 0)
                ;
    }
    rcu_unregister_thread();
    return NULL;
}
