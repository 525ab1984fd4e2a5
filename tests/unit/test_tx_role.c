/* The TX role's hand-over (core/server/tx_role.c): the token, the workers' doorbell flags, and
 * that no result a worker publishes is left unseen when a holder lets go. tx_pass is this
 * test's: it takes what the result rings hold and, when asked, publishes a result the way a
 * worker racing with the holder would (after the holder's last look, before it lets go). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/server/tx_role.h"

enum { WORKERS = 2 };

static struct server srv;
static struct worker_shm *shm[WORKERS];
static int passes;
static int publish_on_pass;     /* the pass (1-based) during which a "worker" publishes */

static void publish(int w)
{
    struct ring *r = &srv.enclave.rings[w].out_dec;
    ring_produce_slot(r, 0)->meta.op = RES_DATA;
    ring_produce_publish(r, 1);
}

uint32_t tx_pass(struct server *s)
{
    uint32_t taken = 0;
    passes++;
    cr_assert_eq(__atomic_load_n(&s->tx_role, __ATOMIC_RELAXED), 1, "a pass without the role");
    for (int w = 0; w < s->enclave.workers; w++) {
        struct ring *r = &s->enclave.rings[w].out_dec;
        uint32_t n = ring_available(r);
        ring_consume_release(r, n);
        taken += n;
    }
    if (passes == publish_on_pass)
        publish(1);     /* lands after this pass looked at worker 1's ring */
    return taken;
}

static void setup(void)
{
    memset(&srv, 0, sizeof(srv));
    srv.enclave.workers = WORKERS;
    for (int w = 0; w < WORKERS; w++) {
        shm[w] = calloc(1, sizeof(*shm[w]));
        cr_assert_not_null(shm[w]);
        srv.enclave.shm[w] = shm[w];
        worker_rings_init(&srv.enclave.rings[w], shm[w]);
        shm[w]->ctl.main_sleeping = 1;
    }
    passes = 0;
    publish_on_pass = 0;
}

static void teardown(void)
{
    for (int w = 0; w < WORKERS; w++)
        free(shm[w]);
}

static void assert_let_go(void)
{
    cr_assert_eq(srv.tx_role, 0, "the role is free again");
    for (int w = 0; w < WORKERS; w++)
        cr_assert_eq(shm[w]->ctl.main_sleeping, 1, "worker %d rings the TX thread again", w);
}

TestSuite(tx_role, .init = setup, .fini = teardown);

Test(tx_role, one_holder_at_a_time_and_no_doorbell_while_held)
{
    cr_assert(tx_role_take(&srv));
    for (int w = 0; w < WORKERS; w++)
        cr_assert_eq(shm[w]->ctl.main_sleeping, 0, "a holder is looking: no doorbell needed");
    cr_assert_not(tx_role_take(&srv), "a second thread must not take a held role");
    cr_assert_eq(tx_role_run(&srv, 0), 0);
    assert_let_go();
    cr_assert(tx_role_take(&srv), "free again after the run");
    tx_role_run(&srv, 0);
}

Test(tx_role, takes_everything_pending)
{
    publish(0);
    publish(1);
    publish(1);
    cr_assert(tx_role_take(&srv));
    cr_assert_eq(tx_role_run(&srv, 0), 3);
    cr_assert_eq(ring_available(&srv.enclave.rings[1].out_dec), 0);
    assert_let_go();
}

Test(tx_role, a_result_published_while_letting_go_is_taken_back)
{
    /* Pass 1 finds nothing; a worker publishes right after it looked. Letting go must find it
     * and take the role back rather than leave it to a TX thread nobody will ring. */
    publish_on_pass = 1;
    cr_assert(tx_role_take(&srv));
    cr_assert_eq(tx_role_run(&srv, 0), 1);
    cr_assert_eq(ring_available(&srv.enclave.rings[1].out_dec), 0, "nothing left unseen");
    cr_assert_geq(passes, 2);
    assert_let_go();
}

Test(tx_role, a_borrower_waits_for_a_first_result_then_lets_go)
{
    /* Nothing comes: the borrower gives up after its wait, and lets go properly. */
    cr_assert(tx_role_take(&srv));
    cr_assert_eq(tx_role_run(&srv, 50), 0);
    cr_assert_geq(passes, 1);
    assert_let_go();
    /* A result comes on the third pass: taken, and the borrower stops at the next empty pass. */
    passes = 0;
    publish_on_pass = 3;
    cr_assert(tx_role_take(&srv));
    cr_assert_eq(tx_role_run(&srv, 1000000), 1);
    cr_assert_eq(passes, 5);
    assert_let_go();
}

/* Borrowing is for packets that come alone: a batch right behind another (a flow, a load)
 * does not borrow; one after BORROW_QUIET_US without a batch does. */
Test(tx_role, borrows_only_after_a_quiet_spell)
{
    uint64_t last = 0, t = 10ull * 1000 * 1000 * 1000;
    cr_assert(borrow_after_quiet(&last, t), "the first batch in a long while");
    cr_assert(!borrow_after_quiet(&last, t + 100000), "100 us behind the last one");
    cr_assert(!borrow_after_quiet(&last, t + 400000), "still a flow");
    cr_assert(borrow_after_quiet(&last, t + 400000 + BORROW_QUIET_US * 1000ull), "quiet again");
}

/* The whole rule: a small batch of data after a quiet spell borrows, and only while every
 * worker's rings are empty; a worker with packets queued ahead, or results flowing to the TX
 * thread, means load: the borrower would wait for a busy worker, or turn into the TX thread,
 * holding the role while other sessions' results wait. */
static uint64_t quiet_at(const uint64_t *last)
{
    return *last + 2ull * BORROW_QUIET_US * 1000;
}

static void fill(struct ring *r, uint32_t n)
{
    ring_produce_publish(r, n);
}

static void drain(struct ring *r)
{
    ring_consume_release(r, ring_available(r));
}

Test(tx_role, borrows_only_while_every_worker_is_idle)
{
    uint64_t last = 0, t;
    struct worker_rings *r = srv.enclave.rings;
    t = quiet_at(&last);
    cr_assert(tx_role_borrow(&srv, &last, t, 1, true), "a lone packet, nothing else going on");
    tx_role_run(&srv, 0);

    t = quiet_at(&last);
    cr_assert_not(tx_role_borrow(&srv, &last, t, 1, false), "no data packet in the batch");
    t = quiet_at(&last);
    cr_assert_not(tx_role_borrow(&srv, &last, t, BORROW_BATCH_MAX + 1, true), "a batch is load");
    uint64_t before = last;
    cr_assert_not(tx_role_borrow(&srv, &last, quiet_at(&last), 0, true), "an empty batch");
    cr_assert_eq(last, before, "an empty batch does not count as one");

    struct ring *busy[] = { &r[1].in_rx, &r[0].in_tun, &r[1].in_hs, &r[0].out_dec, &r[1].out_enc };
    const char *what[] = { "packets queued for worker 1", "packets queued for worker 0",
                           "handshakes queued", "results of worker 0 waiting",
                           "results of worker 1 waiting" };
    for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
        fill(busy[i], 3);
        t = quiet_at(&last);
        cr_assert_not(tx_role_borrow(&srv, &last, t, 1, true), "borrowed with %s", what[i]);
        cr_assert_eq(srv.tx_role, 0, "the role left free with %s", what[i]);
        drain(busy[i]);
    }
    t = quiet_at(&last);
    cr_assert(tx_role_borrow(&srv, &last, t, 2, true), "idle again");
    tx_role_run(&srv, 0);
    assert_let_go();
}
