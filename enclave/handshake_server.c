/* Server half of the handshake, PROTOCOL.md "CONNECT_REQ" and "CONNECT_RESP". */
#include "handshake_server.h"

#include <sodium.h>
#include <string.h>

#include "users.h"
#include "vpn/proto.h"

/* An unknown user is checked against this token so that it costs the same HMAC work as a known
 * one; its value does not matter because the result is discarded. */
static const uint8_t DUMMY_TOKEN[TOKEN_LEN] = { 0x5a };

/* The identity is username || zero bytes: a non-empty name, and nothing but zeros after the
 * first NUL. */
static bool identity_name(const uint8_t id[IDENTITY_LEN], char name[USERNAME_MAX + 1])
{
    size_t n = 0;
    while (n < IDENTITY_LEN && id[n])
        n++;
    if (n == 0 || n > USERNAME_MAX)
        return false;
    for (size_t i = n; i < IDENTITY_LEN; i++)
        if (id[i])
            return false;
    memcpy(name, id, n);
    name[n] = '\0';
    return true;
}

enum hs_verdict hs_server_open(const uint8_t s_priv[KEY_LEN], const uint8_t s_pub[KEY_LEN],
                               const uint8_t *req, size_t len, const struct user_table *users,
                               struct hs_request *out)
{
    struct vpn_hdr h;
    uint8_t identity[IDENTITY_LEN];
    uint8_t ad[HDR_LEN + KEY_LEN];
    static const uint8_t zero_nonce[NONCE_LEN];
    const uint8_t *payload = req + HDR_LEN;

    memset(out, 0, sizeof(*out));
    out->user_index = -1;
    if (proto_hdr_parse(req, len, &h) != HDR_OK || h.type != MSG_CONNECT_REQ)
        return HS_DROP;
    memcpy(out->e_c_pub, payload, KEY_LEN);
    out->ts = h.ts;
    if (!hs_chain_identity(out->ck1, out->k_id, s_priv, out->e_c_pub, s_pub))
        goto drop;
    memcpy(ad, req, HDR_LEN);
    memcpy(ad + HDR_LEN, out->e_c_pub, KEY_LEN);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(identity, NULL, NULL, payload + REQ_SEALED_OFF,
                                                  IDENTITY_LEN + TAG_LEN, ad, sizeof(ad),
                                                  zero_nonce, out->k_id) != 0)
        goto drop;
    memcpy(out->auth_mac, payload + REQ_MAC_OFF, 32);

    bool name_ok = identity_name(identity, out->username);
    int idx = name_ok ? users_find(users, out->username) : -1;
    const uint8_t *token = idx >= 0 ? users->users[idx].token : DUMMY_TOKEN;
    uint8_t mac[32];
    hs_auth_mac(mac, out->ck1, token, req);
    bool mac_ok = crypto_verify_32(mac, out->auth_mac) == 0;
    sodium_memzero(mac, sizeof(mac));
    sodium_memzero(identity, sizeof(identity));
    if (idx < 0 || !mac_ok)
        return HS_AUTH_FAILED;
    out->user_index = idx;
    return HS_AUTHENTICATED;
drop:
    sodium_memzero(identity, sizeof(identity));
    hs_request_wipe(out);
    return HS_DROP;
}

size_t hs_server_accept(const struct hs_request *r, const uint8_t token[TOKEN_LEN],
                        const uint8_t e_s_priv[KEY_LEN], const struct hs_config *config,
                        uint64_t ts, uint8_t *out, struct session_keys *keys)
{
    uint8_t e_s_pub[KEY_LEN];
    crypto_scalarmult_base(e_s_pub, e_s_priv);
    if (!hs_session_keys(keys, r->ck1, e_s_priv, r->e_c_pub, token))
        return 0;
    return hs_build_response(out, ts, e_s_pub, keys->k_resp, r->auth_mac, config);
}

size_t hs_server_reject(const struct hs_request *r, uint8_t status, uint64_t ts, uint8_t *out)
{
    struct hs_config c;
    memset(&c, 0, sizeof(c));
    c.status = status;
    return hs_build_response(out, ts, NULL, r->k_id, r->auth_mac, &c);
}

void hs_request_wipe(struct hs_request *r)
{
    sodium_memzero(r->ck1, sizeof(r->ck1));
    sodium_memzero(r->k_id, sizeof(r->k_id));
}
