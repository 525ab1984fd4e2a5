/* Key schedule of the handshake (PROTOCOL.md, "CONNECT_REQ" and "Session keys"). Every
 * intermediate secret lives on the stack and is erased before returning. */
#include "vpn/handshake.h"

#include <sodium.h>
#include <string.h>

#include "vpn/dns.h"
#include "vpn/hkdf.h"
#include "vpn/proto.h"

static const char LABEL_PROTOCOL[] = "vpnse/1";

bool hs_chain_identity(uint8_t ck1[32], uint8_t k_id[32], const uint8_t priv[KEY_LEN],
                       const uint8_t peer_pub[KEY_LEN], const uint8_t s_pub[KEY_LEN])
{
    uint8_t es[KEY_LEN];
    uint8_t salt[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state h;

    /* libsodium's crypto_scalarmult refuses an all-zero result (a low-order point). */
    if (crypto_scalarmult(es, priv, peer_pub) != 0) {
        sodium_memzero(es, sizeof(es));
        return false;
    }
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)LABEL_PROTOCOL, strlen(LABEL_PROTOCOL));
    crypto_hash_sha256_update(&h, s_pub, KEY_LEN);
    crypto_hash_sha256_final(&h, salt);
    hkdf_extract(ck1, salt, sizeof(salt), es, sizeof(es));
    hkdf_expand_label(k_id, ck1, "vpnse/1 identity");
    sodium_memzero(es, sizeof(es));
    return true;
}

void hs_auth_mac(uint8_t mac[32], const uint8_t ck1[32], const uint8_t token[TOKEN_LEN],
                 const uint8_t *req)
{
    uint8_t prk[32], k_auth[32];
    hkdf_extract(prk, ck1, 32, token, TOKEN_LEN);
    hkdf_expand_label(k_auth, prk, "vpnse/1 auth");
    /* mac2 (extension 3) is filled in after auth_mac and is taken as zero here: in a base v1
     * request those bytes are zero padding anyway. */
    static const uint8_t no_mac2[REQ_MACX_LEN];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, k_auth, sizeof(k_auth));
    crypto_auth_hmacsha256_update(&st, req, HDR_LEN + REQ_MAC2_OFF);
    crypto_auth_hmacsha256_update(&st, no_mac2, sizeof(no_mac2));
    crypto_auth_hmacsha256_update(&st, req + HDR_LEN + REQ_MAC2_OFF + REQ_MACX_LEN,
                                  REQ_MAC_OFF - REQ_MAC2_OFF - REQ_MACX_LEN);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(prk, sizeof(prk));
    sodium_memzero(k_auth, sizeof(k_auth));
}

bool hs_session_keys(struct session_keys *keys, const uint8_t ck1[32],
                     const uint8_t priv[KEY_LEN], const uint8_t peer_pub[KEY_LEN],
                     const uint8_t token[TOKEN_LEN])
{
    uint8_t ikm[KEY_LEN + TOKEN_LEN];
    uint8_t ck2[32];
    if (crypto_scalarmult(ikm, priv, peer_pub) != 0) {
        sodium_memzero(ikm, sizeof(ikm));
        return false;
    }
    memcpy(ikm + KEY_LEN, token, TOKEN_LEN);
    hkdf_extract(ck2, ck1, 32, ikm, sizeof(ikm));
    hkdf_expand_label(keys->k_resp, ck2, "vpnse/1 response");
    hkdf_expand_label(keys->k_c2s, ck2, "vpnse/1 client to server");
    hkdf_expand_label(keys->k_s2c, ck2, "vpnse/1 server to client");
    sodium_memzero(ikm, sizeof(ikm));
    sodium_memzero(ck2, sizeof(ck2));
    return true;
}

size_t hs_config_encode(uint8_t *out, const struct hs_config *c)
{
    uint8_t n = c->route_count > MAX_ROUTES ? MAX_ROUTES : c->route_count;
    memset(out, 0, RESP_CONFIG_BASE);
    out[0] = c->status;
    out[1] = c->status == STATUS_OK ? c->prefix_len : c->refusal;
    put_be16(out + 2, c->mtu);
    put_be32(out + 4, c->session_id);
    put_be32(out + 8, c->client_ip);
    put_be32(out + 12, c->server_ip);
    put_be16(out + 16, c->keepalive_s);
    out[18] = n;
    put_be32(out + 20, c->idle_timeout_s);
    put_be32(out + 24, c->rekey_s);
    put_be32(out + RESP_CONFIG_WINDOW_OFF, c->replay_window_ms);
    for (uint8_t i = 0; i < n; i++) {
        put_be32(out + RESP_CONFIG_BASE + ROUTE_ENTRY_LEN * i, c->routes[i].net);
        out[RESP_CONFIG_BASE + ROUTE_ENTRY_LEN * i + 4] = c->routes[i].prefix;
    }
    size_t len = RESP_CONFIG_BASE + (size_t)ROUTE_ENTRY_LEN * n;
    if (!c->dns_block)
        return len;
    /* Extension 4's DNS block: count, resolvers, search length, search list. */
    uint8_t k = c->dns_count > DNS_SERVERS_MAX ? DNS_SERVERS_MAX : c->dns_count;
    size_t slen = strnlen(c->dns_search, DNS_SEARCH_MAX);
    out[len++] = k;
    for (uint8_t i = 0; i < k; i++, len += 4)
        put_be32(out + len, c->dns[i]);
    out[len++] = (uint8_t)slen;
    memcpy(out + len, c->dns_search, slen);
    return len + slen;
}

