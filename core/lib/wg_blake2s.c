/* WireGuard's BLAKE2s constructions on OpenSSL 3 (include/vpn/wg_blake2s.h). */
#include "vpn/wg_blake2s.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

static EVP_MD *blake2s;
static EVP_MAC *hmac, *keyed_blake2s;

/* BLAKE2s("abc") from RFC 7693 appendix B: the fetch gave the function we asked for. */
static const uint8_t ABC_DIGEST[WG_HASH_LEN] = {
    0x50, 0x8c, 0x5e, 0x8c, 0x32, 0x7c, 0x14, 0xe2, 0xe1, 0xa7, 0x2b, 0xa3, 0x4e, 0xeb, 0x45, 0x2f,
    0x37, 0x45, 0x8b, 0x20, 0x9e, 0xd6, 0x3a, 0x29, 0x4d, 0x99, 0x9b, 0x4c, 0x86, 0x67, 0x59, 0x82,
};

int wg_blake2s_init(void)
{
    if (!blake2s)
        blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
    if (!hmac)
        hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!keyed_blake2s)
        keyed_blake2s = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
    if (!blake2s || !hmac || !keyed_blake2s)
        return -1;
    /* One use of each before any sandbox: providers finish their set-up on first use. */
    uint8_t h[WG_HASH_LEN], m[WG_MAC_LEN], k[WG_HASH_LEN] = { 0 };
    if (!wg_hash(h, "abc", 3, NULL, 0) || memcmp(h, ABC_DIGEST, sizeof(h)) != 0 ||
        !wg_mac(m, k, sizeof(k), "abc", 3) || !wg_hmac(h, k, "abc", 3))
        return -1;
    return 0;
}

bool wg_hash(uint8_t out[WG_HASH_LEN], const void *a, size_t a_len, const void *b, size_t b_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;
    bool ok = ctx && EVP_DigestInit_ex2(ctx, blake2s, NULL) && EVP_DigestUpdate(ctx, a, a_len) &&
              (b_len == 0 || EVP_DigestUpdate(ctx, b, b_len)) &&
              EVP_DigestFinal_ex(ctx, out, &n) && n == WG_HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* One MAC computation with a fresh context (freed contexts are cleansed: no key stays on the
 * heap). */
static bool mac_once(EVP_MAC *alg, const OSSL_PARAM *params, const uint8_t *key, size_t key_len,
                     const void *msg, size_t msg_len, uint8_t *out, size_t out_len)
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(alg);
    size_t n = 0;
    bool ok = ctx && EVP_MAC_init(ctx, key, key_len, params) &&
              EVP_MAC_update(ctx, msg, msg_len) && EVP_MAC_final(ctx, out, &n, out_len) &&
              n == out_len;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

/* The keyed BLAKE2s's one parameter: a 16-byte output. */
static bool mac_init(EVP_MAC_CTX *ctx, const uint8_t *key, size_t key_len)
{
    size_t size = WG_MAC_LEN;
    OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                            OSSL_PARAM_construct_end() };
    return EVP_MAC_init(ctx, key, key_len, params);
}

bool wg_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t key_len, const void *msg,
            size_t msg_len)
{
    struct wg_mac_ctx *c = wg_mac_ctx_new();
    bool ok = c && wg_mac_with(c, out, key, key_len, msg, msg_len);
    wg_mac_ctx_free(c);
    return ok;
}

/* The context is libcrypto's own; the type only keeps callers from handing us another. */
struct wg_mac_ctx *wg_mac_ctx_new(void)
{
    return keyed_blake2s ? (struct wg_mac_ctx *)EVP_MAC_CTX_new(keyed_blake2s) : NULL;
}

void wg_mac_ctx_free(struct wg_mac_ctx *c)
{
    EVP_MAC_CTX_free((EVP_MAC_CTX *)c);     /* cleanses the key it holds */
}

/* EVP_MAC_init rekeys the context in place (OpenSSL's BLAKE2 MAC keeps its state inline):
 * no allocation from here on. */
bool wg_mac_with(struct wg_mac_ctx *c, uint8_t out[WG_MAC_LEN], const uint8_t *key,
                 size_t key_len, const void *msg, size_t msg_len)
{
    EVP_MAC_CTX *ctx = (EVP_MAC_CTX *)c;
    size_t n = 0;
    return mac_init(ctx, key, key_len) && EVP_MAC_update(ctx, msg, msg_len) &&
           EVP_MAC_final(ctx, out, &n, WG_MAC_LEN) && n == WG_MAC_LEN;
}

bool wg_hmac(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN], const void *msg,
             size_t msg_len)
{
    char digest[] = "BLAKE2S-256";
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                            OSSL_PARAM_construct_end() };
    return mac_once(hmac, params, key, WG_HASH_LEN, msg, msg_len, out, WG_HASH_LEN);
}

bool wg_kdf(uint8_t t1[WG_HASH_LEN], uint8_t *t2, uint8_t *t3, const uint8_t key[WG_HASH_LEN],
            const void *input, size_t input_len)
{
    uint8_t t0[WG_HASH_LEN], buf[WG_HASH_LEN + 1];
    bool ok = wg_hmac(t0, key, input, input_len);
    buf[0] = 1;
    ok = ok && wg_hmac(buf, t0, buf, 1);
    if (ok)
        memcpy(t1, buf, WG_HASH_LEN);
    if (ok && t2) {
        buf[WG_HASH_LEN] = 2;
        ok = wg_hmac(buf, t0, buf, sizeof(buf));
        if (ok)
            memcpy(t2, buf, WG_HASH_LEN);
    }
    if (ok && t3) {
        buf[WG_HASH_LEN] = 3;
        ok = wg_hmac(buf, t0, buf, sizeof(buf));
        if (ok)
            memcpy(t3, buf, WG_HASH_LEN);
    }
    sodium_memzero(t0, sizeof(t0));
    sodium_memzero(buf, sizeof(buf));
    return ok;
}
