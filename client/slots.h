/* The client's sessions: a few slots holding keys, counters and replay windows, shared by the
 * main thread (which makes, receives on and ends sessions) and the TUN thread (which seals
 * DATA with the session it is given).
 *
 * Concurrency:
 *   main thread   slots_install, slots_retire_previous, slots_drop, slots_find, slots_tick,
 *                 slots_wipe; reads and writes cur, prev and every session's rx
 *   TUN thread    slots_tx_begin ... slots_tx_end around each batch, and only the session
 *                 slots_tx_begin returned, in between
 *   both          a session's send_counter, with atomic fetch-and-add (both send)
 * A session the main thread stops using is released, and wiped only once the TUN thread has
 * been outside a batch since (tx_seq, a one-reader grace period): the TUN thread never seals
 * with a key being wiped (zero key: readable by anyone) nor with a slot already reused for
 * another session (its counter reset: a nonce used twice). */
#ifndef CLIENT_SLOTS_H
#define CLIENT_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/handshake.h"
#include "vpn/limits.h"
#include "vpn/replay.h"

enum {
    /* Current, previous (receiving until its rekey overlap ends), and room for the ones
     * released but not yet wiped while the TUN thread finishes a batch on one of them. */
    CLIENT_SESSION_SLOTS = 4,
};

struct client_session {
    bool live;                  /* installed and not yet released */
    bool released;              /* waiting to be wiped */
    uint32_t released_seq;      /* tx_seq when released */
    uint32_t id;
    uint8_t k_c2s[KEY_LEN];
    uint8_t k_s2c[KEY_LEN];
    uint64_t send_counter;      /* atomic: next counter to use */
    struct replay_window rx;    /* main thread */
    uint32_t ts_window_ms;      /* receiver step 6 tolerance: server's window + clock slack */
    uint16_t mtu;               /* the tunnel MTU pushed with it: segment size of TUN reads */
};

struct client_slots {
    struct client_session slot[CLIENT_SESSION_SLOTS];
    struct client_session *cur, *prev;  /* main thread; NULL when none */
    struct client_session *tx;          /* atomic: what the TUN thread seals with, or NULL */
    uint32_t tx_seq;                    /* atomic, TUN thread: odd while inside a batch */
};

/* Makes a fresh session current and the TUN thread's: keys from k, timestamp tolerance
 * ts_window_ms. The current one becomes the previous (still found by slots_find until
 * slots_retire_previous); an older previous is released. Returns NULL when every slot is
 * still in use (the TUN thread inside one batch across two handshakes; slots_available says
 * so beforehand). */
struct client_session *slots_install(struct client_slots *t, uint32_t id,
                                     const struct session_keys *k, uint32_t ts_window_ms,
                                     uint16_t mtu);

/* true when slots_install would find a free slot. */
bool slots_available(struct client_slots *t);

/* Releases the previous session: nothing is received on it any more. */
void slots_retire_previous(struct client_slots *t);

/* Releases every session; the TUN thread sends nothing until the next install. */
void slots_drop(struct client_slots *t);

/* The current or previous session with this id, or NULL. */
struct client_session *slots_find(const struct client_slots *t, uint32_t id);

/* Wipes the released sessions the TUN thread can no longer be using. */
void slots_tick(struct client_slots *t);

/* Wipes everything; the TUN thread must have stopped. */
void slots_wipe(struct client_slots *t);

/* TUN thread: the session to seal this batch with (or NULL), valid until slots_tx_end. */
static inline struct client_session *slots_tx_begin(struct client_slots *t)
{
    /* seq_cst with slots_install/slots_drop's store of tx and their load of tx_seq: either
     * they see this batch under way, or this load sees their new tx. */
    __atomic_add_fetch(&t->tx_seq, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&t->tx, __ATOMIC_SEQ_CST);
}

static inline void slots_tx_end(struct client_slots *t)
{
    __atomic_add_fetch(&t->tx_seq, 1, __ATOMIC_RELEASE);
}

#endif
