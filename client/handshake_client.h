/* Client half of the handshake (PROTOCOL.md): builds CONNECT_REQ, opens CONNECT_RESP. */
#ifndef CLIENT_HANDSHAKE_CLIENT_H
#define CLIENT_HANDSHAKE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/handshake.h"
#include "vpn/limits.h"

/* State of one pending request; erased with hs_client_wipe. */
struct hs_client {
    uint8_t e_priv[KEY_LEN];
    uint8_t e_pub[KEY_LEN];
    uint8_t ck1[32];
    uint8_t k_id[32];
    uint8_t auth_mac[32];
    uint64_t request_ts;
    bool ext;               /* the request carried extension 1: failures come in its form */
    uint8_t flags;          /* its extension 1 flags (REQ_FLAG_WINDOW: the response may say
                               the server's replay window) */
};

enum hs_client_verdict {
    HSC_INVALID,        /* not a response to our request: ignore it */
    HSC_REJECTED,       /* authentic failure response: config->status says why */
    HSC_ACCEPTED,       /* keys and config filled */
};

/* Builds the CONNECT_REQ (CONNECT_REQ_LEN bytes) into out with the given ephemeral private key
 * (random in real use, fixed in the test vectors), with extension 1 (docs/PROTOCOL.md): mac1,
 * the extension header bound to the sealed identity, and failures answered with a fresh
 * nonce. Returns false when S_pub is unusable. */
bool hs_client_request(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                       const uint8_t s_pub[KEY_LEN], const char *username,
                       const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t *out);

/* The same with extension 1 flags (REQ_FLAGS_KNOWN bits; REQ_FLAG_WINDOW asks for the
 * server's replay window). A server older than the flag drops such a request unanswered:
 * docs/PROTOCOL.md says when to send it. hs_client_request sends none. */
bool hs_client_request_flags(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                             const uint8_t s_pub[KEY_LEN], const char *username,
                             const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t flags,
                             uint8_t *out);

/* The same with a device id (docs/PROTOCOL.md, extension 5): flags must hold REQ_FLAG_DEVICE
 * exactly when device_id (DEVICE_ID_LEN bytes, not all zero) is given; it travels sealed
 * under k_id. A server older than the flag drops the request, as for any unknown flag. */
bool hs_client_request_device(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                              const uint8_t s_pub[KEY_LEN], const char *username,
                              const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t flags,
                              const uint8_t *device_id, uint8_t *out);

/* The same without the extension: the base v1 request of the binding test vectors. */
bool hs_client_request_v1(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                          const uint8_t s_pub[KEY_LEN], const char *username,
                          const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t *out);

/* Opens a CONNECT_RESP for the pending request st. On HSC_ACCEPTED the config must have
 * status 0 and a non-zero session id, and a replay window only if st asked for it. A failure must be in the form that matches the request
 * (extension 1's with its own nonce, or the base form): no downgrade. */
enum hs_client_verdict hs_client_response(const struct hs_client *st, const uint8_t *resp,
                                          size_t len, const uint8_t token[TOKEN_LEN],
                                          struct hs_config *config, struct session_keys *keys);

void hs_client_wipe(struct hs_client *st);

#endif
