/* Sealing and opening of transport messages (PROTOCOL.md, "Transport messages"). */
#include "vpn/transport.h"

#include <sodium.h>

#include "vpn/proto.h"

size_t transport_seal(uint8_t *out, uint8_t type, const uint8_t key[KEY_LEN], uint32_t session_id,
                      uint64_t counter, uint64_t ts, const uint8_t *pt, size_t pt_len)
{
    uint8_t *nonce = out + HDR_LEN;
    uint8_t *tag = nonce + NONCE_LEN;
    uint8_t *ct = tag + TAG_LEN;
    proto_hdr_write(out, type, (uint16_t)(NONCE_LEN + TAG_LEN + pt_len), (uint32_t)counter, ts);
    put_be32(nonce, session_id);
    put_be64(nonce + 4, counter);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, tag, NULL, pt, pt_len, out, HDR_LEN,
                                                       NULL, nonce, key);
    return TRANSPORT_OVERHEAD + pt_len;
}

bool transport_open_split(uint8_t *pt, const uint8_t head[TRANSPORT_OVERHEAD], const uint8_t *ct,
                          size_t ct_len, const uint8_t key[KEY_LEN])
{
    const uint8_t *nonce = head + HDR_LEN;
    const uint8_t *tag = nonce + NONCE_LEN;
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(pt, NULL, ct, ct_len, tag, head,
                                                              HDR_LEN, nonce, key) == 0;
}

bool transport_open(uint8_t *pt, const uint8_t *pkt, size_t len, const uint8_t key[KEY_LEN])
{
    return transport_open_split(pt, pkt, pkt + TRANSPORT_OVERHEAD, len - TRANSPORT_OVERHEAD, key);
}
