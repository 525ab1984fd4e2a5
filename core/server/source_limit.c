/* Per-source token buckets (see source_limit.h). */
#include "source_limit.h"

#include <sodium.h>
#include <string.h>

static void refill(struct source_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
    if (b->last_ms == 0) {
        b->millitokens = burst * 1000u;     /* a bucket never used starts full */
        b->last_ms = now_ms;
        return;
    }
    if (now_ms <= b->last_ms)
        return;
    uint64_t add = (now_ms - b->last_ms) * rate;    /* ms * tokens/s = millitokens */
    uint64_t full = (uint64_t)burst * 1000u;
    uint64_t t = b->millitokens + add;
    b->millitokens = (uint32_t)(t > full ? full : t);
    b->last_ms = now_ms;
}

void source_limit_init(struct source_limit *l, uint32_t rate, uint32_t burst,
                       uint32_t global_rate, uint32_t global_burst)
{
    memset(l, 0, sizeof(*l));
    randombytes_buf(l->key, sizeof(l->key));
    l->rate = rate;
    l->burst = burst;
    l->global_rate = global_rate;
    l->global_burst = global_burst;
}

uint32_t source_limit_bucket(const struct source_limit *l, const struct sockaddr_in6 *from)
{
    static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const uint8_t *a = from->sin6_addr.s6_addr;
    uint8_t h[crypto_shorthash_BYTES];
    if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0)
        crypto_shorthash(h, a, 16, l->key);     /* IPv4: the whole address */
    else
        crypto_shorthash(h, a, 8, l->key);      /* IPv6: its /64 */
    uint32_t v;
    memcpy(&v, h, sizeof(v));
    return v & (SOURCE_LIMIT_BUCKETS - 1);
}

bool source_limit_allow(struct source_limit *l, const struct sockaddr_in6 *from, uint64_t now_ms)
{
    struct source_bucket *b = &l->buckets[source_limit_bucket(l, from)];
    if (now_ms == 0)
        now_ms = 1;     /* 0 marks a bucket never used */
    refill(b, l->rate, l->burst, now_ms);
    refill(&l->global, l->global_rate, l->global_burst, now_ms);
    if (b->millitokens < 1000 || l->global.millitokens < 1000)
        return false;
    b->millitokens -= 1000;
    l->global.millitokens -= 1000;
    return true;
}
