/* The CONNECT_REQ front door (see handshake_guard.h). */
#include "handshake_guard.h"

#include <sodium.h>
#include <string.h>

#include "vpn/cookie.h"
#include "vpn/handshake.h"
#include "vpn/proto.h"

enum {
    HANDSHAKE_RATE = 200,           /* per source: a whole office behind one NAT... */
    HANDSHAKE_BURST = 400,          /* ...coming back after a server restart */
    HANDSHAKE_GLOBAL_RATE = 20000,  /* all sources: well under what the workers can do */
    HANDSHAKE_GLOBAL_BURST = 20000,
    REPLY_RATE = 10,                /* cookie replies per source address: never a reflector */
    REPLY_BURST = 20,
    REPLY_GLOBAL_RATE = 1000000,    /* no global cap: a spoofed flood must not starve the real
                                       clients of their cookies (a reply costs ~2 us) */
    REPLY_GLOBAL_BURST = 1000000,
};

void handshake_guard_init(struct handshake_guard *g, const uint8_t s_pub[KEY_LEN], uint64_t now_ms)
{
    memset(g, 0, sizeof(*g));
    hs_mac1_key(g->mac1_key, s_pub);
    cookie_key(g->reply_key, s_pub);
    cookie_secrets_init(&g->secrets, now_ms);
    source_limit_init(&g->handshakes, HANDSHAKE_RATE, HANDSHAKE_BURST, HANDSHAKE_GLOBAL_RATE,
                      HANDSHAKE_GLOBAL_BURST);
    source_limit_init(&g->replies, REPLY_RATE, REPLY_BURST, REPLY_GLOBAL_RATE,
                      REPLY_GLOBAL_BURST);
}

bool handshake_guard_loaded(const struct handshake_guard *g, uint64_t now_ms)
{
    return handshake_load_active(&g->load, now_ms);
}

static bool mac2_ok(const struct handshake_guard *g, const uint8_t *req,
                    const struct sockaddr_in6 *from)
{
    const uint8_t *got = req + HDR_LEN + REQ_MAC2_OFF;
    for (int i = 0; i < 2; i++) {
        uint8_t cookie[COOKIE_LEN], mac2[REQ_MACX_LEN];
        cookie_make(cookie, g->secrets.secret[i], from->sin6_addr.s6_addr, ntohs(from->sin6_port));
        cookie_mac2(mac2, cookie, req);
        if (sodium_memcmp(mac2, got, REQ_MACX_LEN) == 0)
            return true;
    }
    return false;
}

enum guard_verdict handshake_guard_check(struct handshake_guard *g, const uint8_t *req,
                                         const struct sockaddr_in6 *from, bool busy,
                                         uint64_t now_ms, uint64_t wall_ms, uint8_t *reply,
                                         size_t *reply_len)
{
    bool ext = req[HDR_LEN + REQ_EXT_OFF] == REQ_EXT_VERSION;
    if (ext) {
        uint8_t mac1[REQ_MACX_LEN];
        hs_mac1(mac1, g->mac1_key, req);
        if (sodium_memcmp(mac1, req + HDR_LEN + REQ_MAC1_OFF, REQ_MACX_LEN) != 0)
            return GUARD_BAD_MAC1;
    }
    cookie_secrets_rotate(&g->secrets, now_ms);
    handshake_load_note(&g->load, busy, now_ms);
    static const uint8_t no_mac2[REQ_MACX_LEN];
    bool proven = ext && sodium_memcmp(req + HDR_LEN + REQ_MAC2_OFF, no_mac2, REQ_MACX_LEN) != 0 &&
                  mac2_ok(g, req, from);
    if (handshake_guard_loaded(g, now_ms)) {
        if (!ext)
            return GUARD_LEGACY_LOADED;
        if (!proven) {
            if (!source_limit_allow(&g->replies, from, now_ms))
                return GUARD_COOKIE_LIMITED;
            uint8_t cookie[COOKIE_LEN], nonce[COOKIE_NONCE_LEN];
            cookie_make(cookie, g->secrets.secret[0], from->sin6_addr.s6_addr,
                        ntohs(from->sin6_port));
            randombytes_buf(nonce, sizeof(nonce));
            *reply_len = cookie_reply_build(reply, wall_ms, g->reply_key,
                                            req + HDR_LEN + REQ_MAC1_OFF, cookie, nonce);
            return GUARD_COOKIE;
        }
    }
    if (!source_limit_allow(&g->handshakes, from, now_ms))
        return GUARD_RATE;
    return proven ? GUARD_PASS_PROVEN : GUARD_PASS;
}
