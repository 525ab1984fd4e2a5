/* WireGuard's handshake, responder side (wg_noise.h). Names follow the whitepaper: C the
 * chaining key, H the hash, k an AEAD key; every AEAD here uses the nonce 0 (each key seals one
 * message) and the running hash as associated data. */
#include "wg_noise.h"

#include <sodium.h>
#include <string.h>

#include "vpn/wg_blake2s.h"

static const char CONSTRUCTION[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char IDENTIFIER[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char LABEL_MAC1[] = "mac1----";
static const char LABEL_COOKIE[] = "cookie--";

static const uint8_t ZERO_NONCE[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

bool wg_identity_init(struct wg_identity *id, const uint8_t priv[WG_KEY_LEN])
{
    uint8_t h[WG_HASH_LEN];
    memcpy(id->priv, priv, WG_KEY_LEN);
    crypto_scalarmult_base(id->pub, id->priv);
    return wg_hash(id->mac1_key, LABEL_MAC1, strlen(LABEL_MAC1), id->pub, WG_KEY_LEN) &&
           wg_hash(id->cookie_key, LABEL_COOKIE, strlen(LABEL_COOKIE), id->pub, WG_KEY_LEN) &&
           wg_hash(id->chain0, CONSTRUCTION, strlen(CONSTRUCTION), NULL, 0) &&
           wg_hash(h, id->chain0, WG_HASH_LEN, IDENTIFIER, strlen(IDENTIFIER)) &&
           wg_hash(id->hash0, h, WG_HASH_LEN, id->pub, WG_KEY_LEN);
}

/* H = HASH(H || data) */
static bool mix_hash(uint8_t hash[WG_HASH_LEN], const uint8_t *data, size_t len)
{
    return wg_hash(hash, hash, WG_HASH_LEN, data, len);
}

/* (C, k) = KDF2(C, DH(priv, pub)); false on an all-zero shared secret (a low-order point:
 * libsodium refuses it) or a libcrypto failure. */
static bool mix_dh(uint8_t chain[WG_HASH_LEN], uint8_t *key, const uint8_t priv[WG_KEY_LEN],
                   const uint8_t pub[WG_KEY_LEN])
{
    uint8_t shared[WG_KEY_LEN];
    bool ok = crypto_scalarmult(shared, priv, pub) == 0 &&
              wg_kdf(chain, key, NULL, chain, shared, sizeof(shared));
    sodium_memzero(shared, sizeof(shared));
    return ok;
}

bool wg_noise_mac1_ok(const struct wg_identity *id, const uint8_t msg[WG_INIT_LEN])
{
    uint8_t mac[WG_MAC_LEN];
    return wg_mac(mac, id->mac1_key, WG_HASH_LEN, msg, WG_INIT_MAC1) &&
           sodium_memcmp(mac, msg + WG_INIT_MAC1, WG_MAC_LEN) == 0;
}

enum wg_init_verdict wg_noise_consume_initiation(const struct wg_identity *id,
                                                 const uint8_t msg[WG_INIT_LEN],
                                                 struct wg_initiation *out)
{
    enum wg_init_verdict v = WG_INIT_CRYPTO;
    uint8_t key[WG_KEY_LEN];
    memset(out, 0, sizeof(*out));
    if (!wg_noise_mac1_ok(id, msg))
        return WG_INIT_BAD_MAC1;
    out->sender = wg_get_le32(msg + WG_INIT_SENDER);
    memcpy(out->e_pub, msg + WG_INIT_EPHEMERAL, WG_KEY_LEN);
    memcpy(out->chain, id->chain0, WG_HASH_LEN);
    memcpy(out->hash, id->hash0, WG_HASH_LEN);
    /* C = KDF1(C, E_i); H = HASH(H || E_i) */
    if (!wg_kdf(out->chain, NULL, NULL, out->chain, out->e_pub, WG_KEY_LEN) ||
        !mix_hash(out->hash, out->e_pub, WG_KEY_LEN))
        goto fail;
    /* (C, k) = KDF2(C, DH(S_priv_r, E_i)); static = AEAD(k, 0, S_i, H); H = HASH(H || static) */
    if (!mix_dh(out->chain, key, id->priv, out->e_pub)) {
        v = WG_INIT_BAD_DH;
        goto fail;
    }
    if (crypto_aead_chacha20poly1305_ietf_decrypt(
            out->peer_static, NULL, NULL, msg + WG_INIT_STATIC, WG_KEY_LEN + WG_TAG_LEN,
            out->hash, WG_HASH_LEN, ZERO_NONCE, key) != 0) {
        v = WG_INIT_BAD_AEAD;
        goto fail;
    }
    if (!mix_hash(out->hash, msg + WG_INIT_STATIC, WG_KEY_LEN + WG_TAG_LEN))
        goto fail;
    /* (C, k) = KDF2(C, DH(S_priv_r, S_i)); timestamp = AEAD(k, 0, TAI64N, H) */
    if (!mix_dh(out->chain, key, id->priv, out->peer_static)) {
        v = WG_INIT_BAD_DH;
        goto fail;
    }
    if (crypto_aead_chacha20poly1305_ietf_decrypt(
            out->timestamp, NULL, NULL, msg + WG_INIT_TIMESTAMP, WG_TAI64N_LEN + WG_TAG_LEN,
            out->hash, WG_HASH_LEN, ZERO_NONCE, key) != 0) {
        v = WG_INIT_BAD_AEAD;
        goto fail;
    }
    if (!mix_hash(out->hash, msg + WG_INIT_TIMESTAMP, WG_TAI64N_LEN + WG_TAG_LEN))
        goto fail;
    sodium_memzero(key, sizeof(key));
    return WG_INIT_OK;
fail:
    sodium_memzero(key, sizeof(key));
    wg_initiation_wipe(out);
    return v;
}

bool wg_noise_create_response(struct wg_initiation *in, const uint8_t psk[WG_KEY_LEN],
                              const uint8_t e_priv[WG_KEY_LEN], uint32_t sender,
                              uint8_t out[WG_RESP_LEN], struct wg_keypair *keys)
{
    uint8_t tau[WG_HASH_LEN], key[WG_KEY_LEN], mac1_key[WG_HASH_LEN];
    uint8_t *e_pub = out + WG_RESP_EPHEMERAL;
    bool ok = false;
    memset(out, 0, WG_RESP_LEN);
    out[0] = WG_MSG_RESPONSE;
    wg_put_le32(out + WG_RESP_SENDER, sender);
    wg_put_le32(out + WG_RESP_RECEIVER, in->sender);
    crypto_scalarmult_base(e_pub, e_priv);
    /* C = KDF1(C, E_r); H = HASH(H || E_r); C = KDF1(C, DH(E_priv_r, E_i));
     * C = KDF1(C, DH(E_priv_r, S_i)) */
    if (!wg_kdf(in->chain, NULL, NULL, in->chain, e_pub, WG_KEY_LEN) ||
        !mix_hash(in->hash, e_pub, WG_KEY_LEN) || !mix_dh(in->chain, NULL, e_priv, in->e_pub) ||
        !mix_dh(in->chain, NULL, e_priv, in->peer_static))
        goto out;
    /* (C, tau, k) = KDF3(C, Q); H = HASH(H || tau); empty = AEAD(k, 0, nothing, H);
     * H = HASH(H || empty) */
    if (!wg_kdf(in->chain, tau, key, in->chain, psk, WG_KEY_LEN) ||
        !mix_hash(in->hash, tau, sizeof(tau)))
        goto out;
    crypto_aead_chacha20poly1305_ietf_encrypt(out + WG_RESP_EMPTY, NULL, NULL, 0, in->hash,
                                              WG_HASH_LEN, NULL, ZERO_NONCE, key);
    if (!mix_hash(in->hash, out + WG_RESP_EMPTY, WG_TAG_LEN))
        goto out;
    /* mac1 keyed with the initiator's public key; mac2 stays zero. */
    if (!wg_hash(mac1_key, LABEL_MAC1, strlen(LABEL_MAC1), in->peer_static, WG_KEY_LEN) ||
        !wg_mac(out + WG_RESP_MAC1, mac1_key, sizeof(mac1_key), out, WG_RESP_MAC1))
        goto out;
    /* (T_recv_r, T_send_r) = KDF2(C, nothing): the initiator sends with the first. */
    ok = wg_kdf(keys->recv, keys->send, NULL, in->chain, NULL, 0);
out:
    sodium_memzero(tau, sizeof(tau));
    sodium_memzero(key, sizeof(key));
    wg_initiation_wipe(in);
    if (!ok)
        sodium_memzero(keys, sizeof(*keys));
    return ok;
}

bool wg_tai64n_after(const uint8_t a[WG_TAI64N_LEN], const uint8_t b[WG_TAI64N_LEN])
{
    return memcmp(a, b, WG_TAI64N_LEN) > 0;
}

void wg_initiation_wipe(struct wg_initiation *in)
{
    sodium_memzero(in, sizeof(*in));
}
