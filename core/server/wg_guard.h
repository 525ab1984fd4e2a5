/* The front door of the WireGuard port for handshake initiations, before anything reaches the
 * enclave: WireGuard's own defence (whitepaper 5.3, 5.4.4, 5.4.7), built as our protocol's
 * guard is (handshake_guard.h):
 *
 *   1. mac1 (key HASH("mac1----" || S_pub)): proves the sender knows the server's public key.
 *      One keyed hash; an initiation that fails it is dropped before anything else (it is not
 *      even counted as load).
 *   2. load (handshake_load.h): more than GUARD_LOAD_RATE initiations a second, or the caller's
 *      `busy` (a worker's handshake ring an eighth full), for GUARD_LOAD_HOLD_MS.
 *   3. under load, mac2 must be the MAC under the cookie of the datagram's source address and
 *      port (wg_cookie.h): otherwise the answer is a cookie reply (64 bytes, to a 148-byte
 *      initiation: no amplification), at most WG_REPLY_RATE a second per source (no
 *      reflection), and never a Diffie-Hellman. Without load mac2 is not looked at, as the
 *      whitepaper says.
 *   4. per-source and global budgets (source_limit.h) on the initiations that go on.
 *
 * The cookie secret R_m (cookie_secrets.h) is random and changes every COOKIE_SECRET_ROTATE_MS
 * (the whitepaper's two minutes). Choice: the previous secret's cookies are accepted too, as
 * for our own protocol; the whitepaper says only that R_m changes every two minutes, and
 * wireguard-go and the kernel accept the current secret alone, so that an initiator whose
 * cookie was made just before a change is asked again and waits a retransmission (5 s). Here a
 * cookie is good for one to two periods, which covers the 120 s an initiator keeps it.
 *
 * Nothing here is secret: the keys come from the public key and R_m guards only this check.
 * RX thread only (one thread owns a guard; no locks, and no allocation after init). */
#ifndef SERVER_WG_GUARD_H
#define SERVER_WG_GUARD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie_secrets.h"
#include "handshake_load.h"
#include "source_limit.h"
#include "vpn/wg_blake2s.h"
#include "vpn/wg_proto.h"

enum wg_guard_tuning {
    WG_HANDSHAKE_RATE = 200,            /* per source, as for our port: an office behind a NAT */
    WG_HANDSHAKE_BURST = 400,           /* ...coming back after a restart */
    /* All sources: half our port's budget, because the enclave does two X25519 (es, ss) for
     * an initiation before it can tell whether the peer exists, where ours costs one. */
    WG_HANDSHAKE_GLOBAL_RATE = 10000,
    WG_HANDSHAKE_GLOBAL_BURST = 10000,
    WG_REPLY_RATE = 10,                 /* cookie replies per source: never a reflector */
    WG_REPLY_BURST = 20,
    /* No global cap on replies: a spoofed flood must not starve real initiators of their
     * cookies (a reply costs two BLAKE2s and one XChaCha20-Poly1305 of 16 bytes). */
    WG_REPLY_GLOBAL_RATE = 1000000,
    WG_REPLY_GLOBAL_BURST = 1000000,
};

struct wg_guard {
    uint8_t mac1_key[WG_HASH_LEN];
    uint8_t cookie_key[WG_HASH_LEN];
    struct wg_mac_ctx *mac;             /* reused for every MAC: no allocation per datagram */
    struct cookie_secrets secrets;      /* R_m: current, previous */
    struct handshake_load load;
    struct source_limit handshakes;     /* initiations that may reach the enclave */
    struct source_limit replies;        /* cookie replies: per source only (no reflection) */
    /* Where cookie replies' nonces come from: randombytes_buf. A seam for the unit test
     * alone, which fixes it (and R_m) to compare a reply with independent vectors. */
    void (*random_bytes)(void *buf, size_t len);
};

enum wg_guard_verdict {
    WG_GUARD_PASS,              /* hand it to the enclave (OP_WG_HELLO) */
    WG_GUARD_BAD_MAC1,          /* drop: not made for our public key (or libcrypto failed) */
    WG_GUARD_COOKIE,            /* answer with the cookie reply written to reply */
    WG_GUARD_COOKIE_LIMITED,    /* would answer with a cookie, over that source's budget: drop */
    WG_GUARD_RATE,              /* drop: over the per-source or global handshake budget */
};

/* Derives the keys from the server's WireGuard public key (SUP_WG_IDENTITY), draws R_m and the
 * limiters' keys, and makes the MAC context. Fetches OpenSSL's BLAKE2s (wg_blake2s_init) if
 * that was not done yet: call it before any seccomp filter of the calling process. 0, or
 * -ENOMEM / -ENOSYS (libcrypto lacks BLAKE2s); wg_guard_uninit either way. */
int wg_guard_init(struct wg_guard *g, const uint8_t wg_pub[WG_KEY_LEN], uint64_t now_ms)
    __attribute__((warn_unused_result));

void wg_guard_uninit(struct wg_guard *g);

/* Decides for one handshake initiation (a datagram that wg_classify found to be
 * WG_MSG_INITIATION: WG_INIT_LEN bytes) from `from`, at now_ms (monotonic). busy: the
 * handshake ring of the worker it would go to is an eighth full or more. For WG_GUARD_COOKIE,
 * *reply_len (WG_COOKIE_REPLY_LEN) bytes of reply are to be sent to `from` from the WireGuard
 * socket. */
enum wg_guard_verdict wg_guard_check(struct wg_guard *g, const uint8_t initiation[WG_INIT_LEN],
                                     const struct sockaddr_in6 *from, bool busy, uint64_t now_ms,
                                     uint8_t reply[WG_COOKIE_REPLY_LEN], size_t *reply_len);

/* Whether the WireGuard port counts as under load now. */
bool wg_guard_loaded(const struct wg_guard *g, uint64_t now_ms);

#endif
