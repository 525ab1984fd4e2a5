/* The front door for CONNECT_REQs, before anything reaches the enclave (docs/PROTOCOL.md,
 * extensions 1 and 3; WireGuard's cookie.c and ratelimiter.c for the idea):
 *
 *   1. mac1 (extension 1): proves the sender knows the server's public key. One keyed hash;
 *      a request that fails it is dropped.
 *   2. load (handshake_load.h): more than GUARD_LOAD_RATE requests a second, or a worker's
 *      handshake ring an eighth full, puts the server under load for GUARD_LOAD_HOLD_MS.
 *   3. under load, a request must carry mac2 made with the cookie of its source address and
 *      port (extension 3): without it the answer is a COOKIE_REPLY (smaller than the
 *      request), never a Diffie-Hellman; a base v1 request (no mac2 possible) is dropped.
 *   4. per-source and global handshake budgets (source_limit.h).
 * A request with a valid mac2 is marked proven (its source address is real) whether the
 * server is loaded or not: the enclave then charges a failed token to the user's budget for
 * proven requests, which a flood from forged addresses cannot spend.
 * The cookie secret is random and changes every COOKIE_SECRET_ROTATE_MS (cookie_secrets.h);
 * it protects nothing but this check, so the main process holds it. RX thread only. */
#ifndef SERVER_HANDSHAKE_GUARD_H
#define SERVER_HANDSHAKE_GUARD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie_secrets.h"
#include "handshake_load.h"
#include "source_limit.h"
#include "vpn/limits.h"

struct handshake_guard {
    uint8_t mac1_key[32];
    uint8_t reply_key[32];
    struct cookie_secrets secrets;
    struct handshake_load load;
    struct source_limit handshakes; /* requests that may reach the enclave */
    struct source_limit replies;    /* cookie replies: per source only (no reflection) */
};

enum guard_verdict {
    GUARD_PASS,             /* hand it to the enclave */
    GUARD_PASS_PROVEN,      /* the same, its source address proven by a valid mac2 */
    GUARD_BAD_MAC1,         /* drop */
    GUARD_LEGACY_LOADED,    /* drop: a base v1 request while under load */
    GUARD_COOKIE,           /* answer with the COOKIE_REPLY written to reply */
    GUARD_COOKIE_LIMITED,   /* would answer with a cookie, over that source's budget: drop */
    GUARD_RATE,             /* drop: over the handshake budgets */
};

void handshake_guard_init(struct handshake_guard *g, const uint8_t s_pub[KEY_LEN], uint64_t now_ms);

/* Decides for one CONNECT_REQ (whole datagram, header already checked) from `from`. busy: the
 * handshake ring of the worker it would go to is an eighth full or more, or the enclave
 * recently answered RATE_LIMITED (someone spends a user's failure budget): load. For
 * GUARD_COOKIE, *reply_len bytes of reply (COOKIE_REPLY_LEN) are to be sent to `from`. */
enum guard_verdict handshake_guard_check(struct handshake_guard *g, const uint8_t *req,
                                         const struct sockaddr_in6 *from, bool busy,
                                         uint64_t now_ms, uint64_t wall_ms, uint8_t *reply,
                                         size_t *reply_len);

/* Whether the server counts as under load now. */
bool handshake_guard_loaded(const struct handshake_guard *g, uint64_t now_ms);

#endif
