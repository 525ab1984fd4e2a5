/* Single-producer single-consumer ring of packet slots in shared memory (a memfd mapped by the
 * main process and one enclave worker). The indexes are free-running 32-bit counters on
 * separate cache lines; a slot is written in place by the producer, published by a release
 * store of head, and given back by a release store of tail. No locks, no syscalls: waking a
 * sleeping consumer is the doorbell's job (see enclave_ipc.h).
 *
 * Concurrency: exactly one producer thread/process calls the *_produce functions and exactly
 * one consumer calls the *_consume functions. Either side may die and be replaced (a restarted
 * worker): all state is in the shared mapping. */
#ifndef VPN_RING_H
#define VPN_RING_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

#define RING_CACHELINE 64

/* Per-packet metadata travels inside the slot, in front of the bytes. */
struct pkt_meta {
    uint16_t op;                /* enum enclave_op on requests, enum enclave_result on results */
    uint16_t len;               /* bytes used in data[] */
    uint16_t aux;               /* op-specific: message type, status, ... */
    uint16_t worker;            /* filled by the worker on results */
    uint32_t session_id;
    uint32_t cookie;            /* opaque to the worker, echoed back (e.g. a main-side index) */
    uint64_t ts;                /* op-specific timestamp */
    struct sockaddr_in6 peer;   /* UDP endpoint the datagram came from / goes to */
    uint8_t pad[RING_CACHELINE - 24 - sizeof(struct sockaddr_in6)];
};

struct pkt_slot {
    struct pkt_meta meta;
    uint8_t data[SLOT_DATA];
};

/* The shared memory's layout is spelled out, not left to the compiler: the same offsets on
 * amd64, arm64 and 32-bit armhf (tests/unit/test_shm_layout.c checks the numbers on all three,
 * test_cross_worker.c runs an amd64 main process with ARM workers on one mapping). No padding
 * anywhere, metadata one cache line, every slot a whole number of cache lines. */
_Static_assert(offsetof(struct pkt_meta, session_id) == 8 && offsetof(struct pkt_meta, ts) == 16 &&
               offsetof(struct pkt_meta, peer) == 24 && sizeof(struct sockaddr_in6) == 28 &&
               sizeof(struct pkt_meta) == RING_CACHELINE, "struct pkt_meta layout");
_Static_assert(offsetof(struct pkt_slot, data) == RING_CACHELINE &&
               sizeof(struct pkt_slot) % RING_CACHELINE == 0, "struct pkt_slot layout");

/* The indexes of one ring, at the start of its shared memory. */
struct ring_index {
    uint32_t head __attribute__((aligned(RING_CACHELINE)));    /* written by the producer */
    uint32_t tail __attribute__((aligned(RING_CACHELINE)));    /* written by the consumer */
    uint32_t dropped __attribute__((aligned(RING_CACHELINE))); /* producer: full-ring drops */
};

_Static_assert(offsetof(struct ring_index, tail) == RING_CACHELINE &&
               offsetof(struct ring_index, dropped) == 2 * RING_CACHELINE &&
               sizeof(struct ring_index) == 3 * RING_CACHELINE, "struct ring_index layout");

/* The shared memory of a ring of N slots (N a power of two). */
#define RING_OF(N)                                                                           \
    struct {                                                                                 \
        struct ring_index idx;                                                               \
        struct pkt_slot slots[N] __attribute__((aligned(RING_CACHELINE)));                   \
    }

/* A process-local handle on a ring in shared memory. Its capacity comes from the ring's type
 * at compile time (RING_VIEW), never from the shared memory, which the other side could
 * change under us. */
struct ring {
    struct ring_index *idx;
    struct pkt_slot *slots;
    uint32_t mask;              /* slots - 1 */
};

#define RING_VIEW(shared)                                                                    \
    ((struct ring){ &(shared)->idx, (shared)->slots,                                         \
                    (uint32_t)(sizeof((shared)->slots) / sizeof((shared)->slots[0])) - 1 })

static inline uint32_t ring_capacity(const struct ring *r)
{
    return r->mask + 1;
}

/* Producer: free slots now (a snapshot; only grows until the producer publishes). */
static inline uint32_t ring_free(const struct ring *r)
{
    return ring_capacity(r) - (r->idx->head - __atomic_load_n(&r->idx->tail, __ATOMIC_ACQUIRE));
}

/* Producer: the i-th slot after the published head (i < ring_free). */
static inline struct pkt_slot *ring_produce_slot(struct ring *r, uint32_t i)
{
    return &r->slots[(r->idx->head + i) & r->mask];
}

/* Producer: makes n filled slots visible to the consumer. */
static inline void ring_produce_publish(struct ring *r, uint32_t n)
{
    __atomic_store_n(&r->idx->head, r->idx->head + n, __ATOMIC_RELEASE);
}

/* Consumer: filled slots available now. */
static inline uint32_t ring_available(const struct ring *r)
{
    return __atomic_load_n(&r->idx->head, __ATOMIC_ACQUIRE) - r->idx->tail;
}

/* Anyone, neither producer nor consumer: the filled slots at some moment (the tail is read
 * before the head, so never fewer than were filled when the tail was read). A hint for
 * heuristics: whether a ring is empty, never which slots to touch. */
static inline uint32_t ring_used_hint(const struct ring *r)
{
    uint32_t tail = __atomic_load_n(&r->idx->tail, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&r->idx->head, __ATOMIC_ACQUIRE) - tail;
}

/* Consumer: the i-th filled slot (i < ring_available). */
static inline struct pkt_slot *ring_consume_slot(struct ring *r, uint32_t i)
{
    return &r->slots[(r->idx->tail + i) & r->mask];
}

/* Consumer: gives n slots back to the producer. */
static inline void ring_consume_release(struct ring *r, uint32_t n)
{
    __atomic_store_n(&r->idx->tail, r->idx->tail + n, __ATOMIC_RELEASE);
}

/* Consumer of a ring whose producer is not trusted (a worker must not trust the main
 * process's indexes): the filled slots in *n, head read once, so that a producer moving it
 * between a check and a use gains nothing; false when head - tail exceeds the ring's size. */
static inline bool ring_available_checked(const struct ring *r, uint32_t *n)
{
    *n = ring_available(r);
    return *n <= ring_capacity(r);
}

#endif
