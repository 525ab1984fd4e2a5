/* The responder's half of WireGuard's handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
 * (whitepaper 5.4.2-5.4.5), and the transport keys it derives. Enclave-private: every argument
 * is in private memory (the caller copied the datagram in once), and every secret here is
 * wiped by the function that made it or by wg_initiation_wipe.
 *
 * Peers are not looked up here: wg_noise_consume_initiation returns the initiator's static
 * public key, and the caller decides whether that is a peer it knows, whether the timestamp
 * is newer than the peer's last one (wg_tai64n_after), and which preshared key applies. */
#ifndef ENCLAVE_WG_NOISE_H
#define ENCLAVE_WG_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/wg_proto.h"

/* The server's static identity and the keys derived from its public half (not secrets, but
 * computed once). */
struct wg_identity {
    uint8_t priv[WG_KEY_LEN];
    uint8_t pub[WG_KEY_LEN];
    uint8_t mac1_key[WG_HASH_LEN];      /* HASH("mac1----" || pub): checks initiations */
    uint8_t cookie_key[WG_HASH_LEN];    /* HASH("cookie--" || pub): seals cookie replies */
    uint8_t chain0[WG_HASH_LEN];        /* HASH(construction): every handshake's first chain */
    uint8_t hash0[WG_HASH_LEN];         /* HASH(HASH(chain0 || identifier) || pub) */
};

/* What a consumed initiation tells; hash and chain are the handshake's running state. */
struct wg_initiation {
    uint32_t sender;                    /* the initiator's index: our replies' receiver */
    uint8_t e_pub[WG_KEY_LEN];
    uint8_t peer_static[WG_KEY_LEN];
    uint8_t timestamp[WG_TAI64N_LEN];
    uint8_t hash[WG_HASH_LEN];
    uint8_t chain[WG_HASH_LEN];
};

/* Transport keys of one session, seen from the responder. */
struct wg_keypair {
    uint8_t send[WG_KEY_LEN];           /* responder -> initiator */
    uint8_t recv[WG_KEY_LEN];           /* initiator -> responder */
};

enum wg_init_verdict {
    WG_INIT_OK,
    WG_INIT_BAD_MAC1,       /* not made for our public key: dropped before any DH */
    WG_INIT_BAD_DH,         /* a low-order ephemeral or static (all-zero shared secret) */
    WG_INIT_BAD_AEAD,       /* static or timestamp did not open */
    WG_INIT_CRYPTO,         /* libcrypto failed (out of memory) */
};

/* Fills id from a private key (clamped as X25519 does). false if libcrypto failed. */
bool wg_identity_init(struct wg_identity *id, const uint8_t priv[WG_KEY_LEN])
    __attribute__((warn_unused_result));

/* Whether msg's mac1 is MAC(mac1_key, msg before mac1), in constant time. msg is a whole
 * initiation (WG_INIT_LEN bytes). */
bool wg_noise_mac1_ok(const struct wg_identity *id, const uint8_t msg[WG_INIT_LEN]);

/* Checks mac1, then opens the initiation (whitepaper 5.4.2, responder side): ephemeral,
 * static, timestamp. mac2 is not looked at (the main process checks cookies). On WG_INIT_OK
 * *out holds the handshake state; on any other verdict it is wiped. */
enum wg_init_verdict wg_noise_consume_initiation(const struct wg_identity *id,
                                                 const uint8_t msg[WG_INIT_LEN],
                                                 struct wg_initiation *out)
    __attribute__((warn_unused_result));

/* Builds the response (5.4.3) to a consumed initiation with our ephemeral private key e_priv,
 * our index sender and the peer's preshared key (32 zero bytes when it has none), and derives
 * the transport keys (5.4.5). mac2 is zero (we hold no cookie from the initiator). Wipes *in.
 * false (and nothing usable in out and keys) if a DH result was all zero or libcrypto failed. */
bool wg_noise_create_response(struct wg_initiation *in, const uint8_t psk[WG_KEY_LEN],
                              const uint8_t e_priv[WG_KEY_LEN], uint32_t sender,
                              uint8_t out[WG_RESP_LEN], struct wg_keypair *keys)
    __attribute__((warn_unused_result));

/* Whether TAI64N timestamp a is strictly later than b (12 big-endian bytes: byte order is
 * time order). A peer's initiation is accepted only with a timestamp after its last one. */
bool wg_tai64n_after(const uint8_t a[WG_TAI64N_LEN], const uint8_t b[WG_TAI64N_LEN]);

void wg_initiation_wipe(struct wg_initiation *in);

#endif
