/* ChaCha20-Poly1305 IETF through OpenSSL's EVP interface (include/vpn/aead.h): libcrypto's
 * NEON assembly on ARM. One EVP_CIPHER_CTX per thread, made once and re-keyed for every
 * message (EVP_CipherInit_ex2 with no cipher reuses the context: no allocation per message,
 * which tests/unit/test_aead.c checks). */
#include <limits.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

#include "vpn/aead.h"

/* Messages opened through a private buffer, never straight into the caller's: EVP decrypts
 * before it can verify, and libsodium's rule (no unauthenticated plaintext written, as the
 * enclave's out_dec slots are readable by the main process) is kept. Every transport
 * datagram fits (SLOT_DATA, MTU_MAX); a longer message goes to libsodium. */
enum { OPEN_MAX = 2048 };

static EVP_CIPHER *cipher;              /* fetched once; EVP_CIPHER_fetch is thread-safe */
static __thread EVP_CIPHER_CTX *ctx;
static __thread uint8_t scratch[OPEN_MAX];

/* This thread's context, made on first use; NULL when OpenSSL cannot give one. */
static EVP_CIPHER_CTX *thread_ctx(void)
{
    static const uint8_t zero[KEY_LEN];
    if (ctx)
        return ctx;
    EVP_CIPHER *c = __atomic_load_n(&cipher, __ATOMIC_ACQUIRE);
    if (!c) {
        c = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
        if (!c)
            return NULL;
        EVP_CIPHER *none = NULL;
        if (!__atomic_compare_exchange_n(&cipher, &none, c, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
            EVP_CIPHER_free(c);     /* another thread's fetch won */
            c = none;
        }
    }
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    if (!x)
        return NULL;
    if (EVP_CipherInit_ex2(x, c, zero, zero, 1, NULL) != 1 ||
        EVP_CIPHER_CTX_get_iv_length(x) != NONCE_LEN) {
        EVP_CIPHER_CTX_free(x);
        return NULL;
    }
    ctx = x;
    return ctx;
}

int aead_openssl_init(void)
{
    return thread_ctx() ? 0 : -1;
}

bool aead_openssl_seal(uint8_t *ct, uint8_t tag[TAG_LEN], const uint8_t *pt, size_t len,
                       const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                       const uint8_t key[KEY_LEN])
{
    EVP_CIPHER_CTX *x = thread_ctx();
    int n, last;
    if (!x || len > INT_MAX || ad_len > INT_MAX)
        return false;
    return EVP_CipherInit_ex2(x, NULL, key, nonce, 1, NULL) == 1 &&
           EVP_CipherUpdate(x, NULL, &n, ad, (int)ad_len) == 1 &&
           EVP_CipherUpdate(x, ct, &n, pt, (int)len) == 1 &&
           EVP_CipherFinal_ex(x, ct + n, &last) == 1 &&
           EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
}

int aead_openssl_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[TAG_LEN],
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                      const uint8_t key[KEY_LEN])
{
    EVP_CIPHER_CTX *x = thread_ctx();
    int n, last;
    if (!x || len > OPEN_MAX || ad_len > INT_MAX)
        return -1;
    if (EVP_CipherInit_ex2(x, NULL, key, nonce, 0, NULL) != 1 ||
        EVP_CipherUpdate(x, NULL, &n, ad, (int)ad_len) != 1 ||
        EVP_CipherUpdate(x, scratch, &n, ct, (int)len) != 1 ||
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)tag) != 1)
        return -1;
    if (EVP_CipherFinal_ex(x, scratch + n, &last) != 1) {
        sodium_memzero(scratch, len);
        return 0;
    }
    memcpy(pt, scratch, len);
    return 1;
}

void aead_openssl_wipe(void)
{
    /* A message of zeros under the zero key and nonce: the context's key, Poly1305 state and
     * buffered keystream are then those of a key nobody uses. */
    static const uint8_t zero[KEY_LEN];
    uint8_t block[64] = { 0 }, tag[TAG_LEN];
    if (ctx && !aead_openssl_seal(block, tag, block, sizeof(block), NULL, 0, zero, zero)) {
        EVP_CIPHER_CTX_free(ctx);   /* cannot overwrite it: free it (cleared by OpenSSL) */
        ctx = NULL;
    }
}
