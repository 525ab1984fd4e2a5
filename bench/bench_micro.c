/* Micro-benchmarks of the pieces a packet goes through (issue: pipeline, item 4):
 *   crypto     transport_seal + transport_open per packet, by size
 *   ring       the shared-memory SPSC ring between two threads, by batch size
 *   wfcqueue   liburcu's wait-free queue (the TX -> control path), one producer, one consumer
 *   enclave    a real worker loop on its own thread: batch of OP_ENCRYPT in, results out,
 *              woken through the socketpair doorbell, round trip per batch
 *   handshake  the enclave's cost per CONNECT_REQ (phase 1: X25519 + HMAC, what a junk request
 *              that gets through costs) and per whole handshake (phase 1 + 2), per worker
 * Run: make bench-micro (prints a Markdown table). Numbers are per core of this machine. */
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu/wfcqueue.h>

#include "../enclave/devices.h"
#include "../enclave/secrets.h"
#include "../client/handshake_client.h"
#include "../enclave/worker.h"
#include "vpn/proto.h"
#include "vpn/ring.h"
#include "vpn/transport.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void bench_crypto(void)
{
    static const size_t sizes[] = { 64, 512, 1400 };
    uint8_t key[32], pkt[2048], pt[2048];
    randombytes_buf(key, sizeof(key));
    memset(pt, 7, sizeof(pt));
    for (size_t k = 0; k < 3; k++) {
        size_t n = sizes[k];
        int iters = 200000;
        double t0 = now_s();
        for (int i = 0; i < iters; i++) {
            size_t len = transport_seal(pkt, MSG_DATA, key, 1, (uint64_t)i, 0, pt, n);
            if (!transport_open(pt, pkt, len, key))
                abort();
        }
        double per = (now_s() - t0) / iters;
        printf("| crypto seal+open, %zu B | %.0f ns/packet | %.2f Gbit/s per operation |\n", n, per * 1e9,
               (double)n * 8 / (per / 2) / 1e9);
    }
}

typedef RING_OF(512) bench_ring_mem;

struct ring_arg {
    struct ring *r;
    uint32_t batch;
    uint64_t total;
};

static void *ring_producer(void *p)
{
    struct ring_arg *a = p;
    uint64_t sent = 0;
    while (sent < a->total) {
        uint32_t room = ring_free(a->r);
        if (room < a->batch) {
            sched_yield();
            continue;
        }
        for (uint32_t i = 0; i < a->batch; i++) {
            struct pkt_slot *s = ring_produce_slot(a->r, i);
            s->meta.len = 1400;
            memset(s->data, (int)i, 64);    /* touch the slot as a real producer would */
        }
        ring_produce_publish(a->r, a->batch);
        sent += a->batch;
    }
    return NULL;
}

