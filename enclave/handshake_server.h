/* Server half of the handshake (PROTOCOL.md "Server, in this order", and docs/PROTOCOL.md
 * "Extension 1"). Enclave-private. Every function here reads a request the caller has already
 * copied into private memory: nothing is read twice from memory the main process can write. */
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
    bool ext;                   /* the request carries extension 1 (mac1, failure nonce) */
    uint8_t flags;              /* its flags (REQ_FLAG_WINDOW: tell it the replay window) */
    bool has_device;            /* extension 5: the sending device's id, never all zero; */
    uint8_t device_id[DEVICE_ID_LEN];   /* without it, all zero: the user's implicit device */
    uint64_t ts;                /* header timestamp */
    uint8_t e_c_pub[KEY_LEN];
    uint8_t ck1[32];
    uint8_t k_id[32];
    uint8_t auth_mac[32];
};

enum hs_verdict {
    HS_DROP,            /* cannot be opened, or its padding is not what the protocol says:
                           never answered (PROTOCOL.md step 2) */
    HS_IDENTIFIED,      /* opened: username read, user looked up, MAC not checked yet */
    HS_AUTH_FAILED,     /* unknown user or wrong auth_mac (step 3) */
    HS_AUTHENTICATED,
};

/* Steps 1-2 on a whole CONNECT_REQ datagram (len bytes, in private memory): header, padding
 * (all zero, or extension 1 with known flags, a valid mac1 and zero reserved bytes), mac1 before
 * any Diffie-Hellman, then es, k_id, the identity and (extension 5) the device id. Returns
 * HS_DROP or HS_IDENTIFIED. */
enum hs_verdict hs_server_identify(const uint8_t s_priv[KEY_LEN], const uint8_t s_pub[KEY_LEN],
                                   const uint8_t *req, size_t len, const struct user_table *users,
                                   struct hs_request *out);

/* Step 3 on an identified request: the auth_mac, in constant time. An unknown user costs the
 * same work as a known one (a dummy token is used). HS_AUTHENTICATED or HS_AUTH_FAILED. */
enum hs_verdict hs_server_authenticate(const uint8_t *req, const struct user_table *users,
                                       const struct hs_request *r);

/* Both of the above (tests, fuzzers, and callers without failure budgets). */
enum hs_verdict hs_server_open(const uint8_t s_priv[KEY_LEN], const uint8_t s_pub[KEY_LEN],
                               const uint8_t *req, size_t len, const struct user_table *users,
                               struct hs_request *out);

/* Step 6: derives the session keys with the given server ephemeral private key and builds the
 * success CONNECT_RESP into out (config's session_id and addresses filled by the caller).
 * Returns the datagram length, or 0 if the DH result is all zero. */
size_t hs_server_accept(const struct hs_request *r, const uint8_t token[TOKEN_LEN],
                        const uint8_t e_s_priv[KEY_LEN], const struct hs_config *config,
                        uint64_t ts, uint8_t *out, struct session_keys *keys);

/* A failure CONNECT_RESP with this status (and, for AUTH_FAILED, this refusal reason). For an extended request, the extension's form
 * with a fresh random nonce. A request without the extension gets none (returns 0): the
 * base protocol's failure form reuses one (k_id, nonce) for every failure of a request, so
 * two different failures would reveal the Poly1305 key and let an attacker forge more. */
size_t hs_server_reject(const struct hs_request *r, uint8_t status, uint8_t refusal, uint64_t ts,
                        uint8_t *out);

/* The base protocol's failure form (nonce 0...01), kept for the binding test vectors only. */
size_t hs_server_reject_v1(const struct hs_request *r, uint8_t status, uint64_t ts, uint8_t *out);

void hs_request_wipe(struct hs_request *r);

#endif
