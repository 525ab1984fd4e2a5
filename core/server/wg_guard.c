/* The WireGuard port's front door for initiations (see wg_guard.h). */
#include "wg_guard.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "vpn/wg_cookie.h"

int wg_guard_init(struct wg_guard *g, const uint8_t wg_pub[WG_KEY_LEN], uint64_t now_ms)
{
    memset(g, 0, sizeof(*g));
    if (wg_blake2s_init() != 0)
        return -ENOSYS;
    g->mac = wg_mac_ctx_new();
    if (!g->mac || !wg_mac1_key(g->mac1_key, wg_pub) || !wg_cookie_key(g->cookie_key, wg_pub))
        return -ENOMEM;
    g->random_bytes = randombytes_buf;
    cookie_secrets_init(&g->secrets, now_ms);
    source_limit_init(&g->handshakes, WG_HANDSHAKE_RATE, WG_HANDSHAKE_BURST,
                      WG_HANDSHAKE_GLOBAL_RATE, WG_HANDSHAKE_GLOBAL_BURST);
    source_limit_init(&g->replies, WG_REPLY_RATE, WG_REPLY_BURST, WG_REPLY_GLOBAL_RATE,
                      WG_REPLY_GLOBAL_BURST);
    return 0;
}

void wg_guard_uninit(struct wg_guard *g)
{
    wg_mac_ctx_free(g->mac);
    g->mac = NULL;
}

bool wg_guard_loaded(const struct wg_guard *g, uint64_t now_ms)
{
    return handshake_load_active(&g->load, now_ms);
}

/* Whether mac2 was made with the cookie of `from` under R_m, current or previous. An initiator
 * without a cookie sends zeros: no cookie is worth computing then (a flood's usual case). */
static bool mac2_ok(struct wg_guard *g, const uint8_t *init, const struct sockaddr_in6 *from)
{
    if (sodium_is_zero(init + WG_INIT_MAC2, WG_MAC_LEN))
        return false;
    for (int i = 0; i < 2; i++) {
        uint8_t cookie[WG_MAC_LEN];
        if (wg_cookie_make(g->mac, cookie, g->secrets.secret[i], from) &&
            wg_mac2_ok(g->mac, cookie, init, WG_INIT_LEN))
            return true;
    }
    return false;
}

enum wg_guard_verdict wg_guard_check(struct wg_guard *g, const uint8_t initiation[WG_INIT_LEN],
                                     const struct sockaddr_in6 *from, bool busy, uint64_t now_ms,
                                     uint8_t reply[WG_COOKIE_REPLY_LEN], size_t *reply_len)
{
    if (!wg_mac1_ok(g->mac, g->mac1_key, initiation, WG_INIT_LEN))
        return WG_GUARD_BAD_MAC1;
    cookie_secrets_rotate(&g->secrets, now_ms);
    handshake_load_note(&g->load, busy, now_ms);
    if (wg_guard_loaded(g, now_ms) && !mac2_ok(g, initiation, from)) {
        uint8_t cookie[WG_MAC_LEN], nonce[WG_COOKIE_NONCE_LEN];
        if (!source_limit_allow(&g->replies, from, now_ms))
            return WG_GUARD_COOKIE_LIMITED;
        if (!wg_cookie_make(g->mac, cookie, g->secrets.secret[0], from))
            return WG_GUARD_BAD_MAC1;       /* libcrypto failed: drop as unchecked */
        g->random_bytes(nonce, sizeof(nonce));
        wg_cookie_reply_build(reply, initiation, g->cookie_key, cookie, nonce);
        *reply_len = WG_COOKIE_REPLY_LEN;
        return WG_GUARD_COOKIE;
    }
    if (!source_limit_allow(&g->handshakes, from, now_ms))
        return WG_GUARD_RATE;
    return WG_GUARD_PASS;
}
