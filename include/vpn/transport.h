/* Transport messages (DATA, PING, PONG, DISCONNECT) of PROTOCOL.md:
 *   header (16) | nonce = session_id (4) || counter (8) | tag (16) | ciphertext
 * AEAD ChaCha20-Poly1305 IETF, detached tag, ad = header. */
#ifndef VPN_TRANSPORT_H
#define VPN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

/* Seals plaintext (pt_len bytes at pt) into out, which needs TRANSPORT_OVERHEAD + pt_len bytes.
 * pt may equal out + TRANSPORT_OVERHEAD (in place). Returns the datagram length. */
size_t transport_seal(uint8_t *out, uint8_t type, const uint8_t key[KEY_LEN], uint32_t session_id,
                      uint64_t counter, uint64_t ts, const uint8_t *pt, size_t pt_len);

/* Opens a datagram whose header was checked (proto_hdr_parse, proto_transport_ids): verifies
 * the tag and writes len - TRANSPORT_OVERHEAD bytes of plaintext to pt (which may equal
 * pkt + TRANSPORT_OVERHEAD). Returns false when authentication fails. */
bool transport_open(uint8_t *pt, const uint8_t *pkt, size_t len, const uint8_t key[KEY_LEN])
    __attribute__((warn_unused_result));

/* The same with the header, nonce and tag (head, TRANSPORT_OVERHEAD bytes) apart from the
 * ct_len bytes of ciphertext: the enclave opens a datagram whose head it has copied into
 * private memory while the ciphertext stays in the shared ring. */
bool transport_open_split(uint8_t *pt, const uint8_t head[TRANSPORT_OVERHEAD], const uint8_t *ct,
                          size_t ct_len, const uint8_t key[KEY_LEN])
    __attribute__((warn_unused_result));

#endif
