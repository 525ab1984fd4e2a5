/* Sealing and opening of transport messages (PROTOCOL.md, "Transport messages"). */
#include "vpn/transport.h"

#include "vpn/aead.h"
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
    aead_seal(ct, tag, pt, pt_len, out, HDR_LEN, nonce, key);
    return TRANSPORT_OVERHEAD + pt_len;
}

bool transport_open_split(uint8_t *pt, const uint8_t head[TRANSPORT_OVERHEAD], const uint8_t *ct,
                          size_t ct_len, const uint8_t key[KEY_LEN])
{
    const uint8_t *nonce = head + HDR_LEN;
    const uint8_t *tag = nonce + NONCE_LEN;
    return aead_open(pt, ct, ct_len, tag, head, HDR_LEN, nonce, key);
}

bool transport_open(uint8_t *pt, const uint8_t *pkt, size_t len, const uint8_t key[KEY_LEN])
{
    return transport_open_split(pt, pkt, pkt + TRANSPORT_OVERHEAD, len - TRANSPORT_OVERHEAD, key);
}
