/* The enclave worker's WireGuard requests (docs/WIREGUARD.md, "Phase 2", the contract's
 * table; include/vpn/enclave_ipc.h, OP_WG_*). worker.c's dispatch table calls these after it
 * checked the ring, the length and that WireGuard is enabled; each reads every shared byte it
 * parses once (worker_copy_in) and wipes every secret it made. What the network sent is only
 * counted; what only the main process could have got wrong ends the worker.
 *
 * WireGuard answers nothing it cannot authenticate: an initiation that does not open, from a
 * key that is no device's, of a disabled user, or not newer than the peer's last, gets no
 * result at all from OP_WG_HELLO. Key slots of this kind (format KEY_FORMAT_WG) die silently
 * (no DISCONNECT) with their user, their peer's entry, or after WG_REJECT_AFTER_TIME_S. */
#ifndef ENCLAVE_WG_WORKER_H
#define ENCLAVE_WG_WORKER_H

#include "worker.h"

/* OP_WG_HELLO (in_hs, WG_INIT_LEN bytes): mac1, the initiation opened, its peer found, its
 * user enabled, its TAI64N after the peer's last accepted one and WG_MIN_INITIATION_INTERVAL_MS
 * after that one's arrival (nothing committed): RES_HELLO, aux HELLO_WIREGUARD, data = the
 * initiation zero-padded to CONNECT_REQ_LEN, the device id (its name), the user's name. */
void wg_worker_hello(struct worker *w, const struct pkt_meta *m, const uint8_t *shared);

/* OP_WG_ACCEPT (in_ctl): RES_HELLO's request block and a config block, aux the main
 * process's decision. The initiation is opened again and its timestamp committed; then a
 * refusal (the main process's, no slot, the user's devices all online, or the checks failing
 * now) is RES_REPLY with len 0 and the status in aux; a success is a WireGuard key slot whose
 * session id is our index, and RES_ACCEPTED, aux HELLO_WIREGUARD, data = the response. */
void wg_worker_accept(struct worker *w, const struct pkt_meta *m, const uint8_t *shared);

/* OP_WG_DECRYPT (in_rx): a transport message whose receiver index is meta.session_id.
 * RES_DATA (the inner IPv4 packet, padding trimmed), or RES_KEEPALIVE for an empty one; the
 * session's endpoint follows (roaming). */
void wg_worker_decrypt(struct worker *w, const struct pkt_meta *m, const uint8_t *shared);

/* OP_WG_KEEPALIVE (in_ctl): an empty transport message to session_id's initiator, sealed as
 * OP_ENCRYPT seals a packet; nothing for a session that is gone or is not WireGuard's. */
void wg_worker_keepalive(struct worker *w, const struct pkt_meta *m);

/* OP_ENCRYPT on WireGuard slot k: pt (m->len bytes, 0 for a keepalive; shared memory, read
 * once) sealed to the initiator's index, padded within the session's MTU: RES_SEALED, aux
 * HELLO_WIREGUARD, to m->peer. */
void wg_worker_seal(struct worker *w, struct key_slot *k, const struct pkt_meta *m,
                    const uint8_t *pt);

#endif
