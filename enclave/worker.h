/* One enclave worker: serves its rings until the main process goes away. */
#ifndef ENCLAVE_WORKER_H
#define ENCLAVE_WORKER_H

#include <stdint.h>

#include "secrets.h"
#include "vpn/enclave_ipc.h"

struct worker {
    int index;                  /* 0 .. count-1 */
    int count;                  /* workers in the pool: slot s belongs to worker s % count */
    int doorbell_fd;            /* worker end of this worker's socketpair */
    struct worker_shm *shm;     /* rings shared with the main process */
    struct worker_rings rings;  /* our handles on them (worker_rings_init) */
    struct enclave_secrets *sec;/* secret memory shared by the workers only */
    uint32_t replay_window_ms;
    uint64_t key_max_age_ms;    /* rekey_interval + KEY_AGE_GRACE_MS; 0: no limit */
    uint64_t mono_ms;           /* monotonic clock of the current batch (key age, budgets) */
    uint64_t now_ms;            /* realtime clock of the current request (message stamps) */
    uint64_t next_sweep_ms;     /* monotonic: when to look for dead key slots again */
    /* results produced in the current batch and not yet published */
    uint32_t dec_pending, enc_pending;
    /* Tests only (NULL in the enclave): the ephemeral private key of every WireGuard response,
     * so that a test can compare the response with an independent implementation's. */
    const uint8_t *wg_test_ephemeral;
};

/* Serves requests forever; returns only when the main process closed the doorbell (then the
 * caller exits). A malformed request ends the process (exit status WORKER_EXIT_MALFORMED). */
void worker_run(struct worker *w);

/* Handles one request slot (exposed for the unit tests, which drive a worker without a
 * process of its own). The slot is in memory the main process can write at any time: its
 * metadata and every byte that is parsed are copied once into private memory first. */
void worker_handle(struct worker *w, struct ring *from, struct pkt_slot *req, uint64_t now_ms);
/* Serves up to one batch from ring r (one of w's input rings): in_ctl whole, the others no
 * more than the result rings can take. Returns the number of requests handled. */
uint32_t worker_drain(struct worker *w, struct ring *r, uint64_t now_ms);
/* Erases this worker's key slots that died (key age, token change, superseded session). */
void worker_sweep(struct worker *w);
/* Publishes the results of the batch and rings the main process's doorbell if it sleeps. */
void worker_flush(struct worker *w);

enum { WORKER_EXIT_MALFORMED = 3, HS_PER_TURN = 4 };

#endif
