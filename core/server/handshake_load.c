/* The handshake load meter (see handshake_load.h). */
#include "handshake_load.h"

/* Counts one request in the sliding window; returns the requests of the last second. */
static uint32_t count(struct handshake_load *l, uint64_t now_ms)
{
    uint64_t slot = now_ms / GUARD_SLOT_MS;
    if (slot != l->window_slot) {
        uint64_t gap = slot - l->window_slot;
        for (uint64_t i = 1; i <= gap && i <= GUARD_WINDOW_SLOTS; i++)
            l->window[(l->window_slot + i) % GUARD_WINDOW_SLOTS] = 0;
        l->window_slot = slot;
    }
    l->window[slot % GUARD_WINDOW_SLOTS]++;
    uint32_t sum = 0;
    for (int i = 0; i < GUARD_WINDOW_SLOTS; i++)
        sum += l->window[i];
    return sum;
}

void handshake_load_note(struct handshake_load *l, bool busy, uint64_t now_ms)
{
    if (count(l, now_ms) > GUARD_LOAD_RATE || busy)
        l->loaded_until_ms = now_ms + GUARD_LOAD_HOLD_MS;
}

bool handshake_load_active(const struct handshake_load *l, uint64_t now_ms)
{
    return now_ms < l->loaded_until_ms;
}

uint64_t handshake_load_until(const struct handshake_load *l)
{
    return l->loaded_until_ms;
}
