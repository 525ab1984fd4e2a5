/* Upload policer (core/server/qos_bucket.c) in simulated time: a fake microsecond clock, offered
 * load far above every rate, delivered bytes per second compared with the configuration. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "vpn/qos.h"

#define MBIT 1000000ULL

/* Offers packets of len bytes to each bucket on every tick until it refuses one (saturation),
 * rotating who goes first so that no session always borrows first; adds the bytes that passed
 * to delivered[]. */
static void saturate(struct qos_bucket *b, int n, uint64_t *delivered, uint32_t len,
                     uint64_t start_us, uint64_t duration_us, uint64_t tick_us)
{
    unsigned turn = 0;
    for (uint64_t t = start_us; t < start_us + duration_us; t += tick_us, turn++) {
        for (int k = 0; k < n; k++) {
            int i = (int)((turn + (unsigned)k) % (unsigned)n);
            while (qos_bucket_pass(&b[i], len, t))
                delivered[i] += len;
        }
    }
}

static double bps(uint64_t bytes, uint64_t duration_us)
{
    return (double)bytes * 8.0 * 1e6 / (double)duration_us;
}

struct alone_case {
    uint64_t rate, ceil, link;  /* link 0 = no link */
    uint32_t len;
    uint64_t duration_us, tick_us;
    uint64_t expect;            /* bits/s */
};

/* Alone on the link, a session gets its ceil (or the link, when that is lower), within 2 %,
 * at rates from modem to 10 Gbit/s and with small packets as well as full ones. Durations are
 * long enough that the initial full burst is under 1 % of the total. */
Test(qos_bucket, alone_gets_ceil)
{
    static const struct alone_case cases[] = {
        { 5 * MBIT, 10 * MBIT, 12 * MBIT, 1400, 30000000, 100, 10 * MBIT },
        { 5 * MBIT, 10 * MBIT, 0, 1400, 30000000, 100, 10 * MBIT },
        { 2 * MBIT, 4 * MBIT, 12 * MBIT, 1400, 30000000, 1000, 4 * MBIT },
        { 2 * MBIT, 2 * MBIT, 0, 64, 30000000, 7, 2 * MBIT },
        { 0, 6 * MBIT, 12 * MBIT, 1400, 30000000, 100, 6 * MBIT },
        { 5 * MBIT, 50 * MBIT, 12 * MBIT, 1400, 30000000, 100, 12 * MBIT },
        { 64000, 64000, 0, 1400, 400000000, 10000, 64000 },
        { 100 * MBIT, 1000 * MBIT, 0, 1500, 30000000, 50, 1000 * MBIT },
        { 10000 * MBIT, 10000 * MBIT, 0, 1500, 30000000, 20, 10000 * MBIT },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const struct alone_case *k = &cases[c];
        struct qos_link link;
        struct qos_bucket b;
        uint64_t got = 0;
        qos_link_init(&link, k->link, 0);
        qos_bucket_init_htb(&b, k->link ? &link : NULL, k->rate, k->ceil, 0);
        saturate(&b, 1, &got, k->len, 0, k->duration_us, k->tick_us);
        double r = bps(got, k->duration_us);
        cr_expect(r >= 0.98 * (double)k->expect && r <= 1.02 * (double)k->expect,
                  "case %zu: %.0f bit/s, expected %llu", c, r, (unsigned long long)k->expect);
    }
}

/* The brief's three users saturating a 12 Mbit/s link together: each gets at least its
 * guarantee, none more than its ceil, and all together no more than the link. */