/* Extension 4's DNS block at in[0..len): exactly one, nothing after it. */
static bool decode_dns(const uint8_t *in, size_t len, struct hs_config *c)
{
    if (len < RESP_DNS_BLOCK_MIN || in[0] > DNS_SERVERS_MAX)
        return false;
    c->dns_count = in[0];
    size_t off = 1 + 4 * (size_t)c->dns_count;
    if (len < off + 1)
        return false;
    size_t slen = in[off];
    if (slen > DNS_SEARCH_MAX || len != off + 1 + slen)
        return false;
    for (uint8_t i = 0; i < c->dns_count; i++)
        c->dns[i] = get_be32(in + 1 + 4 * i);
    if (slen && dns_search_check((const char *)in + off + 1, slen))
        return false;
    memcpy(c->dns_search, in + off + 1, slen);
    c->dns_search[slen] = '\0';
    c->dns_block = true;
    return true;
}

bool hs_config_decode(const uint8_t *in, size_t len, struct hs_config *c)
{
    return hs_config_decode_flags(in, len, 0, c);
}

bool hs_config_decode_flags(const uint8_t *in, size_t len, uint8_t req_flags,
                            struct hs_config *c)
{
    if (len < RESP_CONFIG_BASE)
        return false;
    memset(c, 0, sizeof(*c));
    c->status = in[0];
    c->prefix_len = in[1];
    c->refusal = c->status != STATUS_OK ? in[1] : 0;
    c->mtu = get_be16(in + 2);
    c->session_id = get_be32(in + 4);
    c->client_ip = get_be32(in + 8);
    c->server_ip = get_be32(in + 12);
    c->keepalive_s = get_be16(in + 16);
    c->route_count = in[18];
    c->idle_timeout_s = get_be32(in + 20);
    c->rekey_s = get_be32(in + 24);
    size_t routes_end = RESP_CONFIG_BASE + (size_t)ROUTE_ENTRY_LEN * c->route_count;
    if (c->route_count > MAX_ROUTES || len < routes_end)
        return false;
    /* The DNS block (extension 4) is there exactly when the request asked for it: an old
     * client, which never asks, sees the length it always saw. */
    if (req_flags & REQ_FLAG_DNS) {
        if (!decode_dns(in + routes_end, len - routes_end, c))
            return false;
    } else if (len != routes_end) {
        return false;
    }
    c->replay_window_ms = get_be32(in + RESP_CONFIG_WINDOW_OFF);
    if (in[19] != 0)
        return false;
    /* Offset 28 was reserved (zero) before the WINDOW flag: only an answer to a request that
     * asked may use it, and then only for a window the server could have configured. */
    if (c->replay_window_ms != 0 &&
        (!(req_flags & REQ_FLAG_WINDOW) || c->replay_window_ms < REPLAY_WINDOW_MS_MIN ||
         c->replay_window_ms > REPLAY_WINDOW_MS_MAX))
        return false;
    for (uint8_t i = 0; i < c->route_count; i++) {
        c->routes[i].net = get_be32(in + RESP_CONFIG_BASE + ROUTE_ENTRY_LEN * i);
        c->routes[i].prefix = in[RESP_CONFIG_BASE + ROUTE_ENTRY_LEN * i + 4];
        if (c->routes[i].prefix > 32)
            return false;
    }
    return true;
}

bool hs_config_decode_from_main(const uint8_t *in, size_t len, struct hs_config *c)
{
    return hs_config_decode_flags(in, len, REQ_FLAG_DNS, c) || hs_config_decode(in, len, c);
}

