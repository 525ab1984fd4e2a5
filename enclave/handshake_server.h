/* Server half of the handshake (PROTOCOL.md "Server, in this order"). Enclave-private. */
#ifndef ENCLAVE_HANDSHAKE_SERVER_H
#define ENCLAVE_HANDSHAKE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/handshake.h"
#include "vpn/limits.h"

struct user_table;

/* What an opened request tells; secrets in it are erased with hs_request_wipe. */
struct hs_request {
    char username[USERNAME_MAX + 1];
    int user_index;             /* index in the user table, -1 for an unknown user */
    uint64_t ts;                /* header timestamp */
    uint8_t e_c_pub[KEY_LEN];
    uint8_t ck1[32];
    uint8_t k_id[32];
    uint8_t auth_mac[32];
};

enum hs_verdict {
    HS_DROP,            /* cannot be opened: never answered (PROTOCOL.md step 2) */
    HS_AUTH_FAILED,     /* opened, but unknown user or wrong auth_mac (step 3) */
    HS_AUTHENTICATED,
};

/* Steps 1-3 on a whole CONNECT_REQ datagram. An unknown user costs the same work as a known
 * one (a dummy token is used for its MAC). */
enum hs_verdict hs_server_open(const uint8_t s_priv[KEY_LEN], const uint8_t s_pub[KEY_LEN],
                               const uint8_t *req, size_t len, const struct user_table *users,
                               struct hs_request *out);

/* Step 6: derives the session keys with the given server ephemeral private key and builds the
 * success CONNECT_RESP into out (config's session_id and addresses filled by the caller).
 * Returns the datagram length, or 0 if the DH result is all zero. */
size_t hs_server_accept(const struct hs_request *r, const uint8_t token[TOKEN_LEN],
                        const uint8_t e_s_priv[KEY_LEN], const struct hs_config *config,
                        uint64_t ts, uint8_t *out, struct session_keys *keys);

/* A failure CONNECT_RESP (status in config->status), sealed with k_id. */
size_t hs_server_reject(const struct hs_request *r, uint8_t status, uint64_t ts, uint8_t *out);

void hs_request_wipe(struct hs_request *r);

#endif