Test(qos_bucket, three_sessions_share_link)
{
    const uint64_t rate[3] = { 5 * MBIT, 3 * MBIT, 2 * MBIT };
    const uint64_t ceil[3] = { 10 * MBIT, 6 * MBIT, 4 * MBIT };
    const uint64_t dur = 20000000;    /* the 300 ms initial bursts under 2 % */
    struct qos_link link;
    struct qos_bucket b[3];
    uint64_t got[3] = { 0 };

    qos_link_init(&link, 12 * MBIT, 0);
    for (int i = 0; i < 3; i++)
        qos_bucket_init_htb(&b[i], &link, rate[i], ceil[i], 0);
    saturate(b, 3, got, 1400, 0, dur, 100);

    double total = 0;
    for (int i = 0; i < 3; i++) {
        double r = bps(got[i], dur);
        total += r;
        cr_expect(r >= (double)rate[i], "session %d: %.0f < guarantee %llu", i, r,
                  (unsigned long long)rate[i]);
        cr_expect(r <= 1.02 * (double)ceil[i], "session %d: %.0f > ceil", i, r);
    }
    cr_expect(total <= 1.02 * 12 * MBIT, "total %.0f above the link", total);
    cr_expect(total >= 0.98 * 12 * MBIT, "total %.0f: the link is not used up", total);
}

/* A session without guarantee whose ceiling is the whole link, always served first on every
 * tick, still cannot take what is guaranteed to the others. */
Test(qos_bucket, guarantee_survives_greedy_borrower)
{
    const uint64_t dur = 20000000;    /* the 300 ms initial bursts under 2 % */
    struct qos_link link;
    struct qos_bucket b[3];
    uint64_t got[3] = { 0 };

    qos_link_init(&link, 12 * MBIT, 0);
    qos_bucket_init_htb(&b[0], &link, 0, 12 * MBIT, 0);         /* greedy */
    qos_bucket_init_htb(&b[1], &link, 5 * MBIT, 10 * MBIT, 0);
    qos_bucket_init_htb(&b[2], &link, 2 * MBIT, 4 * MBIT, 0);
    for (uint64_t t = 0; t < dur; t += 100)
        for (int i = 0; i < 3; i++)
            while (qos_bucket_pass(&b[i], 1400, t))
                got[i] += 1400;

    cr_expect(bps(got[1], dur) >= 5.0 * MBIT, "%.0f", bps(got[1], dur));
    cr_expect(bps(got[2], dur) >= 2.0 * MBIT, "%.0f", bps(got[2], dur));
    cr_expect(bps(got[0] + got[1] + got[2], dur) <= 1.02 * 12 * MBIT);
    cr_expect(b[0].borrowed_bytes == got[0], "everything the greedy one sent was borrowed");
}

Test(qos_bucket, unlimited)
{
    struct qos_bucket b;
    struct qos_link link;

    qos_bucket_init_htb(&b, NULL, 0, 0, 0);
    for (int i = 0; i < 100000; i++)
        cr_assert(qos_bucket_pass(&b, UINT32_MAX, 0));

    /* An unlimited link leaves only the ceiling. */
    uint64_t got = 0;
    qos_link_init(&link, 0, 0);
    qos_bucket_init_htb(&b, &link, 1 * MBIT, 3 * MBIT, 0);
    saturate(&b, 1, &got, 1000, 0, 30000000, 1000);
    cr_expect(bps(got, 30000000) <= 1.02 * 3 * MBIT && bps(got, 30000000) >= 0.98 * 3 * MBIT);
}

Test(qos_bucket, zero_length_always_passes)
{
    struct qos_bucket b;
    qos_bucket_init_htb(&b, NULL, 1 * MBIT, 1 * MBIT, 0);
    while (qos_bucket_pass(&b, 1500, 0))
        ;
    int64_t before = b.ceil.tokens;
    cr_assert(qos_bucket_pass(&b, 0, 0));
    cr_assert_eq(b.ceil.tokens, before, "a zero-length packet costs nothing");
}

/* With the clock standing still exactly one burst (QOS_POLICER_BURST_US) passes, then nothing, forever. */
Test(qos_bucket, clock_not_moving)
{
    struct qos_bucket b;
    uint64_t got = 0;

    qos_bucket_init_htb(&b, NULL, 10 * MBIT, 10 * MBIT, 5000);
    while (qos_bucket_pass(&b, 100, 5000))
        got += 100;
    cr_assert_eq(got, 10 * MBIT / 8 * (QOS_POLICER_BURST_US / 1000) / 1000, "one burst: %llu",
                 (unsigned long long)got);
    for (int i = 0; i < 1000; i++)
        cr_assert(!qos_bucket_pass(&b, 100, 5000));

    /* Low rates still hold ten full packets (an initial TCP window). */
    qos_bucket_init_htb(&b, NULL, 64000, 64000, 0);
    for (int i = 0; i < 10; i++)
        cr_assert(qos_bucket_pass(&b, 1500, 0));
    cr_assert(!qos_bucket_pass(&b, 1, 0));
}

