/* The main process's end of the enclave boundary (include/vpn/enclave_ipc.h, enclave_proto.h):
 * the shared rings and doorbells, which live as long as vpn-server, and the enclave processes
 * behind them, which the launcher starts and starts again when they die. */
#ifndef SERVER_ENCLAVE_LINK_H
#define SERVER_ENCLAVE_LINK_H

#include <sched.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "launcher.h"
#include "vpn/enclave_ipc.h"
#include "vpn/keyfile.h"

struct server_config;

enum enclave_state {
    ENCLAVE_DOWN,           /* none running; a start is due at retry_at_ms */
    ENCLAVE_STARTING,       /* asked the launcher; waiting for READY */
    ENCLAVE_READY,
};

/* What the enclave's reports mean for the control thread. */
struct enclave_events {
    /* A user removed, given a new token or disabled (why says which): its sessions end. */
    void (*user_ended)(const char *user, const char *why, void *ctx);
    /* A WireGuard device's peer removed from the users file or given a new key: its sessions
     * end (the enclave has already forgotten their keys). */
    void (*device_ended)(const char *user, const char *device, void *ctx);
    void (*lost)(void *ctx);        /* the enclave died: every session's keys are gone */
    void (*ready)(void *ctx);       /* an enclave (re)started and serves */
    void *ctx;
};

struct enclave_link {
    int workers;
    enum enclave_state state;
    pid_t pid;                          /* the current supervisor, 0 when none */
    pid_t worker_pids[MAX_WORKERS];
    int ctl_fd;                         /* reports of the current supervisor, or -1 */
    int shm_fd;                         /* the rings' memfd, kept to start a new enclave */
    int doorbell[MAX_WORKERS];          /* main's end of each worker's socketpair */
    int worker_bell[MAX_WORKERS];       /* the workers' ends, kept to start a new enclave */
    struct worker_shm *shm[MAX_WORKERS];
    struct worker_rings rings[MAX_WORKERS];
    void *map;
    size_t map_len;
    struct launcher launcher;
    int users;                          /* users the enclave loaded */
    /* Users file reloads answered by the enclave, and the last refusal's reason (vpnctl waits
     * for the count to move after asking for a reload). */
    unsigned users_reloads, users_reload_failures;
    char users_reload_error[SUP_TEXT_MAX];
    char public_key[KEYFILE_B64_LEN + 1];
    char wg_public_key[KEYFILE_B64_LEN + 1];    /* "" unless [wireguard] is enabled */
    /* restarts: counted, and delayed more while they keep failing quickly */
    unsigned restarts, quick_failures;
    unsigned worker_restarts[MAX_WORKERS];  /* by the supervisor while the enclave served */
    uint64_t started_ms, retry_at_ms;   /* monotonic */
    bool awaiting_exit;                 /* the supervisor's channel closed; the launcher has not
                                           reported its exit yet (it refuses a second start) */
};

/* Sets up the rings and doorbells, forks the launcher and starts the enclave with cfg's key
 * and users files, to run as uid/gid (ENCLAVE_USER's) once it has read them; waits until it
 * is ready (or failed: then -1 with its one-line reason in why). Call while still root,
 * before the privilege drop. */
int enclave_start(struct enclave_link *e, const struct server_config *cfg, int workers,
                  const char *enclave_path, uid_t uid, gid_t gid, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* Stops the enclave and the launcher and waits for both: no enclave process outlives this. */
void enclave_stop(struct enclave_link *e);

/* Control thread: a report from the supervisor is waiting on ctl_fd (or it hung up). */
void enclave_handle_report(struct enclave_link *e, const struct enclave_events *ev);
/* Control thread: a message from the launcher is waiting on launcher.fd. Returns false when
 * the launcher itself is gone (nothing can restart the enclave any more). */
bool enclave_handle_launcher(struct enclave_link *e, const struct enclave_events *ev);
/* Control thread, every loop turn: starts a new enclave when one is due. */
void enclave_tick(struct enclave_link *e, uint64_t now_ms);

/* Asks for the users file to be read again (SIGHUP); the result comes as a report. */
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

/* Whether a producer thread's batch holds anything for some worker (pending[w] filled
 * slots, not yet published). */
static inline bool enclave_batch_pending(const struct enclave_link *e, const uint32_t *pending)
{
    for (int w = 0; w < e->workers; w++)
        if (pending[w])
            return true;
    return false;
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
