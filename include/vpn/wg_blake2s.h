/* The BLAKE2s constructions of WireGuard (whitepaper 5.4: HASH, MAC, HMAC, KDF_n), on OpenSSL 3's
 * libcrypto (BLAKE2S-256, BLAKE2SMAC, HMAC): libsodium has BLAKE2b only, and a hash is not
 * something to write by hand. Used by the enclave (the handshake) and, for mac1 and cookies
 * whose keys are public or not secrets, by the main process.
 *
 * wg_blake2s_init fetches the algorithms once and must run before a seccomp sandbox is
 * applied: the first fetch may read OpenSSL's configuration file. After it, every function
 * here allocates only from the heap (a context per call, cleansed when freed) and is safe to
 * call from any thread. Each returns false only if libcrypto failed (out of memory); callers
 * drop the message then. */
#ifndef VPN_WG_BLAKE2S_H
#define VPN_WG_BLAKE2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/wg_proto.h"

/* Fetches the algorithms and checks them once. 0, or -1 when libcrypto lacks one. */
int wg_blake2s_init(void) __attribute__((warn_unused_result));

/* HASH(a || b), BLAKE2s-256; b may be NULL with b_len 0. */
bool wg_hash(uint8_t out[WG_HASH_LEN], const void *a, size_t a_len, const void *b, size_t b_len)
    __attribute__((warn_unused_result));

/* MAC(key, msg): keyed BLAKE2s with a 16-byte output (mac1, mac2, cookies); key_len 1..32. */
bool wg_mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t key_len, const void *msg,
            size_t msg_len) __attribute__((warn_unused_result));

/* A keyed-BLAKE2s context made once and rekeyed for every MAC: a thread that checks many
 * messages (the RX thread's guard, core/server/wg_guard.h) does it without an allocation. The
 * last key stays in the context until the next MAC or wg_mac_ctx_free, so a context is for
 * keys that are not long-term secrets (mac1 keys, cookies, the cookie secret). One thread
 * at a time. */
struct wg_mac_ctx;

/* A new context, or NULL (out of memory; wg_blake2s_init not run). */
struct wg_mac_ctx *wg_mac_ctx_new(void) __attribute__((warn_unused_result));

void wg_mac_ctx_free(struct wg_mac_ctx *c);

/* MAC(key, msg) as wg_mac computes it, in c. */
bool wg_mac_with(struct wg_mac_ctx *c, uint8_t out[WG_MAC_LEN], const uint8_t *key,
                 size_t key_len, const void *msg, size_t msg_len)
    __attribute__((warn_unused_result));

/* HMAC(key, msg) over BLAKE2s-256 (RFC 2104, block size 64). */
bool wg_hmac(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN], const void *msg,
             size_t msg_len) __attribute__((warn_unused_result));

/* KDF_n(key, input) with n the number of non-NULL outputs (t2, t3 may be NULL): T0 =
 * HMAC(key, input), T1 = HMAC(T0, 0x1), Ti = HMAC(T0, T(i-1) || i). */
bool wg_kdf(uint8_t t1[WG_HASH_LEN], uint8_t *t2, uint8_t *t3, const uint8_t key[WG_HASH_LEN],
            const void *input, size_t input_len) __attribute__((warn_unused_result));

#endif
