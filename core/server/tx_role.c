/* The TX role's token and its hand-over (see tx_role.h).
 *
 * Workers ring the TX thread's doorbell after publishing results only when its "main_sleeping"
 * flag is set. A holder clears the flags while it holds the role (no doorbell is needed: it is
 * looking), and sets them again before it lets go. What a worker publishes is then never left
 * unseen: a worker that read a cleared flag published before the holder set it again, so the
 * holder's look after letting go finds it and takes the role back (or a new holder does); a
 * worker that read the flag set rings, and the TX thread wakes and takes the role. */
#include "tx_role.h"

#include <sched.h>

#include "vpn/spin.h"

static void set_sleeping(struct server *srv, uint32_t v)
{
    for (int w = 0; w < srv->enclave.workers; w++)
        __atomic_store_n(&srv->enclave.shm[w]->ctl.main_sleeping, v, __ATOMIC_SEQ_CST);
}

static bool results_pending(struct server *srv)
{
    for (int w = 0; w < srv->enclave.workers; w++)
        if (ring_available(&srv->enclave.rings[w].out_enc) ||
            ring_available(&srv->enclave.rings[w].out_dec))
            return true;
    return false;
}

/* Every worker's data and handshake rings empty, both ways (a snapshot). */
static bool pipeline_idle(const struct server *srv)
{
    for (int w = 0; w < srv->enclave.workers; w++) {
        const struct worker_rings *r = &srv->enclave.rings[w];
        if (ring_used_hint(&r->in_rx) || ring_used_hint(&r->in_tun) ||
            ring_used_hint(&r->in_hs) || ring_used_hint(&r->out_dec) ||
            ring_used_hint(&r->out_enc))
            return false;
    }
    return true;
}

bool tx_role_borrow(struct server *srv, uint64_t *last_batch_ns, uint64_t now_ns, int batch,
                    bool data)
{
    if (batch <= 0)
        return false;
    bool quiet = borrow_after_quiet(last_batch_ns, now_ns);
    return quiet && data && batch <= BORROW_BATCH_MAX && pipeline_idle(srv) &&
           tx_role_take(srv);
}

bool tx_role_take(struct server *srv)
{
    if (!role_take(&srv->tx_role))
        return false;
    set_sleeping(srv, 0);
    return true;
}

uint32_t tx_role_run(struct server *srv, uint32_t wait_us)
{
    uint32_t taken = 0;
    do {
        uint64_t deadline = wait_us ? spin_clock_ns() + (uint64_t)wait_us * 1000u : 0;
        for (;;) {
            uint32_t n = tx_pass(srv);
            taken += n;
            if (n)
                continue;
            if (taken || spin_clock_ns() >= deadline)
                break;
            sched_yield();  /* the worker may be waiting for this CPU */
        }
        set_sleeping(srv, 1);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        role_release(&srv->tx_role);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        wait_us = 0;
    } while (results_pending(srv) && tx_role_take(srv));
    return taken;
}