/* A clock that jumps ages ahead refills to one burst, no more and without overflow, at the
 * highest rate; the millisecond API saturates instead of wrapping. */
Test(qos_bucket, clock_jump_does_not_overflow)
{
    const uint64_t jumps[] = { 10000001, 1ULL << 40, UINT64_MAX / 2, UINT64_MAX - 1 };
    const uint64_t rates[] = { 1, 64000, 100000000000ULL, UINT64_MAX };
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        for (size_t j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
            struct qos_link link;
            struct qos_bucket b;
            qos_link_init(&link, rates[r], 0);
            qos_bucket_init_htb(&b, &link, rates[r], rates[r], 0);
            while (qos_bucket_pass(&b, 1500, 0))
                ;
            uint64_t got = 0;
            while (qos_bucket_pass(&b, 1500, jumps[j]))
                got += 1500;
            cr_assert(b.rate.tokens <= b.rate.burst && b.rate.tokens >= -b.rate.burst);
            cr_assert(b.ceil.tokens <= b.ceil.burst && link.tb.tokens <= link.tb.burst);
            /* 1 bit/s gains only 10 bits in the shortest jump: too few for a packet. */
            bool refilled = (double)rates[r] * (double)jumps[j] / 1e6 >= 2 * 1500 * 8;
            cr_assert((got > 0) == refilled && (int64_t)got * 8000000 <= b.ceil.burst,
                      "rate %zu jump %zu: %llu bytes", r, j, (unsigned long long)got);
        }
    }
}

/* A clock that goes backwards refills nothing, and time counts again from there. */
Test(qos_bucket, clock_backwards)
{
    struct qos_bucket b;
    qos_bucket_init_htb(&b, NULL, 8 * MBIT, 8 * MBIT, 1000000);
    while (qos_bucket_pass(&b, 1000, 1000000))
        ;
    cr_assert(!qos_bucket_pass(&b, 1000, 10));
    cr_assert(!qos_bucket_pass(&b, 1000, 900));     /* 890 us after the jump back: 890 bytes */
    cr_assert(qos_bucket_pass(&b, 1000, 1100));
}

Test(qos_bucket, ceil_below_rate_is_raised)
{
    struct qos_bucket b;
    qos_bucket_init_htb(&b, NULL, 4 * MBIT, 1 * MBIT, 0);
    cr_assert_eq(b.ceil.rate_bps, 4 * MBIT);
}

/* HTB's priorities: the spare goes to the lowest prio number first (7/3/2 of 12 here). */
Test(qos_bucket, spare_goes_by_priority)
{
    const uint64_t rate[3] = { 5 * MBIT, 3 * MBIT, 2 * MBIT };
    const uint64_t ceil[3] = { 10 * MBIT, 6 * MBIT, 4 * MBIT };
    const double want[3] = { 7e6, 3e6, 2e6 };
    const uint64_t dur = 20000000;
    struct qos_link link;
    struct qos_bucket b[3];
    uint64_t got[3] = { 0 };

    qos_link_init(&link, 12 * MBIT, 0);
    for (int i = 0; i < 3; i++) {
        qos_bucket_init_htb(&b[i], &link, rate[i], ceil[i], 0);
        qos_bucket_set_prio(&b[i], i + 1);
    }
    saturate(b, 3, got, 1400, 0, dur, 100);
    for (int i = 0; i < 3; i++)
        cr_expect(bps(got[i], dur) >= 0.98 * want[i] && bps(got[i], dur) <= 1.03 * want[i],
                  "session %d: %.0f, want %.0f", i, bps(got[i], dur), want[i]);
}
