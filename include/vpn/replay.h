/* Replay window of received counters, RFC 6479 style: a ring of 64-bit blocks, slid by
 * clearing whole blocks, so checking and marking cost O(1) whatever the jump.
 * Single-threaded: owned by whoever decrypts the session's packets. */
#ifndef VPN_REPLAY_H
#define VPN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/limits.h"

enum {
    REPLAY_BLOCKS = REPLAY_WINDOW_COUNTERS / 64,
    /* Counters behind the greatest one that are still tracked: one block is the spare that
     * the sliding clears, so the usable window is one block smaller than the bitmap. */
    REPLAY_WINDOW_SIZE = REPLAY_WINDOW_COUNTERS - 64,
};

struct replay_window {
    uint64_t greatest;          /* greatest counter marked so far */
    bool any;                   /* false until the first counter is marked */
    uint64_t bitmap[REPLAY_BLOCKS];
};

void replay_init(struct replay_window *w);

/* true when counter is new: not above the rekey limit, not older than the window, not seen. */
bool replay_check(const struct replay_window *w, uint64_t counter);

/* Records counter as seen; call only after the packet authenticated (PROTOCOL.md step 7). */
void replay_mark(struct replay_window *w, uint64_t counter);

#endif
