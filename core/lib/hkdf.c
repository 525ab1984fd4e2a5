/* HKDF-SHA256, RFC 5869, on libsodium's incremental HMAC-SHA256. */
#include "vpn/hkdf.h"

#include <sodium.h>
#include <string.h>

void hkdf_extract(uint8_t prk[HKDF_HASH_LEN], const uint8_t *salt, size_t salt_len,
                  const uint8_t *ikm, size_t ikm_len)
{
    static const uint8_t zero_salt[HKDF_HASH_LEN];
    crypto_auth_hmacsha256_state st;
    if (!salt || salt_len == 0) {
        salt = zero_salt;
        salt_len = sizeof(zero_salt);
    }
    crypto_auth_hmacsha256_init(&st, salt, salt_len);
    crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
    sodium_memzero(&st, sizeof(st));
}

int hkdf_expand(uint8_t *okm, size_t okm_len, const uint8_t prk[HKDF_HASH_LEN],
                const uint8_t *info, size_t info_len)
{
    if (okm_len > 255 * HKDF_HASH_LEN)
        return -1;
    uint8_t t[HKDF_HASH_LEN];
    size_t t_len = 0;
    size_t done = 0;
    for (uint8_t counter = 1; done < okm_len; counter++) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, prk, HKDF_HASH_LEN);
        crypto_auth_hmacsha256_update(&st, t, t_len);
        crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &counter, 1);
        crypto_auth_hmacsha256_final(&st, t);
        sodium_memzero(&st, sizeof(st));
        t_len = HKDF_HASH_LEN;
        size_t n = okm_len - done < HKDF_HASH_LEN ? okm_len - done : HKDF_HASH_LEN;
        memcpy(okm + done, t, n);
        done += n;
    }
    sodium_memzero(t, sizeof(t));
    return 0;
}

void hkdf_expand_label(uint8_t out[32], const uint8_t prk[HKDF_HASH_LEN], const char *label)
{
    int rc = hkdf_expand(out, 32, prk, (const uint8_t *)label, strlen(label));
    (void)rc;   /* 32 bytes is always within the RFC's limit */
}
