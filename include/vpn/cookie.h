/* Extension 3 (docs/PROTOCOL.md): cookies, WireGuard-style (its whitepaper, section 5.4.7),
 * for a server under a flood of handshakes. A request proves it can receive at its source
 * address by carrying mac2, keyed by a cookie the server sent to that address; checking that
 * costs the server one keyed hash, and no Diffie-Hellman is done for a request without it.
 *
 *   cookie       = BLAKE2b-128(key = the server's secret (random, changes every 2 minutes),
 *                              source address (16, IPv4-mapped) || source port (2, big-endian))
 *   cookie_key   = BLAKE2b-256("vpnse/1 cookie" || S_pub)
 *   COOKIE_REPLY = header (type 0x08, length 56) | nonce (24, random) |
 *                  XChaCha20-Poly1305(cookie_key, nonce, ad = the request's mac1, cookie)
 *   mac2         = BLAKE2b-128(key = cookie, header || payload[0 .. REQ_MAC2_OFF))
 *
 * mac2 is filled in last and is not covered by auth_mac (the enclave computes auth_mac with
 * mac2 taken as zero): the enclave never needs to know about cookies, and a changed mac2
 * can at worst make the server ask for a cookie, never answer AUTH_FAILED. */
#ifndef VPN_COOKIE_H
#define VPN_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

void cookie_key(uint8_t key[32], const uint8_t s_pub[KEY_LEN]);

/* The cookie of a source under a secret. addr16 is the IPv6 (or IPv4-mapped) address. */
void cookie_make(uint8_t cookie[COOKIE_LEN], const uint8_t secret[32], const uint8_t addr16[16],
                 uint16_t port);

/* mac2 over a CONNECT_REQ (its first HDR_LEN + REQ_MAC2_OFF bytes). */
void cookie_mac2(uint8_t mac2[REQ_MACX_LEN], const uint8_t cookie[COOKIE_LEN], const uint8_t *req);

/* Builds a COOKIE_REPLY to a request whose mac1 is given. Returns COOKIE_REPLY_LEN. */
size_t cookie_reply_build(uint8_t *out, uint64_t ts, const uint8_t key[32],
                          const uint8_t mac1[REQ_MACX_LEN], const uint8_t cookie[COOKIE_LEN],
                          const uint8_t nonce[COOKIE_NONCE_LEN]);

/* Opens a COOKIE_REPLY (the whole datagram) answering the request whose mac1 is given.
 * Returns true with the cookie. */
bool cookie_reply_open(const uint8_t *reply, size_t len, const uint8_t key[32],
                       const uint8_t mac1[REQ_MACX_LEN], uint8_t cookie[COOKIE_LEN]);

#endif
