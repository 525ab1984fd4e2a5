/* WireGuard transport data (wg_transport.h). The nonce is 32 zero bits then the counter,
 * little-endian; there is no associated data. */
#include "wg_transport.h"

#include <sodium.h>
#include <string.h>

static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES],
                       uint64_t counter)
{
    memset(nonce, 0, 4);
    wg_put_le64(nonce + 4, counter);
}

size_t wg_transport_sealed_len(size_t pt_len, size_t mtu)
{
    size_t padded = (pt_len + WG_PADDING - 1) / WG_PADDING * WG_PADDING;
    if (padded > mtu)
        padded = pt_len > mtu ? pt_len : mtu;
    return WG_DATA_HEADER_LEN + padded + WG_TAG_LEN;
}

size_t wg_transport_seal(uint8_t *out, uint32_t receiver, uint64_t counter,
                         const uint8_t key[WG_KEY_LEN], const uint8_t *pt, size_t pt_len,
                         size_t mtu)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    size_t n = wg_transport_sealed_len(pt_len, mtu);
    size_t padded = n - WG_DATA_HEADER_LEN - WG_TAG_LEN;
    uint8_t *body = out + WG_DATA_HEADER_LEN;
    out[0] = WG_MSG_TRANSPORT;
    out[1] = out[2] = out[3] = 0;
    wg_put_le32(out + WG_DATA_RECEIVER, receiver);
    wg_put_le64(out + WG_DATA_COUNTER, counter);
    /* Copied into the output first and sealed in place: the shared input is read once. */
    if (pt_len)
        memcpy(body, pt, pt_len);
    memset(body + pt_len, 0, padded - pt_len);
    make_nonce(nonce, counter);
    crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, body, padded, NULL, 0, NULL, nonce,
                                              key);
    return n;
}

bool wg_transport_open(uint8_t *pt, const uint8_t head[WG_DATA_HEADER_LEN], const uint8_t *sealed,
                       size_t sealed_len, const uint8_t key[WG_KEY_LEN])
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], tag[WG_TAG_LEN];
    if (sealed_len < WG_TAG_LEN)
        return false;
    size_t ct_len = sealed_len - WG_TAG_LEN;
    make_nonce(nonce, wg_get_le64(head + WG_DATA_COUNTER));
    /* The tag is copied out once; the ciphertext is opened where it lies, as our protocol's
     * (worker.c: bulk bytes that are never parsed are read in place). */
    memcpy(tag, sealed + ct_len, WG_TAG_LEN);
    __asm__ __volatile__("" ::: "memory");
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(pt, NULL, sealed, ct_len, tag,
                                                              NULL, 0, nonce, key) == 0;
}
