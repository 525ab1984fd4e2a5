/* Per-source rate limits for what costs the server work or an answer before a session
 * exists (handshakes, SESSION_UNKNOWN hints), in the spirit of WireGuard's ratelimiter.c:
 * a token bucket per source, chosen by a keyed hash (SipHash-2-4, random key drawn at start,
 * so that nobody can aim at another source's bucket), IPv6 sources taken by their /64 (one
 * subscriber's whole prefix shares an allowance), IPv4 by their address, and one global
 * bucket over all sources. Sources whose hashes collide share a bucket: that only ever makes
 * two sources share one allowance.
 *
 * Concurrency: one thread owns a source_limit (the RX thread); nothing here locks. */
#ifndef SERVER_SOURCE_LIMIT_H
#define SERVER_SOURCE_LIMIT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

enum { SOURCE_LIMIT_BUCKETS = 4096 };

struct source_bucket {
    uint64_t last_ms;
    uint32_t millitokens;       /* tokens * 1000, so that slow rates refill smoothly */
};

struct source_limit {
    uint8_t key[16];            /* SipHash key */
    uint32_t rate, burst;       /* per source: tokens per second, bucket size */
    uint32_t global_rate, global_burst;
    struct source_bucket global;
    struct source_bucket buckets[SOURCE_LIMIT_BUCKETS];
};

/* Zeroes l, draws a random key, and sets the rates (per second) and bursts. Every bucket
 * starts full. */
void source_limit_init(struct source_limit *l, uint32_t rate, uint32_t burst,
                       uint32_t global_rate, uint32_t global_burst);

/* Takes one token from the source's bucket and from the global one: true when both had one
 * (nothing is taken otherwise). now_ms is monotonic. */
bool source_limit_allow(struct source_limit *l, const struct sockaddr_in6 *from, uint64_t now_ms);

/* The bucket index of a source (exposed for the tests: /64 aggregation, keyed hash). */
uint32_t source_limit_bucket(const struct source_limit *l, const struct sockaddr_in6 *from);

#endif
