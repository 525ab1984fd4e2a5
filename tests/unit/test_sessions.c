/* The main process's session tables (core/server/sessions.c): liburcu RCU hash tables by id
 * and by tunnel address. Add, replacement of an address's session on add, unroute (rekey
 * overlap), remove, lookups, many sessions across resizes, lookups racing with changes from
 * other threads (as the data threads do), and the seqcount-protected endpoint. */
#include <pthread.h>
#include <stdlib.h>

#include "testutil.h"

#include "../../core/server/sessions.h"

static struct session_tables t;

static void setup(void)
{
    rcu_register_thread();
    cr_assert_eq(sessions_init(&t), 0);
}

static void teardown(void)
{
    rcu_thread_offline();
    rcu_barrier();
    rcu_thread_online();
    sessions_uninit(&t);
    rcu_unregister_thread();
}

TestSuite(sessions, .init = setup, .fini = teardown);

static struct session *make(uint32_t id, uint32_t ip)
{
    struct session *s = calloc(1, sizeof(*s));
    cr_assert(s);
    s->id = id;
    s->vpn_ip = ip;
    return s;
}

static struct session *find_id(uint32_t id)
{
    rcu_read_lock();
    struct session *s = sessions_find_id(&t, id);
    rcu_read_unlock();
    return s;
}

static struct session *find_ip(uint32_t ip)
{
    rcu_read_lock();
    struct session *s = sessions_find_ip(&t, ip);
    rcu_read_unlock();
    return s;
}

Test(sessions, add_then_find_by_id_and_by_address)
{
    struct session *a = make(0x1001, 0x0a08000a);
    struct session *b = make(0x2002, 0x0a08000b);
    cr_expect_null(find_id(0x1001));
    sessions_add(&t, a);
    sessions_add(&t, b);
    cr_expect_eq(find_id(0x1001), a);
    cr_expect_eq(find_id(0x2002), b);
    cr_expect_eq(find_ip(0x0a08000a), a);
    cr_expect_eq(find_ip(0x0a08000b), b);
    cr_expect(a->in_by_ip && b->in_by_ip);
    cr_expect_null(find_id(0x3003));
    cr_expect_null(find_ip(0x0a08000c));
    cr_expect_null(find_id(0x0a08000a), "an address is no id");
    sessions_remove(&t, a);
    sessions_remove(&t, b);
}

Test(sessions, adding_a_session_of_an_address_replaces_its_route)
{
    struct session *old = make(0x1001, 0x0a08000a);
    struct session *fresh = make(0x1002, 0x0a08000a);
    sessions_add(&t, old);
    sessions_add(&t, fresh);
    cr_expect_eq(find_ip(0x0a08000a), fresh, "the TUN thread sends on the new session");
    cr_expect_not(old->in_by_ip);
    cr_expect(fresh->in_by_ip);
    cr_expect_eq(find_id(0x1001), old, "the old one still receives");
    cr_expect_eq(find_id(0x1002), fresh);
    /* Ending the replaced session must not take the address's route with it. */
    sessions_unroute(&t, old);
    cr_expect_eq(find_ip(0x0a08000a), fresh);
    sessions_remove(&t, old);
    cr_expect_null(find_id(0x1001));
    cr_expect_eq(find_ip(0x0a08000a), fresh);
    cr_expect_eq(find_id(0x1002), fresh);
    sessions_remove(&t, fresh);
    cr_expect_null(find_ip(0x0a08000a));
    cr_expect_null(find_id(0x1002));
}

Test(sessions, unroute_keeps_the_id_only)
{
    struct session *s = make(0x1001, 0x0a08000a);
    sessions_add(&t, s);
    sessions_unroute(&t, s);
    cr_expect_null(find_ip(0x0a08000a));
    cr_expect_eq(find_id(0x1001), s);
    cr_expect_not(s->in_by_ip);
    sessions_unroute(&t, s);        /* twice: nothing more happens */
    cr_expect_eq(find_id(0x1001), s);
    /* The address can take another session meanwhile. */
    struct session *other = make(0x2002, 0x0a08000a);
    sessions_add(&t, other);
    cr_expect_eq(find_ip(0x0a08000a), other);
    sessions_remove(&t, s);
    cr_expect_eq(find_ip(0x0a08000a), other);
    cr_expect_null(find_id(0x1001));
    sessions_remove(&t, other);
}

Test(sessions, thousands_of_sessions_across_resizes)
{
    enum { N = 4000 };
    static struct session *s[N];
    for (uint32_t i = 0; i < N; i++) {
        s[i] = make((i + 1) << 12 | (i & 0xfff), 0x0a080000 + i);
        sessions_add(&t, s[i]);
    }
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_eq(find_id(s[i]->id), s[i], "id %u", i);
        cr_assert_eq(find_ip(0x0a080000 + i), s[i], "address %u", i);
    }
    for (uint32_t i = 0; i < N; i += 2)
        sessions_remove(&t, s[i]);
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_eq(find_id(s[i]->id) != NULL, i % 2 == 1, "id %u", i);
        cr_assert_eq(find_ip(0x0a080000 + i) != NULL, i % 2 == 1, "address %u", i);
    }
    for (uint32_t i = 1; i < N; i += 2)
        sessions_remove(&t, s[i]);
    cr_expect_null(find_id(s[1]->id));
}

