/* The rotating secret that cookies are made under (our extension 3, include/vpn/cookie.h, and
 * WireGuard's R_m, whitepaper 5.4.7): random, replaced every COOKIE_SECRET_ROTATE_MS. The
 * previous one is kept and still accepted, so a cookie is good for at least one period after
 * it was made (and at most two): a client that uses a cookie for one period (WireGuard's
 * initiators keep one 120 s, ours COOKIE_USE_MS) never holds one that the server has just
 * forgotten, which would cost it another round trip, for WireGuard a whole retransmission
 * timeout (5 s). Periods are counted from the first secret, so a quiet server that sees no
 * handshake for a while still forgets a secret two periods after its period began.
 * Not secret beyond this check: the main process holds it. One thread; no locks. */
#ifndef SERVER_COOKIE_SECRETS_H
#define SERVER_COOKIE_SECRETS_H

#include <stdint.h>

#include "vpn/limits.h"

enum { COOKIE_SECRET_LEN = 32 };

struct cookie_secrets {
    uint8_t secret[2][COOKIE_SECRET_LEN];   /* current, previous */
    uint64_t period_ms;                     /* when the current secret's period began */
};

/* Two fresh random secrets; the current period begins at now_ms (monotonic). */
void cookie_secrets_init(struct cookie_secrets *s, uint64_t now_ms);

/* Moves on to now_ms: one period later, the current secret becomes the previous and a new one
 * is drawn; two or more, both are new. */
void cookie_secrets_rotate(struct cookie_secrets *s, uint64_t now_ms);

#endif
