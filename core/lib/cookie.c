/* Cookies of extension 3 (see cookie.h). */
#include "vpn/cookie.h"

#include <sodium.h>
#include <string.h>

#include "vpn/proto.h"

void cookie_key(uint8_t key[32], const uint8_t s_pub[KEY_LEN])
{
    static const char label[] = "vpnse/1 cookie";
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&h, s_pub, KEY_LEN);
    crypto_generichash_final(&h, key, 32);
}

void cookie_make(uint8_t cookie[COOKIE_LEN], const uint8_t secret[32], const uint8_t addr16[16],
                 uint16_t port)
{
    uint8_t src[18];
    memcpy(src, addr16, 16);
    put_be16(src + 16, port);
    crypto_generichash(cookie, COOKIE_LEN, src, sizeof(src), secret, 32);
}

void cookie_mac2(uint8_t mac2[REQ_MACX_LEN], const uint8_t cookie[COOKIE_LEN], const uint8_t *req)
{
    crypto_generichash(mac2, REQ_MACX_LEN, req, HDR_LEN + REQ_MAC2_OFF, cookie, COOKIE_LEN);
}

size_t cookie_reply_build(uint8_t *out, uint64_t ts, const uint8_t key[32],
                          const uint8_t mac1[REQ_MACX_LEN], const uint8_t cookie[COOKIE_LEN],
                          const uint8_t nonce[COOKIE_NONCE_LEN])
{
    proto_hdr_write(out, MSG_COOKIE_REPLY, COOKIE_REPLY_PAYLOAD, 0, ts);
    memcpy(out + HDR_LEN, nonce, COOKIE_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + HDR_LEN + COOKIE_NONCE_LEN, NULL, cookie,
                                               COOKIE_LEN, mac1, REQ_MACX_LEN, NULL, nonce, key);
    return COOKIE_REPLY_LEN;
}

bool cookie_reply_open(const uint8_t *reply, size_t len, const uint8_t key[32],
                       const uint8_t mac1[REQ_MACX_LEN], uint8_t cookie[COOKIE_LEN])
{
    if (len != COOKIE_REPLY_LEN || reply[0] != MSG_COOKIE_REPLY)
        return false;
    const uint8_t *nonce = reply + HDR_LEN;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
                                                      nonce + COOKIE_NONCE_LEN,
                                                      COOKIE_LEN + 16, mac1, REQ_MACX_LEN, nonce,
                                                      key) == 0;
}
