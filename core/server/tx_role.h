/* The TX role: taking the workers' results (sealed datagrams to UDP, decrypted packets to the
 * TUN, events to the control thread). One thread holds it at a time; its state (the UDP batch,
 * the TUN coalescer, the upload policers, the sessions' rx counters) belongs to the role, not
 * to a thread.
 *
 * The TX thread holds it whenever it is awake. When the RX or TUN thread has just handed a
 * worker a packet or two and the role is free (the TX thread asleep), it takes the role and
 * waits a moment for the result, which it then sends on itself: a packet's walk through the
 * server then wakes two threads instead of three (docs/PERFORMANCE.md, "Latency"). Under load
 * the TX thread is awake and holds the role, the take fails, and nothing changes. */
#ifndef SERVER_TX_ROLE_H
#define SERVER_TX_ROLE_H

#include <stdint.h>

#include "server.h"

/* The RX and TUN threads borrow the role after handing the workers at most BORROW_BATCH_MAX
 * packets (more is load: the TX thread is awake), and wait up to BORROW_WAIT_US for the first
 * result (a worker's wake-up and one AEAD operation take tens of microseconds here).
 *
 * Only when the batch came after BORROW_QUIET_US without one: packets that come alone (a
 * ping, a keystroke, a game's updates) are worth carrying through, but small batches back to
 * back are a flow, and a borrower that waits for its worker, or is preempted holding the role,
 * holds up every other session's results meanwhile (under another client's load, a ping's
 * median fell from 0.93-1.07 to 0.73-0.78 ms without the borrowing; docs/PERFORMANCE.md). */
enum { BORROW_BATCH_MAX = 4, BORROW_WAIT_US = 200, BORROW_QUIET_US = 500 };

/* Whether a batch at now_ns came after a quiet spell since the previous one (*last_ns, which
 * it then becomes). For each non-empty batch of the calling thread or role. */
static inline bool borrow_after_quiet(uint64_t *last_ns, uint64_t now_ns)
{
    bool quiet = now_ns - *last_ns >= (uint64_t)BORROW_QUIET_US * 1000u;
    *last_ns = now_ns;
    return quiet;
}

/* The borrowing rule, for the RX and TUN threads once per non-empty batch of `batch` packets
 * (`data`: some of them went to a worker's data ring, not yet published): true when the
 * caller took the role and must tx_role_run() after publishing. It borrows for a small batch
 * after a quiet spell (borrow_after_quiet, which this call keeps up to date) and only while
 * every worker's rings are empty: a worker with packets queued ahead of ours answers late, and
 * a result flow would make the borrower the TX thread, holding the role (and not reading its
 * own socket or device) while other sessions' results wait. Under another client's load the
 * borrowers held the role for 0.3 ms per borrow, yielding to busy workers. */
bool tx_role_borrow(struct server *srv, uint64_t *last_batch_ns, uint64_t now_ns, int batch,
                    bool data);

/* Before any thread starts. */
void tx_init(struct server *srv);

/* With the role held, by an RCU reader thread holding no RCU references: one pass over every
 * worker's result rings; returns the results taken (tx_thread.c). */
uint32_t tx_pass(struct server *srv);

/* Takes the role if it is free: true when the caller now holds it and must tx_role_run(). A
 * borrower takes it before it publishes its packets, so that the worker sees the role held and
 * rings nobody. */
bool tx_role_take(struct server *srv);

/* With the role held: passes until nothing is left, waiting up to wait_us for a first result;
 * then announces to the workers that their results need a doorbell again and lets the role
 * go (taking it back if results came meanwhile). Returns the results taken. */
uint32_t tx_role_run(struct server *srv, uint32_t wait_us);

#endif
