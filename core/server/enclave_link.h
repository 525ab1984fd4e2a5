/* The main process's end of the enclave boundary (include/vpn/enclave_ipc.h): starting
 * vpn-enclave, the shared rings, and the doorbells. */
#ifndef SERVER_ENCLAVE_LINK_H
#define SERVER_ENCLAVE_LINK_H

#include <sched.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include <unistd.h>

#include "vpn/enclave_ipc.h"
#include "vpn/keyfile.h"

struct server_config;

struct enclave_link {
    int workers;
    pid_t pid;                          /* the enclave supervisor */
    pid_t worker_pids[MAX_WORKERS];
    int ctl_fd;                         /* SOCK_SEQPACKET to the supervisor */
    int doorbell[MAX_WORKERS];          /* main's end of each worker's socketpair */
    struct worker_shm *shm[MAX_WORKERS];
    struct worker_rings rings[MAX_WORKERS];
    void *map;
    size_t map_len;
    int users;                          /* users the enclave loaded */
    char public_key[KEYFILE_B64_LEN + 1];
};

/* Starts the enclave with cfg's key and users files, to run as uid/gid (ENCLAVE_USER's) once
 * it has read them, and waits until it is ready (or failed: then -1 with its one-line reason
 * in why). */
int enclave_start(struct enclave_link *e, const struct server_config *cfg, int workers,
                  const char *enclave_path, uid_t uid, gid_t gid, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* Closes the channel (the enclave wipes its keys and exits), waits up to 2 s, then kills. */
void enclave_stop(struct enclave_link *e);

/* Handles one report from the supervisor (worker started/died, reload results). A user the
 * reload removed is passed to removed(). Returns false when the enclave itself is gone. */
bool enclave_handle_report(struct enclave_link *e, void (*removed)(const char *user, void *ctx),
                           void *ctx);

/* Asks the enclave to re-read the users file (SIGHUP); the result comes as a report. */
void enclave_reload_users(struct enclave_link *e);

/* Rings worker w's doorbell if it sleeps. Call after publishing a batch; thread-safe. */
static inline void enclave_wake_worker(struct enclave_link *e, int w)
{
    struct worker_ctl *ctl = &e->shm[w]->ctl;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ctl->worker_sleeping, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&ctl->worker_sleeping, 0, __ATOMIC_SEQ_CST)) {
        ssize_t n = write(e->doorbell[w], "m", 1);
        (void)n;    /* non-blocking: a full socket already holds a wake-up */
    }
}

/* Producer side of an in_* ring with *pending slots filled but unpublished: true when `need`
 * more fit. Otherwise the pending slots are published and the worker is woken and given the
 * CPU, up to `tries` times, before the caller drops: with more busy threads than cores a
 * worker is often just descheduled, and a brief yield costs far less than the TCP loss a drop
 * causes. */
static inline bool enclave_ring_room(struct enclave_link *e, int w, struct ring *r,
                                     uint32_t *pending, uint32_t need, int tries)
{
    for (int i = 0; ring_free(r) - *pending < need; i++) {
        if (i == tries)
            return false;
        if (*pending) {
            ring_produce_publish(r, *pending);
            *pending = 0;
        }
        enclave_wake_worker(e, w);
        sched_yield();
    }
    return true;
}

/* Publishes a producer thread's batch: for each worker with pending[w] filled slots in the
 * ring at offset `which` of struct worker_rings (offsetof(struct worker_rings, in_rx), ...),
 * makes them visible and rings the worker's doorbell if it sleeps. */
static inline void enclave_publish_batch(struct enclave_link *e, size_t which, uint32_t *pending)
{
    for (int w = 0; w < e->workers; w++) {
        if (!pending[w])
            continue;
        ring_produce_publish((struct ring *)((char *)&e->rings[w] + which), pending[w]);
        pending[w] = 0;
        enclave_wake_worker(e, w);
    }
}

/* The worker that owns a session id. */
static inline int enclave_worker_of(const struct enclave_link *e, uint32_t session_id)
{
    return (int)((session_id & (SESSION_SLOTS - 1)) % (uint32_t)e->workers);
}

#endif
