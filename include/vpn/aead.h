/* ChaCha20-Poly1305 IETF (RFC 8439) with a detached tag: the AEAD of every transport message
 * (transport.c; PROTOCOL.md, "Transport messages"). Two implementations give the same bytes:
 *
 *   libsodium's   portable C on ARM (no NEON ChaCha20), AVX2/SSSE3 assembly on amd64;
 *   OpenSSL's     libcrypto's EVP ChaCha20-Poly1305, NEON assembly on ARM.
 *
 * Which one a build uses is chosen at build time (Makefile: AEAD=sodium or AEAD=openssl;
 * openssl is the default for ARM targets, where it costs about half as many instructions per
 * byte: docs/PERFORMANCE.md). Even then, messages shorter than AEAD_OPENSSL_MIN go to
 * libsodium, whose per-message set-up is about 2,900 instructions cheaper than EVP's; and
 * should OpenSSL fail to give a thread its context, that thread uses libsodium too. The
 * handshake's few AEAD calls are short messages and call libsodium directly.
 *
 * Threads: any. OpenSSL's context is per thread (made by aead_init, or on first use). */
#ifndef VPN_AEAD_H
#define VPN_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

/* Below this many bytes of plaintext libsodium is the cheaper of the two: by instruction count
 * up to about 280 bytes on arm64 and 190 on armhf, a little less by cycles, as OpenSSL's NEON
 * ChaCha20 starts at 192 (docs/PERFORMANCE.md, "The Pi's cipher"). */
enum { AEAD_OPENSSL_MIN = 256 };

/* Seals len bytes of pt into ct (ct may equal pt) and writes the tag. */
void aead_seal(uint8_t *ct, uint8_t tag[TAG_LEN], const uint8_t *pt, size_t len,
               const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
               const uint8_t key[KEY_LEN]);

/* Opens len bytes of ct into pt (pt may equal ct) if the tag verifies; false otherwise (pt's
 * contents are then unspecified). */
bool aead_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[TAG_LEN],
               const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
               const uint8_t key[KEY_LEN]) __attribute__((warn_unused_result));

/* Prepares the calling thread: with OpenSSL, loads its configuration and cipher once and
 * makes this thread's context. Call before a seccomp filter or privilege drop (the first use
 * would otherwise read /usr/lib/ssl/openssl.cnf), in each thread that will seal or open; a
 * forked child keeps its parent's. Returns 0, or -1 when OpenSSL could not (that thread then
 * uses libsodium). Does nothing in a libsodium build. */
int aead_init(void);

/* Overwrites the key and state OpenSSL's context of this thread keeps after a message (its
 * memory outlives the call, unlike libsodium's stack): the enclave calls it before it sleeps,
 * so that no session key lingers there idle. Does nothing in a libsodium build. */
void aead_wipe(void);

/* "libsodium" or "openssl": the implementation this build uses for long messages. */
const char *aead_name(void);

/* The two implementations, for the tests and bench/bench_aead.c, which compare them. The
 * OpenSSL ones return -1 (seal: false) when this thread has no context; open returns 1 when
 * the tag verifies and 0 when it does not. */
void aead_sodium_seal(uint8_t *ct, uint8_t tag[TAG_LEN], const uint8_t *pt, size_t len,
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                      const uint8_t key[KEY_LEN]);
bool aead_sodium_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[TAG_LEN],
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                      const uint8_t key[KEY_LEN]) __attribute__((warn_unused_result));
bool aead_openssl_seal(uint8_t *ct, uint8_t tag[TAG_LEN], const uint8_t *pt, size_t len,
                       const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                       const uint8_t key[KEY_LEN]) __attribute__((warn_unused_result));
int aead_openssl_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[TAG_LEN],
                      const uint8_t *ad, size_t ad_len, const uint8_t nonce[NONCE_LEN],
                      const uint8_t key[KEY_LEN]) __attribute__((warn_unused_result));
int aead_openssl_init(void);
void aead_openssl_wipe(void);

#endif
