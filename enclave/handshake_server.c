/* Server half of the handshake, PROTOCOL.md "CONNECT_REQ" and "CONNECT_RESP", with
 * docs/PROTOCOL.md "Extension 1". */
#include "handshake_server.h"

#include <sodium.h>
#include <string.h>

#include "users.h"
#include "vpn/proto.h"
#include "vpn/username.h"

/* An unknown user is checked against this token so that it costs the same HMAC work as a known
 * one; its value does not matter because the result is discarded. */
static const uint8_t DUMMY_TOKEN[TOKEN_LEN] = { 0x5a };

/* The identity is username || zero bytes: nothing but zeros after the first NUL, and a name
 * the users file could hold (username.h). A name outside the rule is no user's, so it gets
 * the unknown user's answer, after the same work. */
static bool identity_name(const uint8_t id[IDENTITY_LEN], char name[USERNAME_MAX + 1])
{
    size_t n = 0;
    while (n < IDENTITY_LEN && id[n])
        n++;
    if (username_check((const char *)id, n) != NULL)
        return false;
    for (size_t i = n; i < IDENTITY_LEN; i++)
        if (id[i])
            return false;
    memcpy(name, id, n);
    name[n] = '\0';
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* The padding is either all zero (a base v1 request) or extension 1: version 1, known flags
 * only, zero reserved bytes, a mac1 that proves knowledge of S_pub and a zero tail. mac2 is
 * the main process's business (cookies, extension 3): auth_mac does not cover it, so whatever
 * it holds cannot change the answer. Anything else is dropped, never answered: an on-path
 * attacker who flips a padding byte must not obtain a genuine AUTH_FAILED for the client's
 * request (the flags are covered by mac1 and bound to the sealed identity besides). */
static bool padding_ok(const uint8_t *req, const uint8_t s_pub[KEY_LEN], bool *ext,
                       uint8_t *flags)
{
    const uint8_t *pad = req + HDR_LEN + REQ_PAD_OFF;
    *ext = pad[0] == REQ_EXT_VERSION;
    *flags = 0;
    if (!*ext)
        return all_zero(pad, REQ_MAC_OFF - REQ_PAD_OFF);
    const uint8_t *p = req + HDR_LEN;
    *flags = p[REQ_EXT_FLAGS_OFF];
    /* With extension 5's DEVICE flag the tail starts with the sealed device id, which
     * hs_server_identify opens; the rest of the tail stays zero. */
    size_t tail = (*flags & REQ_FLAG_DEVICE) ? REQ_DEVICE_END : REQ_EXT_TAIL_OFF;
    if ((*flags & ~REQ_FLAGS_KNOWN) ||
        !all_zero(p + REQ_EXT_FLAGS_OFF + 1, REQ_EXT_OFF + REQ_EXT_LEN - REQ_EXT_FLAGS_OFF - 1) ||
        !all_zero(p + tail, REQ_MAC_OFF - tail))
        return false;
    uint8_t key[32], mac1[REQ_MACX_LEN];
    hs_mac1_key(key, s_pub);
    hs_mac1(mac1, key, req);
    return sodium_memcmp(mac1, p + REQ_MAC1_OFF, REQ_MACX_LEN) == 0;
}

enum hs_verdict hs_server_identify(const uint8_t s_priv[KEY_LEN], const uint8_t s_pub[KEY_LEN],
                                   const uint8_t *req, size_t len, const struct user_table *users,
                                   struct hs_request *out)
{
    struct vpn_hdr h;
    uint8_t identity[IDENTITY_LEN];
    uint8_t ad[HDR_LEN + KEY_LEN + REQ_EXT_LEN];
    static const uint8_t zero_nonce[NONCE_LEN];
    const uint8_t *payload = req + HDR_LEN;

    memset(out, 0, sizeof(*out));
    out->user_index = -1;
    if (proto_hdr_parse(req, len, &h) != HDR_OK || h.type != MSG_CONNECT_REQ)
        return HS_DROP;
    if (!padding_ok(req, s_pub, &out->ext, &out->flags))
        return HS_DROP;
    memcpy(out->e_c_pub, payload, KEY_LEN);
    out->ts = h.ts;
    if (!hs_chain_identity(out->ck1, out->k_id, s_priv, out->e_c_pub, s_pub))
        goto drop;
    size_t ad_len = hs_identity_ad(ad, req, out->ext);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(identity, NULL, NULL, payload + REQ_SEALED_OFF,
                                                  IDENTITY_LEN + TAG_LEN, ad, ad_len,
                                                  zero_nonce, out->k_id) != 0)
        goto drop;
    /* Extension 5: a device id that does not open, or is all zero (which means "none"), is
     * a broken padding: dropped like one, never answered. */
    if (out->flags & REQ_FLAG_DEVICE) {
        if (!hs_device_open(out->device_id, out->k_id, req) ||
            all_zero(out->device_id, DEVICE_ID_LEN))
            goto drop;
        out->has_device = true;
    }
    memcpy(out->auth_mac, payload + REQ_MAC_OFF, 32);
    if (identity_name(identity, out->username))
        out->user_index = users_find(users, out->username);
    else
        out->username[0] = '\0';
    sodium_memzero(identity, sizeof(identity));
    return HS_IDENTIFIED;
drop:
    sodium_memzero(identity, sizeof(identity));
    hs_request_wipe(out);
    return HS_DROP;
}

enum hs_verdict hs_server_authenticate(const uint8_t *req, const struct user_table *users,
                                       const struct hs_request *r)
{
    const uint8_t *token = r->user_index >= 0 ? users->users[r->user_index].token : DUMMY_TOKEN;
    uint8_t mac[32];
    hs_auth_mac(mac, r->ck1, token, req);
    bool mac_ok = crypto_verify_32(mac, r->auth_mac) == 0;
    sodium_memzero(mac, sizeof(mac));
    return r->user_index >= 0 && mac_ok ? HS_AUTHENTICATED : HS_AUTH_FAILED;
}

enum hs_verdict hs_server_open(const uint8_t s_priv[KEY_LEN], const uint8_t s_pub[KEY_LEN],
                               const uint8_t *req, size_t len, const struct user_table *users,
                               struct hs_request *out)
{
    enum hs_verdict v = hs_server_identify(s_priv, s_pub, req, len, users, out);
    return v == HS_DROP ? v : hs_server_authenticate(req, users, out);
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

size_t hs_server_reject(const struct hs_request *r, uint8_t status, uint8_t refusal, uint64_t ts,
                        uint8_t *out)
{
    if (!r->ext)
        return 0;
    uint8_t nonce[NONCE_LEN];
    randombytes_buf(nonce, sizeof(nonce));
    return hs_build_failure_ext(out, ts, r->k_id, r->auth_mac, nonce, status, refusal);
}

size_t hs_server_reject_v1(const struct hs_request *r, uint8_t status, uint64_t ts, uint8_t *out)
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
