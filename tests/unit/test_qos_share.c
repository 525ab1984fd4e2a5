/* Fair shares of one upload policer (core/server/qos_share.c) in simulated time: sessions
 * offer packets at fixed rates on a fake microsecond clock, always in the same order (the
 * phase lock of two paced senders, which let the first take nearly everything before), and
 * the bytes that passed are compared with a fair split. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "vpn/qos.h"

#define MBIT 1000000ULL

enum { LEN = 1200, TICK_US = 100 };

struct sender {
    uint64_t offer_bps;     /* 0 = silent */
    uint64_t until_us;      /* stops offering then (0 = never) */
    double credit;          /* bytes it may still offer */
    uint64_t got;           /* bytes that passed */
    struct qos_share share;
};

/* n senders through one bucket for duration_us; counts what passes from from_us on. */
static void run(struct qos_bucket *b, struct sender *s, int n, uint64_t duration_us,
                uint64_t from_us)
{
    for (uint64_t t = 0; t < duration_us; t += TICK_US) {
        for (int i = 0; i < n; i++) {
            if (!s[i].offer_bps || (s[i].until_us && t >= s[i].until_us))
                continue;
            s[i].credit += (double)s[i].offer_bps * TICK_US / 8e6;
            while (s[i].credit >= LEN) {
                s[i].credit -= LEN;
                if (qos_share_pass(b, &s[i].share, LEN, t) && t >= from_us)
                    s[i].got += LEN;
            }
        }
    }
}

static double mbps(uint64_t bytes, uint64_t duration_us)
{
    return (double)bytes * 8.0 / (double)duration_us;
}

static void setup(struct qos_bucket *b, struct sender *s, int n, uint64_t rate, uint64_t ceil)
{
    memset(b, 0, sizeof(*b));
    qos_bucket_init_htb(b, NULL, rate, ceil, 0);
    for (int i = 0; i < n; i++)
        qos_share_reset(&s[i].share);
}

/* Two devices of a user of class rate 5, ceil 10 Mbit/s offering offer_a and offer_b for 30 s:
 * what each got, in Mbit/s, over the last 25 s. */
static void two_devices(uint64_t offer_a, uint64_t offer_b, double *a, double *c)
{
    struct qos_bucket b;
    struct sender s[2] = { { .offer_bps = offer_a }, { .offer_bps = offer_b } };
    setup(&b, s, 2, 5 * MBIT, 10 * MBIT);
    run(&b, s, 2, 30000000, 5000000);
    *a = mbps(s[0].got, 25000000);
    *c = mbps(s[1].got, 25000000);
}

/* Two devices flooding one user's 10 Mbit/s ceiling with 9 Mbit/s each: about 5 each (the
 * integration test saw 0.0 + 8.5 before). */
Test(qos_share, two_floods_split_evenly)
{
    double a, c;
    two_devices(9 * MBIT, 9 * MBIT, &a, &c);
    cr_assert(a > 4.5 && a < 5.5 && c > 4.5 && c < 5.5, "split %.2f + %.2f Mbit/s", a, c);
    cr_assert(a + c > 9.7 && a + c < 10.3, "sum %.2f Mbit/s", a + c);
}

/* Three devices, unequal floods: still a third each, and the sum is the ceiling. */
Test(qos_share, three_floods)
{
    struct qos_bucket b;
    struct sender s[3] = { { .offer_bps = 30 * MBIT }, { .offer_bps = 12 * MBIT },
                           { .offer_bps = 6 * MBIT } };
    setup(&b, s, 3, 0, 12 * MBIT);
    run(&b, s, 3, 30000000, 5000000);
    double sum = 0;
    for (int i = 0; i < 3; i++) {
        double m = mbps(s[i].got, 25000000);
        cr_assert(m > 3.5 && m < 4.5, "device %d: %.2f Mbit/s", i, m);
        sum += m;
    }
    cr_assert(sum > 11.6 && sum < 12.4, "sum %.2f Mbit/s", sum);
}

/* A light device keeps all it sends; the heavy one takes the rest (the policer stays
 * work-conserving). */
Test(qos_share, light_device_keeps_its_traffic)
{
    double heavy, light;
    two_devices(20 * MBIT, 1 * MBIT, &heavy, &light);
    cr_assert(light > 0.98, "light %.3f Mbit/s of 1", light);
    cr_assert(heavy > 8.5 && heavy + light < 10.3, "heavy %.2f, sum %.2f", heavy, heavy + light);
}

/* Alone, a device gets the whole ceiling, exactly as through qos_bucket_pass; and when the
 * second device stops, the first gets the whole ceiling back. */
Test(qos_share, alone_and_after_the_other_leaves)
{
    struct qos_bucket b;
    struct sender s[2] = { { .offer_bps = 20 * MBIT }, { 0 } };
    setup(&b, s, 2, 5 * MBIT, 10 * MBIT);
    run(&b, s, 1, 20000000, 5000000);
    double alone = mbps(s[0].got, 15000000);
    cr_assert(alone > 9.8 && alone < 10.2, "alone %.2f Mbit/s", alone);

    struct sender t[2] = { { .offer_bps = 20 * MBIT }, { .offer_bps = 20 * MBIT, .until_us = 10000000 } };
    setup(&b, t, 2, 5 * MBIT, 10 * MBIT);
    run(&b, t, 2, 30000000, 12000000);
    double after = mbps(t[0].got, 18000000);
    cr_assert(after > 9.6 && after < 10.2, "after the other left %.2f Mbit/s", after);
}

/* An unlimited bucket passes everything, shares or not; a zero-length packet always passes. */
Test(qos_share, unlimited_and_empty)
{
    struct qos_bucket b;
    struct sender s[2] = { { .offer_bps = 50 * MBIT }, { .offer_bps = 50 * MBIT } };
    setup(&b, s, 2, 0, 0);
    run(&b, s, 2, 1000000, 0);
    cr_assert(s[0].got + s[1].got >= 100 * MBIT / 8 - 2 * LEN, "%llu bytes",
              (unsigned long long)(s[0].got + s[1].got));
    setup(&b, s, 1, 1 * MBIT, 1 * MBIT);
    cr_assert(qos_share_pass(&b, &s[0].share, 0, 0));
}