size_t hs_build_response(uint8_t *out, uint64_t ts, const uint8_t e_pub_or_null[KEY_LEN],
                         const uint8_t key[KEY_LEN], const uint8_t auth_mac[32],
                         const struct hs_config *config)
{
    uint8_t plain[RESP_CONFIG_MAX];
    uint8_t ad[HDR_LEN + KEY_LEN + 32];
    uint8_t nonce[NONCE_LEN] = { 0 };
    size_t plain_len = hs_config_encode(plain, config);
    size_t payload = KEY_LEN + plain_len + TAG_LEN;

    proto_hdr_write(out, MSG_CONNECT_RESP, (uint16_t)payload, 0, ts);
    if (e_pub_or_null)
        memcpy(out + HDR_LEN, e_pub_or_null, KEY_LEN);
    else
        memset(out + HDR_LEN, 0, KEY_LEN);
    if (!e_pub_or_null)
        nonce[NONCE_LEN - 1] = 1;   /* failure responses use nonce 0...01 under k_id */
    memcpy(ad, out, HDR_LEN + KEY_LEN);
    memcpy(ad + HDR_LEN + KEY_LEN, auth_mac, 32);
    crypto_aead_chacha20poly1305_ietf_encrypt(out + HDR_LEN + KEY_LEN, NULL, plain, plain_len,
                                              ad, sizeof(ad), NULL, nonce, key);
    sodium_memzero(plain, sizeof(plain));
    return HDR_LEN + payload;
}

void hs_mac1_key(uint8_t key[32], const uint8_t s_pub[KEY_LEN])
{
    static const char label[] = "vpnse/1 mac1";
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&h, s_pub, KEY_LEN);
    crypto_generichash_final(&h, key, 32);
}

void hs_mac1(uint8_t mac[REQ_MACX_LEN], const uint8_t key[32], const uint8_t *req)
{
    crypto_generichash(mac, REQ_MACX_LEN, req, HDR_LEN + REQ_MAC1_OFF, key, 32);
}

size_t hs_identity_ad(uint8_t ad[HDR_LEN + KEY_LEN + REQ_EXT_LEN], const uint8_t *req, bool ext)
{
    memcpy(ad, req, HDR_LEN + KEY_LEN);
    if (!ext)
        return HDR_LEN + KEY_LEN;
    memcpy(ad + HDR_LEN + KEY_LEN, req + HDR_LEN + REQ_EXT_OFF, REQ_EXT_LEN);
    return HDR_LEN + KEY_LEN + REQ_EXT_LEN;
}

/* k_id seals more than one thing of a request: the identity under nonce 0, a base-form failure
 * under 0...01, the device id under 0...02 (extended failures draw random nonces). */
static void device_nonce(uint8_t nonce[NONCE_LEN])
{
    memset(nonce, 0, NONCE_LEN);
    nonce[NONCE_LEN - 1] = 2;
}

void hs_device_seal(uint8_t *req, const uint8_t k_id[32], const uint8_t id[DEVICE_ID_LEN])
{
    uint8_t ad[HDR_LEN + KEY_LEN + REQ_EXT_LEN], nonce[NONCE_LEN];
    size_t ad_len = hs_identity_ad(ad, req, true);
    device_nonce(nonce);
    crypto_aead_chacha20poly1305_ietf_encrypt(req + HDR_LEN + REQ_DEVICE_OFF, NULL, id,
                                              DEVICE_ID_LEN, ad, ad_len, NULL, nonce, k_id);
}

bool hs_device_open(uint8_t id[DEVICE_ID_LEN], const uint8_t k_id[32], const uint8_t *req)
{
    uint8_t ad[HDR_LEN + KEY_LEN + REQ_EXT_LEN], nonce[NONCE_LEN];
    size_t ad_len = hs_identity_ad(ad, req, true);
    device_nonce(nonce);
    return crypto_aead_chacha20poly1305_ietf_decrypt(id, NULL, NULL, req + HDR_LEN + REQ_DEVICE_OFF,
                                                     REQ_DEVICE_SEALED_LEN, ad, ad_len, nonce,
                                                     k_id) == 0;
}

size_t hs_build_failure_ext(uint8_t *out, uint64_t ts, const uint8_t k_id[32],
                            const uint8_t auth_mac[32], const uint8_t nonce[NONCE_LEN],
                            uint8_t status, uint8_t refusal)
{
    uint8_t plain[RESP_CONFIG_BASE] = { 0 };
    uint8_t ad[HDR_LEN + KEY_LEN + NONCE_LEN + 32];
    uint8_t *n = out + HDR_LEN + KEY_LEN;
    plain[0] = status;
    plain[1] = refusal;
    proto_hdr_write(out, MSG_CONNECT_RESP, CONNECT_FAIL_EXT_LEN - HDR_LEN, 0, ts);
    memset(out + HDR_LEN, 0, KEY_LEN);
    memcpy(n, nonce, NONCE_LEN);
    memcpy(ad, out, HDR_LEN + KEY_LEN + NONCE_LEN);
    memcpy(ad + HDR_LEN + KEY_LEN + NONCE_LEN, auth_mac, 32);
    crypto_aead_chacha20poly1305_ietf_encrypt(n + NONCE_LEN, NULL, plain, sizeof(plain), ad,
                                              sizeof(ad), NULL, nonce, k_id);
    return CONNECT_FAIL_EXT_LEN;
}
