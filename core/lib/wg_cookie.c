/* WireGuard's MACs and cookies (include/vpn/wg_cookie.h). */
#include "vpn/wg_cookie.h"

#include <sodium.h>
#include <string.h>

static const char LABEL_MAC1[] = "mac1----";
static const char LABEL_COOKIE[] = "cookie--";

_Static_assert(WG_COOKIE_SEALED + WG_MAC_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES ==
                   WG_COOKIE_REPLY_LEN, "a cookie reply is the sealed cookie after the nonce");
_Static_assert(WG_COOKIE_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES &&
                   WG_HASH_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "XChaCha20-Poly1305's nonce and key");

bool wg_mac1_key(uint8_t key[WG_HASH_LEN], const uint8_t pub[WG_KEY_LEN])
{
    return wg_hash(key, LABEL_MAC1, strlen(LABEL_MAC1), pub, WG_KEY_LEN);
}

bool wg_cookie_key(uint8_t key[WG_HASH_LEN], const uint8_t pub[WG_KEY_LEN])
{
    return wg_hash(key, LABEL_COOKIE, strlen(LABEL_COOKIE), pub, WG_KEY_LEN);
}

/* MAC in ctx, or in a one-off context when there is none. */
static bool mac(struct wg_mac_ctx *ctx, uint8_t out[WG_MAC_LEN], const uint8_t *key,
                size_t key_len, const void *msg, size_t len)
{
    return ctx ? wg_mac_with(ctx, out, key, key_len, msg, len)
               : wg_mac(out, key, key_len, msg, len);
}

bool wg_mac1_ok(struct wg_mac_ctx *ctx, const uint8_t key[WG_HASH_LEN], const uint8_t *msg,
                size_t len)
{
    uint8_t m[WG_MAC_LEN];
    if (len < 2 * WG_MAC_LEN)
        return false;
    size_t at = len - 2 * WG_MAC_LEN;
    return mac(ctx, m, key, WG_HASH_LEN, msg, at) && sodium_memcmp(m, msg + at, WG_MAC_LEN) == 0;
}

bool wg_mac2_ok(struct wg_mac_ctx *ctx, const uint8_t cookie[WG_MAC_LEN], const uint8_t *msg,
                size_t len)
{
    uint8_t m[WG_MAC_LEN];
    if (len < 2 * WG_MAC_LEN)
        return false;
    size_t at = len - WG_MAC_LEN;
    return !sodium_is_zero(msg + at, WG_MAC_LEN) && mac(ctx, m, cookie, WG_MAC_LEN, msg, at) &&
           sodium_memcmp(m, msg + at, WG_MAC_LEN) == 0;
}

bool wg_cookie_make(struct wg_mac_ctx *ctx, uint8_t cookie[WG_MAC_LEN],
                    const uint8_t secret[WG_HASH_LEN], const struct sockaddr_in6 *from)
{
    uint8_t src[16 + 2];
    size_t n = 16;
    if (IN6_IS_ADDR_V4MAPPED(&from->sin6_addr)) {
        n = 4;      /* the IPv4 address the datagram came from, not our dual-stack form */
        memcpy(src, from->sin6_addr.s6_addr + 12, n);
    } else {
        memcpy(src, from->sin6_addr.s6_addr, n);
    }
    memcpy(src + n, &from->sin6_port, 2);   /* network order */
    return mac(ctx, cookie, secret, WG_HASH_LEN, src, n + 2);
}

void wg_cookie_reply_build(uint8_t out[WG_COOKIE_REPLY_LEN], const uint8_t init[WG_INIT_LEN],
                           const uint8_t cookie_key[WG_HASH_LEN],
                           const uint8_t cookie[WG_MAC_LEN],
                           const uint8_t nonce[WG_COOKIE_NONCE_LEN])
{
    memset(out, 0, WG_COOKIE_NONCE);
    out[0] = WG_MSG_COOKIE_REPLY;
    memcpy(out + WG_COOKIE_RECEIVER, init + WG_INIT_SENDER, 4);    /* little-endian as it came */
    memcpy(out + WG_COOKIE_NONCE, nonce, WG_COOKIE_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + WG_COOKIE_SEALED, NULL, cookie, WG_MAC_LEN,
                                               init + WG_INIT_MAC1, WG_MAC_LEN, NULL, nonce,
                                               cookie_key);
}