/* A data thread: looks sessions up in a loop, announcing a quiescent state every round, as
 * the RX and TUN threads do once per batch. Every session found must be whole. */
struct reader {
    volatile bool stop;
    uint64_t found, wrong;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    rcu_register_thread();
    while (!r->stop) {
        for (uint32_t i = 0; i < 64; i++) {
            rcu_read_lock();
            struct session *s = sessions_find_id(&t, 0x100 + i);
            if (s) {
                r->found++;
                if (s->id != 0x100 + i || s->vpn_ip != 0x0a080000 + i)
                    r->wrong++;
            }
            s = sessions_find_ip(&t, 0x0a080000 + i);
            if (s && s->vpn_ip != 0x0a080000 + i)
                r->wrong++;
            rcu_read_unlock();
        }
        rcu_quiescent_state();
    }
    rcu_unregister_thread();
    return NULL;
}

Test(sessions, lookups_race_with_adds_and_removes)
{
    struct reader r = { 0 };
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, read_loop, &r), 0);
    static struct session *live[64];
    /* Until the reader has been at it for a while (it may start late). */
    for (long round = 0; round < 2000 || (__atomic_load_n(&r.found, __ATOMIC_RELAXED) < 20000 &&
                                          round < 100000000); round++) {
        uint32_t i = (uint32_t)(round % 64);
        if (live[i]) {
            /* A freed session keeps its contents until a grace period has passed: the
             * reader never sees garbage. */
            sessions_remove(&t, live[i]);
            live[i] = NULL;
        } else {
            live[i] = make(0x100 + i, 0x0a080000 + i);
            sessions_add(&t, live[i]);
        }
        if (round % 16 == 0)
            rcu_quiescent_state();
    }
    r.stop = true;
    rcu_thread_offline();
    pthread_join(th, NULL);
    rcu_thread_online();
    cr_expect_gt(r.found, 0, "the reader saw sessions");
    cr_expect_eq(r.wrong, 0);
    for (int i = 0; i < 64; i++)
        if (live[i])
            sessions_remove(&t, live[i]);
}

/* The endpoint: written by the TX thread (roaming), read by the others under a seqcount. A
 * reader racing with a writer that flips between two endpoints only ever sees one of them,
 * and a writer that leaves the count odd hangs the reader (the timeout fails the test). On
 * x86 a copy of one cache line is hardly ever seen torn even without the seqcount, so that
 * half of the check is best-effort: it would catch a writer or reader that broke the copy
 * into pieces further apart. */
struct flipper {
    struct session *s;
    volatile bool stop;
    struct sockaddr_in6 a, b;
};

static void *flip(void *arg)
{
    struct flipper *f = arg;
    /* A pause after each write: a writer that never pauses can starve a reader for good
     * (every copy it makes overlaps a write), which no roaming client comes near and which,
     * under ASan's slower copies, timed the test out. */
    for (unsigned i = 0; !f->stop; i++) {
        session_set_endpoint(f->s, i & 1 ? &f->b : &f->a);
        for (volatile int k = 0; k < 200; k++)
            ;
    }
    return NULL;
}

Test(sessions, endpoint_reads_are_never_torn, .timeout = 20)
{
    struct session *s = make(0x1001, 0x0a08000a);
    static struct flipper f;
    f.s = s;
    memset(&f.a, 0x11, sizeof(f.a));
    memset(&f.b, 0xee, sizeof(f.b));
    session_set_endpoint(s, &f.a);
    struct sockaddr_in6 got;
    session_get_endpoint(s, &got);
    cr_expect_eq(memcmp(&got, &f.a, sizeof(got)), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, flip, &f), 0);
    unsigned seen_a = 0, seen_b = 0, torn = 0;
    /* 2 million reads, and on until both values have been seen a thousand times (the writer
     * may start late). */
    for (long i = 0; i < 2000000 || ((seen_a < 1000 || seen_b < 1000) && i < 20000000); i++) {
        session_get_endpoint(s, &got);
        if (memcmp(&got, &f.a, sizeof(got)) == 0)
            seen_a++;
        else if (memcmp(&got, &f.b, sizeof(got)) == 0)
            seen_b++;
        else
            torn++;
    }
    f.stop = true;
    pthread_join(th, NULL);
    cr_expect_eq(torn, 0, "%u torn reads", torn);
    cr_expect(seen_a >= 1000 && seen_b >= 1000, "both seen: %u, %u", seen_a, seen_b);
    cr_expect_eq(s->endpoint_seq % 2, 0, "no write left open");
    free(s);
}
