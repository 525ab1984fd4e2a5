/* Client half of the handshake (PROTOCOL.md, "CONNECT_REQ" and the client's duties on
 * "CONNECT_RESP"). */
#include "handshake_client.h"

#include <sodium.h>
#include <string.h>

#include "vpn/proto.h"

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static bool build_request(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                          const uint8_t s_pub[KEY_LEN], const char *username,
                          const uint8_t token[TOKEN_LEN], uint64_t ts, bool ext,
                          uint8_t flags, const uint8_t *device_id, uint8_t *out)
{
    uint8_t identity[IDENTITY_LEN] = { 0 };
    uint8_t ad[HDR_LEN + KEY_LEN + REQ_EXT_LEN];
    static const uint8_t zero_nonce[NONCE_LEN];
    uint8_t *payload = out + HDR_LEN;
    size_t ulen = strlen(username);

    if (ulen == 0 || ulen > USERNAME_MAX || (flags & ~REQ_FLAGS_KNOWN) || (flags && !ext))
        return false;
    /* Extension 5: the flag and a device id (never all zero: that is "no id") go together. */
    if (!(flags & REQ_FLAG_DEVICE) != !device_id ||
        (device_id && all_zero(device_id, DEVICE_ID_LEN)))
        return false;
    memset(st, 0, sizeof(*st));
    memcpy(st->e_priv, e_priv, KEY_LEN);
    crypto_scalarmult_base(st->e_pub, st->e_priv);
    if (!hs_chain_identity(st->ck1, st->k_id, st->e_priv, s_pub, s_pub))
        return false;
    st->request_ts = ts;
    st->ext = ext;
    st->flags = flags;

    memset(out, 0, CONNECT_REQ_LEN);
    proto_hdr_write(out, MSG_CONNECT_REQ, CONNECT_REQ_PAYLOAD, 0, ts);
    memcpy(payload, st->e_pub, KEY_LEN);
    if (ext) {
        payload[REQ_EXT_OFF] = REQ_EXT_VERSION;     /* reserved bytes stay zero */
        payload[REQ_EXT_FLAGS_OFF] = flags;
    }
    memcpy(identity, username, ulen);
    size_t ad_len = hs_identity_ad(ad, out, ext);
    crypto_aead_chacha20poly1305_ietf_encrypt(payload + REQ_SEALED_OFF, NULL, identity,
                                              IDENTITY_LEN, ad, ad_len, NULL, zero_nonce,
                                              st->k_id);
    if (device_id)
        hs_device_seal(out, st->k_id, device_id);
    if (ext) {
        uint8_t key[32];
        hs_mac1_key(key, s_pub);
        hs_mac1(payload + REQ_MAC1_OFF, key, out);  /* mac2 stays zero: no cookie */
    }
    hs_auth_mac(st->auth_mac, st->ck1, token, out);
    memcpy(payload + REQ_MAC_OFF, st->auth_mac, 32);
    sodium_memzero(identity, sizeof(identity));
    return true;
}

bool hs_client_request(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                       const uint8_t s_pub[KEY_LEN], const char *username,
                       const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t *out)
{
    return build_request(st, e_priv, s_pub, username, token, ts, true, 0, NULL, out);
}

bool hs_client_request_flags(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                             const uint8_t s_pub[KEY_LEN], const char *username,
                             const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t flags,
                             uint8_t *out)
{
    return build_request(st, e_priv, s_pub, username, token, ts, true, flags, NULL, out);
}

bool hs_client_request_device(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                              const uint8_t s_pub[KEY_LEN], const char *username,
                              const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t flags,
                              const uint8_t *device_id, uint8_t *out)
{
    return build_request(st, e_priv, s_pub, username, token, ts, true, flags, device_id, out);
}

bool hs_client_request_v1(struct hs_client *st, const uint8_t e_priv[KEY_LEN],
                          const uint8_t s_pub[KEY_LEN], const char *username,
                          const uint8_t token[TOKEN_LEN], uint64_t ts, uint8_t *out)
{
    return build_request(st, e_priv, s_pub, username, token, ts, false, 0, NULL, out);
}

