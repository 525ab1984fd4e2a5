/* The one way the control thread hands requests to the enclave workers (in_ctl rings): a
 * request that does not fit its ring now waits in a per-worker backlog, in order, and is
 * moved into the ring at every turn of the control loop (ctl_submit_flush). The backlog is
 * sized so that it cannot overflow (every session's erasure, DISCONNECT and every pending
 * handshake at once); should it ever, the request is counted in `overflows`, never silently
 * lost. Control thread only. */
#ifndef SERVER_CTL_SUBMIT_H
#define SERVER_CTL_SUBMIT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "vpn/enclave_ipc.h"

struct enclave_link;

/* One queued request: its metadata, and its bytes when it has any (OP_ACCEPT, OP_SEAL_CONTROL;
 * heap, freed once in the ring). */
struct ctl_request {
    struct pkt_meta meta;
    uint8_t *data;
};

struct ctl_backlog {
    struct ctl_request *q;
    uint32_t head, tail, cap;       /* ring of cap entries; grows up to CTL_BACKLOG_MAX */
};

enum { CTL_BACKLOG_MAX = 2 * SESSION_SLOTS + 512 };

struct ctl_submit {
    struct enclave_link *enclave;
    struct ctl_backlog backlog[MAX_WORKERS];
    uint64_t submitted, deferred, overflows;
};

void ctl_submit_init(struct ctl_submit *s, struct enclave_link *e);
void ctl_submit_uninit(struct ctl_submit *s);

/* Submits a request to worker w: into its in_ctl ring at once when nothing waits before it and
 * there is room, else into the backlog. false only on overflow (counted). */
bool ctl_submit(struct ctl_submit *s, int w, uint16_t op, uint32_t session_id, uint16_t aux,
                const uint8_t *data, uint16_t len, const struct sockaddr_in6 *peer,
                uint32_t cookie);

/* Moves waiting requests into the rings as far as they have room; wakes the workers. */
void ctl_submit_flush(struct ctl_submit *s);

/* Requests still waiting for worker w, or for any worker (w < 0). */
uint32_t ctl_submit_waiting(const struct ctl_submit *s, int w);

/* Forgets every waiting request (the enclave died: its keys and requests are gone). */
void ctl_submit_drop_all(struct ctl_submit *s);

#endif
