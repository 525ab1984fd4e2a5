/* TUN thread: IP packets the kernel routes into the tunnel, to the in_tun ring of the worker
 * that owns the destination's session. Reads until the device is empty or a batch is full,
 * then publishes and rings each touched worker once. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "vpn/log.h"

struct tun_batch {
    uint32_t pending[MAX_WORKERS];
};

static void enqueue(struct server *srv, struct tun_batch *b, const uint8_t *pkt, size_t len)
{
    if (len < 20 || (pkt[0] >> 4) != 4) {
        srv->tun_drops[TUN_DROP_NOT_IPV4]++;
        return;
    }
    struct session *s = sessions_find_ip(&srv->sessions, get_be32(pkt + 16));
    if (!s) {
        srv->tun_drops[TUN_DROP_NO_SESSION]++;
        return;
    }
    int w = s->worker;
    struct ring *r = &srv->enclave.shm[w]->in_tun;
    if (!enclave_ring_room(&srv->enclave, w, r, &b->pending[w])) {
        srv->tun_drops[TUN_DROP_RING_FULL]++;
        r->dropped++;
        return;
    }
    struct pkt_slot *slot = ring_produce_slot(r, b->pending[w]);
    slot->meta.op = OP_ENCRYPT;
    slot->meta.len = (uint16_t)len;
    slot->meta.aux = 0;
    slot->meta.session_id = s->id;
    slot->meta.cookie = 0;
    session_get_endpoint(s, &slot->meta.peer);
    memcpy(slot->data, pkt, len);
    b->pending[w]++;
    s->tx_packets++;
    s->tx_bytes += len;
}

static void publish(struct server *srv, struct tun_batch *b)
{
    for (int w = 0; w < srv->enclave.workers; w++) {
        if (!b->pending[w])
            continue;
        ring_produce_publish(&srv->enclave.shm[w]->in_tun, b->pending[w]);
        b->pending[w] = 0;
        enclave_wake_worker(&srv->enclave, w);
    }
}

void *tun_thread_main(void *arg)
{
    struct server *srv = arg;
    struct tun_batch b;
    uint8_t pkt[MTU_MAX + 64];
    memset(&b, 0, sizeof(b));
    rcu_register_thread();
    while (!srv->stopping) {
        int got = 0;
        rcu_read_lock();
        while (got < BATCH_MAX) {
            ssize_t n = read(srv->tun_fd, pkt, sizeof(pkt));
            if (n <= 0)
                break;
            if ((size_t)n > MTU_MAX) {
                srv->tun_drops[TUN_DROP_NOT_IPV4]++;
                continue;
            }
            enqueue(srv, &b, pkt, (size_t)n);
            got++;
        }
        rcu_read_unlock();
        publish(srv, &b);
        rcu_quiescent_state();
        if (got < BATCH_MAX && !server_wait_readable(srv, &srv->tun_fd, 1, -1))
            break;
    }
    rcu_unregister_thread();
    return NULL;
}
