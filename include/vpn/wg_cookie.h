/* WireGuard's MACs and cookies (whitepaper 5.4.4 "Cookie MACs" and 5.4.7 "Under Load: Cookie
 * Reply Message"): what a responder needs to check mac1 and mac2 and to answer with a cookie
 * reply. Nothing here is a secret of the server: the keys come from its public key, and the
 * cookie secret R_m protects nothing but the cookie check, so the main process holds it (as
 * for our own protocol's extension 3, include/vpn/cookie.h).
 *
 *   mac1 key   = HASH("mac1----" || S_pub)
 *   cookie key = HASH("cookie--" || S_pub)
 *   mac1       = MAC(mac1 key, msg[0 .. len - 32))      the two MACs end every handshake message
 *   mac2       = MAC(cookie, msg[0 .. len - 16))        (all zero when the sender has no cookie)
 *   cookie     = MAC(R_m, source address || source port)
 *                  (address: 4 bytes for IPv4, our v4-mapped form reduced to the address the
 *                   datagram came from; 16 for IPv6; port big-endian, as in the UDP header)
 *   reply      = 3, 0, 0, 0 | receiver (le32: the initiation's sender) | nonce (24, random) |
 *                XChaCha20-Poly1305(cookie key, nonce, cookie, ad = the initiation's mac1)
 *
 * The cookie's input encoding is the responder's own business (only it ever computes a
 * cookie); the kernel's WireGuard uses the same one. Each function returns false only when
 * libcrypto failed. ctx arguments: a reusable context (wg_blake2s.h), or NULL for a one-off
 * one (which allocates). */
#ifndef VPN_WG_COOKIE_H
#define VPN_WG_COOKIE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/wg_blake2s.h"
#include "vpn/wg_proto.h"

/* HASH("mac1----" || pub) and HASH("cookie--" || pub). */
bool wg_mac1_key(uint8_t key[WG_HASH_LEN], const uint8_t pub[WG_KEY_LEN])
    __attribute__((warn_unused_result));
bool wg_cookie_key(uint8_t key[WG_HASH_LEN], const uint8_t pub[WG_KEY_LEN])
    __attribute__((warn_unused_result));

/* Whether the handshake message msg (len bytes, its two MACs last) carries mac1 under key, in
 * constant time. */
bool wg_mac1_ok(struct wg_mac_ctx *ctx, const uint8_t key[WG_HASH_LEN], const uint8_t *msg,
                size_t len);

/* Whether msg's mac2 is the MAC under cookie, in constant time. An all-zero mac2 (no cookie)
 * is never right, whatever the cookie. */
bool wg_mac2_ok(struct wg_mac_ctx *ctx, const uint8_t cookie[WG_MAC_LEN], const uint8_t *msg,
                size_t len);

/* The cookie of source `from` (IPv4 v4-mapped, or IPv6) under the secret R_m. */
bool wg_cookie_make(struct wg_mac_ctx *ctx, uint8_t cookie[WG_MAC_LEN],
                    const uint8_t secret[WG_HASH_LEN], const struct sockaddr_in6 *from)
    __attribute__((warn_unused_result));

/* The cookie reply (WG_COOKIE_REPLY_LEN bytes) to the initiation init, sealing cookie under
 * the cookie key with nonce. */
void wg_cookie_reply_build(uint8_t out[WG_COOKIE_REPLY_LEN], const uint8_t init[WG_INIT_LEN],
                           const uint8_t cookie_key[WG_HASH_LEN],
                           const uint8_t cookie[WG_MAC_LEN],
                           const uint8_t nonce[WG_COOKIE_NONCE_LEN]);

#endif