/* A failure in extension 1's form: 32 zero bytes, the nonce, the config sealed with k_id. */
static enum hs_client_verdict open_failure_ext(const struct hs_client *st, const uint8_t *resp,
                                               size_t len, struct hs_config *config)
{
    uint8_t ad[HDR_LEN + KEY_LEN + NONCE_LEN + 32];
    uint8_t plain[RESP_CONFIG_BASE];
    const uint8_t *nonce = resp + HDR_LEN + KEY_LEN;
    enum hs_client_verdict v = HSC_INVALID;
    if (len != CONNECT_FAIL_EXT_LEN)
        return HSC_INVALID;
    memcpy(ad, resp, HDR_LEN + KEY_LEN + NONCE_LEN);
    memcpy(ad + HDR_LEN + KEY_LEN + NONCE_LEN, st->auth_mac, 32);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, NULL, NULL, nonce + NONCE_LEN,
                                                  RESP_CONFIG_BASE + TAG_LEN, ad, sizeof(ad),
                                                  nonce, st->k_id) == 0 &&
        hs_config_decode(plain, sizeof(plain), config) && config->status != STATUS_OK)
        v = HSC_REJECTED;
    sodium_memzero(plain, sizeof(plain));
    return v;
}

enum hs_client_verdict hs_client_response(const struct hs_client *st, const uint8_t *resp,
                                          size_t len, const uint8_t token[TOKEN_LEN],
                                          struct hs_config *config, struct session_keys *keys)
{
    static const uint8_t zero[KEY_LEN];
    struct vpn_hdr h;
    uint8_t ad[HDR_LEN + KEY_LEN + 32];
    uint8_t plain[RESP_CONFIG_MAX];
    uint8_t nonce[NONCE_LEN] = { 0 };
    unsigned long long plain_len;
    enum hs_client_verdict v = HSC_INVALID;

    if (proto_hdr_parse(resp, len, &h) != HDR_OK || h.type != MSG_CONNECT_RESP)
        return HSC_INVALID;
    const uint8_t *e_s_pub = resp + HDR_LEN;
    const uint8_t *sealed = e_s_pub + KEY_LEN;
    size_t sealed_len = len - HDR_LEN - KEY_LEN;
    bool failure = sodium_memcmp(e_s_pub, zero, KEY_LEN) == 0;
    const uint8_t *key = st->k_id;
    if (failure && st->ext)
        return open_failure_ext(st, resp, len, config);

    memcpy(ad, resp, HDR_LEN + KEY_LEN);
    memcpy(ad + HDR_LEN + KEY_LEN, st->auth_mac, 32);
    if (failure) {
        nonce[NONCE_LEN - 1] = 1;
    } else {
        /* hs_session_keys computes ee = X25519(E_c_priv, E_s_pub), as the client must. */
        if (!hs_session_keys(keys, st->ck1, st->e_priv, e_s_pub, token))
            return HSC_INVALID;
        key = keys->k_resp;
    }
    if (crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plain_len, NULL, sealed, sealed_len, ad,
                                                  sizeof(ad), nonce, key) != 0)
        goto out;
    /* A failure says nothing but its status; a success may carry what the request asked. */
    if (!hs_config_decode_flags(plain, (size_t)plain_len, failure ? 0 : st->flags, config))
        goto out;
    if (failure)
        v = config->status != STATUS_OK ? HSC_REJECTED : HSC_INVALID;
    else
        v = (config->status == STATUS_OK && config->session_id != 0) ? HSC_ACCEPTED
                                                                      : HSC_INVALID;
out:
    if (v != HSC_ACCEPTED && !failure)
        sodium_memzero(keys, sizeof(*keys));
    sodium_memzero(plain, sizeof(plain));
    return v;
}

void hs_client_wipe(struct hs_client *st)
{
    sodium_memzero(st, sizeof(*st));
}
