/* WireGuard transport data messages (whitepaper 5.4.6): sealing and opening with one session's
 * keys. Enclave-private. The replay window and the counters' limits are the caller's (the same
 * sliding window as our protocol's, vpn/replay.h); these only do the AEAD and the framing. */
#ifndef ENCLAVE_WG_TRANSPORT_H
#define ENCLAVE_WG_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/wg_proto.h"

/* Length of the sealed message for a packet of pt_len bytes: the packet padded with zeros to a
 * multiple of 16 but never beyond mtu (unless pt_len is), plus header and tag. */
size_t wg_transport_sealed_len(size_t pt_len, size_t mtu);

/* Seals pt (pt_len bytes, may be 0: a keepalive) as a transport message for the peer's index
 * receiver with this counter into out (wg_transport_sealed_len bytes). pt may be in shared
 * memory: it is read once. Returns the message length. */
size_t wg_transport_seal(uint8_t *out, uint32_t receiver, uint64_t counter,
                         const uint8_t key[WG_KEY_LEN], const uint8_t *pt, size_t pt_len,
                         size_t mtu);

/* Opens a transport message whose header (WG_DATA_HEADER_LEN bytes, private) and sealed part
 * (sealed_len bytes, tag included; may be shared memory, read once) are given apart, into
 * pt (sealed_len - WG_TAG_LEN bytes: the padded packet). false when the tag does not verify. */
bool wg_transport_open(uint8_t *pt, const uint8_t head[WG_DATA_HEADER_LEN], const uint8_t *sealed,
                       size_t sealed_len, const uint8_t key[WG_KEY_LEN])
    __attribute__((warn_unused_result));

#endif
