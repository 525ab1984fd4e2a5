/* The shared-memory SPSC ring under a real concurrent producer and consumer: every entry
 * arrives once, in order, with its bytes intact, whatever the interleaving; and the bounds. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "testutil.h"
#include "vpn/ring.h"
#include <urcu/compiler.h>

enum { ENTRIES = 2000000 };

enum { RING_SLOTS = 512 };
typedef RING_OF(RING_SLOTS) test_ring_mem;

/* A ring in shared memory and the handle on it (the handle lives with the ring here). */
struct test_ring {
    test_ring_mem mem;
    struct ring view;
};

static struct ring *ring_new(void)
{
    struct test_ring *t = mmap(NULL, sizeof(struct test_ring), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(t, MAP_FAILED);
    t->view = RING_VIEW(&t->mem);
    cr_assert_eq(ring_capacity(&t->view), RING_SLOTS);
    return &t->view;
}

static void ring_delete(struct ring *r)
{
    munmap(caa_container_of(r, struct test_ring, view), sizeof(struct test_ring));
}

static void *producer(void *arg)
{
    struct ring *r = arg;
    uint32_t next = 0;
    while (next < ENTRIES) {
        uint32_t room = ring_free(r);
        if (!room) {
            sched_yield();
            continue;
        }
        uint32_t n = room < 37 ? room : 37;     /* odd batch sizes: every wrap position */
        if (n > ENTRIES - next)
            n = ENTRIES - next;
        for (uint32_t i = 0; i < n; i++) {
            struct pkt_slot *s = ring_produce_slot(r, i);
            s->meta.session_id = next + i;
            s->meta.len = (uint16_t)((next + i) % SLOT_DATA);
            s->data[0] = (uint8_t)(next + i);
            s->data[SLOT_DATA - 1] = (uint8_t)~(next + i);
        }
        ring_produce_publish(r, n);
        next += n;
    }
    return NULL;
}

Test(ring, concurrent_producer_and_consumer_keep_order)
{
    struct ring *r = ring_new();
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, producer, r), 0);
    uint32_t expect = 0;
    while (expect < ENTRIES) {
        uint32_t n = ring_available(r);
        cr_assert(n <= RING_SLOTS);
        if (!n) {
            sched_yield();
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            struct pkt_slot *s = ring_consume_slot(r, i);
            cr_assert_eq(s->meta.session_id, expect, "entry %u out of order", expect);
            cr_assert_eq(s->meta.len, expect % SLOT_DATA);
            cr_assert_eq(s->data[0], (uint8_t)expect);
            cr_assert_eq(s->data[SLOT_DATA - 1], (uint8_t)~expect);
            expect++;
        }
        ring_consume_release(r, n);
    }
    pthread_join(t, NULL);
    uint32_t n;
    cr_assert(ring_available_checked(r, &n));
    cr_assert_eq(n, 0);
    ring_delete(r);
}

Test(ring, bounds)
{
    struct ring *r = ring_new();
    cr_assert_eq(ring_free(r), RING_SLOTS);
    ring_produce_publish(r, RING_SLOTS);
    cr_assert_eq(ring_free(r), 0);
    uint32_t n;
    cr_assert(ring_available_checked(r, &n));
    cr_assert_eq(n, RING_SLOTS);
    ring_consume_release(r, RING_SLOTS);
    /* Indexes are free-running: wrapping the 32-bit counters changes nothing. */
    r->idx->head = r->idx->tail = UINT32_MAX - 3;
    ring_produce_publish(r, 10);
    cr_assert_eq(ring_available(r), 10);
    cr_assert_eq(ring_free(r), RING_SLOTS - 10);
    /* A corrupted index (a hostile main process) is detected. */
    r->idx->head = r->idx->tail + RING_SLOTS + 1;
    cr_assert_not(ring_available_checked(r, &n));
    ring_delete(r);
}