static void bench_ring(void)
{
    static const uint32_t batches[] = { 1, 16, 64 };
    bench_ring_mem *mem = mmap(NULL, sizeof(*mem), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct ring view = RING_VIEW(mem), *r = &view;
    for (size_t k = 0; k < 3; k++) {
        memset(mem, 0, sizeof(*mem));
        struct ring_arg a = { r, batches[k], 4000000 };
        pthread_t t;
        double t0 = now_s();
        pthread_create(&t, NULL, ring_producer, &a);
        uint64_t got = 0;
        while (got < a.total) {
            uint32_t n = ring_available(r);
            if (!n) {
                sched_yield();
                continue;
            }
            volatile uint8_t sink = 0;
            for (uint32_t i = 0; i < n; i++)
                sink ^= ring_consume_slot(r, i)->data[0];
            ring_consume_release(r, n);
            got += n;
        }
        pthread_join(t, NULL);
        double dt = now_s() - t0;
        printf("| ring SPSC, batches of %u | %.1f M entries/s | %.0f ns/entry |\n", batches[k],
               (double)a.total / dt / 1e6, dt / (double)a.total * 1e9);
    }
    munmap(mem, sizeof(*mem));
}

struct q_node {
    struct cds_wfcq_node node;
    uint64_t v;
};
static struct cds_wfcq_head qh;
static struct cds_wfcq_tail qt;
enum { Q_TOTAL = 2000000 };
static struct q_node *q_nodes;

static void *q_producer(void *p)
{
    (void)p;
    for (uint64_t i = 0; i < Q_TOTAL; i++) {
        cds_wfcq_node_init(&q_nodes[i].node);
        q_nodes[i].v = i;
        cds_wfcq_enqueue(&qh, &qt, &q_nodes[i].node);
    }
    return NULL;
}

static void bench_wfcq(void)
{
    q_nodes = calloc(Q_TOTAL, sizeof(*q_nodes));
    cds_wfcq_init(&qh, &qt);
    pthread_t t;
    double t0 = now_s();
    pthread_create(&t, NULL, q_producer, NULL);
    uint64_t got = 0;
    while (got < Q_TOTAL) {
        struct cds_wfcq_node *n = __cds_wfcq_dequeue_nonblocking(&qh, &qt);
        if (!n || n == CDS_WFCQ_WOULDBLOCK) {
            sched_yield();
            continue;
        }
        got++;
    }
    pthread_join(t, NULL);
    double dt = now_s() - t0;
    printf("| liburcu wfcqueue, 1 producer 1 consumer | %.1f M nodes/s | %.0f ns/node |\n",
           Q_TOTAL / dt / 1e6, dt / Q_TOTAL * 1e9);
    free(q_nodes);
}

static void *run_worker(void *p)
{
    worker_run(p);
    return NULL;
}

static void bench_enclave(void)
{
    static const uint32_t batches[] = { 1, 16, 64 };
    struct worker_shm *shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct enclave_secrets *sec = calloc(1, sizeof(*sec));
    int bell[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, bell);
    struct key_slot *k = &sec->slots[5];
    randombytes_buf(k->k_s2c, 32);
    k->session_id = 1u << SESSION_SLOT_BITS | 5;
    sec->users.count = 1;
    static const uint8_t implicit[DEVICE_ID_LEN];    /* the enclave keeps it alive: */
    (void)devices_bind(sec, &sec->users.users[0], implicit, k->session_id);
    struct worker w = { .index = 0, .count = 1, .doorbell_fd = bell[1], .shm = shm,
                        .sec = sec, .replay_window_ms = 5000 };
    worker_rings_init(&w.rings, shm);
    pthread_t t;
    pthread_create(&t, NULL, run_worker, &w);
    for (size_t b = 0; b < 3; b++) {
        uint32_t n = batches[b];
        int rounds = 20000 / (int)n + 200;
        double t0 = now_s();
        for (int r = 0; r < rounds; r++) {
            for (uint32_t i = 0; i < n; i++) {
                struct pkt_slot *s = ring_produce_slot(&w.rings.in_tun, i);
                memset(&s->meta, 0, sizeof(s->meta));
                s->meta.op = OP_ENCRYPT;
                s->meta.len = 1400;
                s->meta.session_id = k->session_id;
            }
            ring_produce_publish(&w.rings.in_tun, n);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (__atomic_exchange_n(&shm->ctl.worker_sleeping, 0, __ATOMIC_SEQ_CST))
                (void)!write(bell[0], "m", 1);
            uint32_t got = 0;
            while (got < n) {
                uint32_t a = ring_available(&w.rings.out_enc);
                if (!a) {
                    sched_yield();
                    continue;
                }
                ring_consume_release(&w.rings.out_enc, a);
                got += a;
            }
        }
        double per = (now_s() - t0) / rounds;
        printf("| enclave round trip, batch of %u x 1400 B | %.1f us/batch | %.0f ns/packet |\n",
               n, per * 1e6, per / n * 1e9);
    }
    close(bell[0]);     /* the worker sees EOF and returns */
    pthread_join(t, NULL);
    free(sec);
}

static void bench_handshake(void)
{
    enum { N = 2000 };
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.shm = calloc(1, sizeof(*w.shm));
    w.sec = calloc(1, sizeof(*w.sec));
    if (!w.shm || !w.sec)
        abort();
    worker_rings_init(&w.rings, w.shm);
    w.count = 1;
    w.doorbell_fd = -1;
    w.replay_window_ms = 5000;
    randombytes_buf(w.sec->s_priv, KEY_LEN);
    crypto_scalarmult_base(w.sec->s_pub, w.sec->s_priv);
    uint8_t token[TOKEN_LEN];
    randombytes_buf(token, sizeof(token));
    w.sec->users.count = 1;
    strcpy(w.sec->users.users[0].name, "alice");
    memcpy(w.sec->users.users[0].token, token, TOKEN_LEN);
    static struct pkt_slot reqs[N];
    uint64_t now = 1734220800000ULL;
    for (int i = 0; i < N; i++) {
        struct hs_client st;
        uint8_t e[KEY_LEN];
        randombytes_buf(e, sizeof(e));
        if (!hs_client_request(&st, e, w.sec->s_pub, "alice", token, now + (uint64_t)i + 1,
                               reqs[i].data))
            abort();
        reqs[i].meta.op = OP_HELLO;
        reqs[i].meta.len = CONNECT_REQ_LEN;
    }
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        worker_handle(&w, &w.rings.in_hs, &reqs[i], now);
        w.dec_pending = 0;
    }
    double hello = (now_s() - t0) / N;
    struct hs_config cfg = { .prefix_len = 24, .mtu = 1400, .client_ip = 0x0a08000a,
                             .server_ip = 0x0a080001, .keepalive_s = 25 };
    t0 = now_s();
    for (int i = 0; i < N; i++) {
        worker_handle(&w, &w.rings.in_hs, &reqs[i], now + N + (uint64_t)i);
        w.dec_pending = 0;
        reqs[i].meta.op = OP_ACCEPT;
        reqs[i].meta.aux = STATUS_OK;
        reqs[i].meta.len = (uint16_t)(CONNECT_REQ_LEN +
                                      hs_config_encode(reqs[i].data + CONNECT_REQ_LEN, &cfg));
        worker_handle(&w, &w.rings.in_ctl, &reqs[i], now + N + (uint64_t)i);
        w.dec_pending = 0;
    }
    double full = (now_s() - t0) / N;
    printf("| handshake phase 1 (X25519 + HMAC) | %.1f us | %.0f per second per worker |\n",
           hello * 1e6, 1 / hello);
    printf("| whole handshake (phase 1 + 2) | %.1f us | %.0f per second per worker |\n",
           full * 1e6, 1 / full);
    free(w.shm);
    free(w.sec);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    printf("| what | result | |\n|---|---|---|\n");
    bench_crypto();
    bench_ring();
    bench_wfcq();
    bench_enclave();
    bench_handshake();
    return 0;
}
