/* The WireGuard wire format (the whitepaper, section 5.4, "Messages"), shared by the main
 * process (which classifies datagrams on the WireGuard port and never holds a key) and the
 * enclave (which opens and seals them). Integers on this wire are little-endian, unlike our
 * own protocol's. */
#ifndef VPN_WG_PROTO_H
#define VPN_WG_PROTO_H

#include <stdint.h>

/* The first byte of every message; the next three are reserved and zero. */
enum wg_msg_type {
    WG_MSG_INITIATION = 1,
    WG_MSG_RESPONSE = 2,
    WG_MSG_COOKIE_REPLY = 3,
    WG_MSG_TRANSPORT = 4,
};

enum wg_sizes {
    WG_KEY_LEN = 32,
    WG_TAG_LEN = 16,
    WG_MAC_LEN = 16,            /* mac1, mac2 and the cookie: keyed BLAKE2s-128 */
    WG_HASH_LEN = 32,           /* BLAKE2s-256: hashes and chaining keys */
    WG_TAI64N_LEN = 12,
    WG_COOKIE_NONCE_LEN = 24,   /* XChaCha20-Poly1305 */

    /* Handshake initiation: type, reserved[3], sender, ephemeral, static (sealed),
     * timestamp (sealed), mac1, mac2. */
    WG_INIT_SENDER = 4,
    WG_INIT_EPHEMERAL = 8,
    WG_INIT_STATIC = 40,
    WG_INIT_TIMESTAMP = 88,
    WG_INIT_MAC1 = 116,
    WG_INIT_MAC2 = 132,
    WG_INIT_LEN = 148,

    /* Handshake response: type, reserved[3], sender, receiver, ephemeral, empty (sealed),
     * mac1, mac2. */
    WG_RESP_SENDER = 4,
    WG_RESP_RECEIVER = 8,
    WG_RESP_EPHEMERAL = 12,
    WG_RESP_EMPTY = 44,
    WG_RESP_MAC1 = 60,
    WG_RESP_MAC2 = 76,
    WG_RESP_LEN = 92,

    /* Cookie reply: type, reserved[3], receiver, nonce, cookie (sealed). */
    WG_COOKIE_RECEIVER = 4,
    WG_COOKIE_NONCE = 8,
    WG_COOKIE_SEALED = 32,
    WG_COOKIE_REPLY_LEN = 64,

    /* Transport data: type, reserved[3], receiver, counter (64-bit), sealed packet padded to
     * a multiple of 16 bytes (but never beyond the sender's MTU). A keepalive is an empty packet: header and tag alone. */
    WG_DATA_RECEIVER = 4,
    WG_DATA_COUNTER = 8,
    WG_DATA_HEADER_LEN = 16,
    WG_DATA_MIN_LEN = WG_DATA_HEADER_LEN + WG_TAG_LEN,
    WG_PADDING = 16,
};

/* The protocol's timers and limits (whitepaper 6.1, wireguard-go's constants). */
enum wg_limits {
    WG_REKEY_AFTER_TIME_S = 120,
    WG_REJECT_AFTER_TIME_S = 180,
    WG_REKEY_TIMEOUT_S = 5,
    WG_KEEPALIVE_TIMEOUT_S = 10,
    /* An initiation from a peer less than this after its previous accepted one is dropped
     * (a replayed message cannot then even cost us a response). */
    WG_MIN_INITIATION_INTERVAL_MS = 20,
};
/* Never send or accept a counter at or beyond this (2^64 - 2^13 - 1). */
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))

static inline uint32_t wg_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t wg_get_le64(const uint8_t *p)
{
    return (uint64_t)wg_get_le32(p) | (uint64_t)wg_get_le32(p + 4) << 32;
}
static inline void wg_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void wg_put_le64(uint8_t *p, uint64_t v)
{
    wg_put_le32(p, (uint32_t)v);
    wg_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* The message type of a datagram whose size fits it, or 0: the classifier of the WireGuard
 * port (the reserved bytes must be zero, as the whitepaper's receivers require). */
static inline enum wg_msg_type wg_classify(const uint8_t *d, unsigned len)
{
    if (len < 4 || d[1] | d[2] | d[3])
        return 0;
    switch (d[0]) {
    case WG_MSG_INITIATION:
        return len == WG_INIT_LEN ? WG_MSG_INITIATION : 0;
    case WG_MSG_RESPONSE:
        return len == WG_RESP_LEN ? WG_MSG_RESPONSE : 0;
    case WG_MSG_COOKIE_REPLY:
        return len == WG_COOKIE_REPLY_LEN ? WG_MSG_COOKIE_REPLY : 0;
    case WG_MSG_TRANSPORT:
        /* Not "a multiple of 16": senders pad only up to their MTU (1420 is not one). */
        return len >= WG_DATA_MIN_LEN ? WG_MSG_TRANSPORT : 0;
    default:
        return 0;
    }
}

#endif
