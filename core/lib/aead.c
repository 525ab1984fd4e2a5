/* The transport's AEAD (include/vpn/aead.h): libsodium's, and the dispatch to OpenSSL's in
 * builds made with AEAD=openssl (-DVPN_AEAD_OPENSSL). */
#include "vpn/aead.h"

#include <sodium.h>

void aead_sodium_seal(uint8_t *ct, uint8_t tag[TAG_LEN], const uint8_t *pt, size_t len,
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                      const uint8_t key[KEY_LEN])
{
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, tag, NULL, pt, len, ad, ad_len, NULL,
                                                       nonce, key);
}

bool aead_sodium_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[TAG_LEN],
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                      const uint8_t key[KEY_LEN])
{
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(pt, NULL, ct, len, tag, ad, ad_len,
                                                              nonce, key) == 0;
}

/* A build with AEAD=openssl takes OpenSSL's for long messages; libsodium's otherwise, and
 * whenever OpenSSL has no context for this thread (aead.h). Same bytes either way. */
void aead_seal(uint8_t *ct, uint8_t tag[TAG_LEN], const uint8_t *pt, size_t len,
               const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
               const uint8_t key[KEY_LEN])
{
#ifdef VPN_AEAD_OPENSSL
    if (len >= AEAD_OPENSSL_MIN && aead_openssl_seal(ct, tag, pt, len, ad, ad_len, nonce, key))
        return;
#endif
    aead_sodium_seal(ct, tag, pt, len, ad, ad_len, nonce, key);
}

bool aead_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[TAG_LEN],
               const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
               const uint8_t key[KEY_LEN])
{
#ifdef VPN_AEAD_OPENSSL
    if (len >= AEAD_OPENSSL_MIN) {
        int ok = aead_openssl_open(pt, ct, len, tag, ad, ad_len, nonce, key);
        if (ok >= 0)
            return ok == 1;
    }
#endif
    return aead_sodium_open(pt, ct, len, tag, ad, ad_len, nonce, key);
}

#ifdef VPN_AEAD_OPENSSL
int aead_init(void)
{
    return aead_openssl_init();
}

void aead_wipe(void)
{
    aead_openssl_wipe();
}

const char *aead_name(void)
{
    return "openssl";
}
#else
int aead_init(void)
{
    return 0;
}

void aead_wipe(void)
{
}

const char *aead_name(void)
{
    return "libsodium";
}
#endif
