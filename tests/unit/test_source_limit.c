/* The per-source limiter (core/server/source_limit.c): bursts and rates per source, the
 * global budget, IPv6 sources by their /64, and a keyed hash that differs per instance. */
#include "testaddr.h"

#include "../../core/server/source_limit.h"

static struct source_limit lim;

static int allowed(const char *src, int tries, uint64_t now)
{
    struct sockaddr_in6 a = test_endpoint(src, 0);
    int n = 0;
    for (int i = 0; i < tries; i++)
        n += source_limit_allow(&lim, &a, now);
    return n;
}

TestSuite(source_limit, .init = (void (*)(void))sodium_init);

Test(source_limit, burst_then_rate_per_source)
{
    source_limit_init(&lim, 10, 20, 100000, 100000);
    cr_assert_eq(allowed("192.0.2.1", 50, 1000), 20, "the burst");
    cr_assert_eq(allowed("192.0.2.2", 50, 1000), 20, "another source has its own bucket");
    cr_assert_eq(allowed("192.0.2.1", 50, 1500), 5, "10/s: 5 more after 0.5 s");
    cr_assert_eq(allowed("192.0.2.1", 50, 1600), 1);
    cr_assert_eq(allowed("192.0.2.1", 50, 100000), 20, "refills to the burst, no more");
}

Test(source_limit, global_budget_over_all_sources)
{
    source_limit_init(&lim, 1000, 1000, 10, 30);
    int total = 0;
    char src[32];
    for (int i = 0; i < 100; i++) {
        snprintf(src, sizeof(src), "198.51.100.%d", i);
        total += allowed(src, 1, 5000);
    }
    cr_assert_eq(total, 30, "spoofed sources cannot exceed the global burst");
    cr_assert_eq(allowed("198.51.100.200", 100, 6000), 10, "then the global rate");
}

Test(source_limit, ipv6_sources_share_their_slash64)
{
    source_limit_init(&lim, 1, 5, 100000, 100000);
    struct sockaddr_in6 a = test_endpoint("2001:db8:1:2::1", 0);
    struct sockaddr_in6 b = test_endpoint("2001:db8:1:2:ffff::9", 0);
    struct sockaddr_in6 c = test_endpoint("2001:db8:1:3::1", 0);
    cr_assert_eq(source_limit_bucket(&lim, &a), source_limit_bucket(&lim, &b));
    cr_assert_eq(allowed("2001:db8:1:2::1", 5, 1000), 5);
    cr_assert_eq(allowed("2001:db8:1:2:abcd::1", 5, 1000), 0, "same /64, same bucket");
    (void)c;
    cr_assert_eq(allowed("2001:db8:1:3::1", 5, 1000), 5, "the next /64 is another source");
}

Test(source_limit, the_hash_is_keyed)
{
    /* With a random key two instances place the same sources differently: an attacker cannot
     * compute which of his addresses share a victim's bucket. */
    static struct source_limit other;
    source_limit_init(&lim, 1, 1, 1, 1);
    source_limit_init(&other, 1, 1, 1, 1);
    int same = 0;
    char src[32];
    for (int i = 0; i < 64; i++) {
        snprintf(src, sizeof(src), "203.0.113.%d", i);
        struct sockaddr_in6 a = test_endpoint(src, 0);
        same += source_limit_bucket(&lim, &a) == source_limit_bucket(&other, &a);
    }
    cr_assert_lt(same, 8, "%d of 64 sources in the same bucket under two keys", same);
}
