/* What the request handlers of one worker share: worker.c's (our protocol, the dispatch
 * table, the key slots' life) and wg_worker.c's (WireGuard's). Enclave-private, and private
 * to those two files: everything here runs in the worker's own thread, on its own batch. */
#ifndef ENCLAVE_WORKER_OPS_H
#define ENCLAVE_WORKER_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "worker.h"

/* Copies n bytes out of shared memory, once. The compiler barrier makes every later use read
 * the private copy: without it the compiler may legally load a field from the shared original
 * again after it was checked (a double fetch the main process can race). */
static inline void worker_copy_in(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    __asm__ __volatile__("" ::: "memory");
}

/* A request only a broken or hostile main process sends: logs why and ends the worker (the
 * supervisor restarts it). */
void worker_fatal(const struct worker *w, const char *why) __attribute__((noreturn));

void worker_count_drop(struct worker *w, enum worker_drop why);

/* The next free slot of out_dec / out_enc in this batch, or NULL (counted: out_ring_full). */
struct pkt_slot *worker_dec_result(struct worker *w);
struct pkt_slot *worker_enc_result(struct worker *w);

/* Fills a result's metadata from the (private) request's and counts it in the batch. */
void worker_commit_dec(struct worker *w, struct pkt_slot *out, const struct pkt_meta *m,
                       uint16_t op, uint16_t len);

/* The live slot of session_id, or NULL (counted). A slot that died is retired here; a
 * session of another worker ends this one. */
struct key_slot *worker_find_slot(struct worker *w, uint32_t session_id);

/* A free slot owned by this worker (dead ones reclaimed), or NULL. */
struct key_slot *worker_alloc_slot(struct worker *w, uint32_t *idx_out);

/* A fresh session id naming slot idx (random, non-zero above the slot bits). */
uint32_t worker_new_session_id(uint32_t idx);

/* Makes k live as session_id and binds it to its user's device record (devices.h). false
 * when the user has USER_DEVICES_MAX devices online: the slot is erased again (counted). */
bool worker_publish_slot(struct worker *w, struct key_slot *k, uint32_t session_id,
                         const uint8_t device_id[DEVICE_ID_LEN]);

/* Erases a slot's keys and frees it. */
void worker_erase_slot(struct worker *w, struct key_slot *k);

/* true when pt (an out ring slot: each byte read once) is an IPv4 packet from the session's
 * own address; *len is then trimmed to its total length. Counts its refusals. */
bool worker_inner_ok(struct worker *w, const struct key_slot *k, const uint8_t *pt, size_t *len);

#endif
