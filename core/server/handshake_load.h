/* Whether the server is under handshake load, as WireGuard decides it (whitepaper 5.3 and
 * 5.4.7; the kernel's receive.c holds load for a second after its handshake queue was an
 * eighth full): more than GUARD_LOAD_RATE handshakes a second, or a caller that says a worker
 * is busy, puts the server under load for GUARD_LOAD_HOLD_MS. Shared by the guards of our
 * own port (handshake_guard.h) and the WireGuard port (wg_guard.h), each with its own meter.
 * A zeroed struct is a meter that has seen nothing. One thread (the RX thread); no locks. */
#ifndef SERVER_HANDSHAKE_LOAD_H
#define SERVER_HANDSHAKE_LOAD_H

#include <stdbool.h>
#include <stdint.h>

enum guard_tuning {
    GUARD_LOAD_RATE = 500,          /* requests per second above which the server is loaded */
    GUARD_LOAD_HOLD_MS = 1000,      /* how long load lasts after it was last seen */
    GUARD_WINDOW_SLOTS = 10,        /* the rate is counted in 10 slots of 100 ms */
    GUARD_SLOT_MS = 100,
};

struct handshake_load {
    uint64_t loaded_until_ms;
    uint32_t window[GUARD_WINDOW_SLOTS];
    uint64_t window_slot;           /* index of the newest slot (ms / GUARD_SLOT_MS) */
};

/* Counts one handshake at now_ms (monotonic); busy: the caller sees load (a ring filling). */
void handshake_load_note(struct handshake_load *l, bool busy, uint64_t now_ms);

/* Whether the server counts as under load at now_ms. */
bool handshake_load_active(const struct handshake_load *l, uint64_t now_ms);
/* When the load seen so far ends (monotonic ms; in the past: none). */
uint64_t handshake_load_until(const struct handshake_load *l);

#endif
