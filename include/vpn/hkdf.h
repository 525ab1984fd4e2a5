/* HKDF-SHA256 (RFC 5869) built on libsodium's HMAC-SHA256: libsodium 1.0.18, the Debian
 * version, has no HKDF API of its own. */
#ifndef VPN_HKDF_H
#define VPN_HKDF_H

#include <stddef.h>
#include <stdint.h>

enum { HKDF_HASH_LEN = 32 };

/* prk = HMAC(salt, ikm). A NULL/empty salt means HashLen zero bytes (RFC 5869 2.2). */
void hkdf_extract(uint8_t prk[HKDF_HASH_LEN], const uint8_t *salt, size_t salt_len,
                  const uint8_t *ikm, size_t ikm_len);

/* okm = T(1) || T(2) || ... truncated to okm_len (<= 255 * 32). Returns 0, or -1 when okm_len is
 * too long. */
int hkdf_expand(uint8_t *okm, size_t okm_len, const uint8_t prk[HKDF_HASH_LEN],
                const uint8_t *info, size_t info_len) __attribute__((warn_unused_result));

/* hkdf_expand for our 32-byte keys with an ASCII label; cannot fail. */
void hkdf_expand_label(uint8_t out[32], const uint8_t prk[HKDF_HASH_LEN], const char *label);

#endif
