/* Sliding-window replay protection (RFC 6479), as WireGuard's counter validation does it:
 * block index = counter / 64, bit = counter % 64; moving forward clears the blocks passed over
 * (at most all of them), so the cost does not depend on the size of the jump. */
#include "vpn/replay.h"

#include <string.h>

static const uint64_t COUNTER_LIMIT = 1ULL << REKEY_AFTER_MESSAGES_LOG2;

void replay_init(struct replay_window *w)
{
    memset(w, 0, sizeof(*w));
}

bool replay_check(const struct replay_window *w, uint64_t counter)
{
    if (counter >= COUNTER_LIMIT)
        return false;
    if (!w->any || counter > w->greatest)
        return true;
    if (w->greatest - counter > REPLAY_WINDOW_SIZE)
        return false;
    uint64_t block = (counter >> 6) & (REPLAY_BLOCKS - 1);
    return !(w->bitmap[block] & (1ULL << (counter & 63)));
}

void replay_mark(struct replay_window *w, uint64_t counter)
{
    if (!w->any || counter > w->greatest) {
        uint64_t to = counter >> 6;
        if (!w->any) {
            memset(w->bitmap, 0, sizeof(w->bitmap));
        } else {
            uint64_t from = w->greatest >> 6;
            uint64_t n = to - from;
            if (n > REPLAY_BLOCKS)
                n = REPLAY_BLOCKS;
            for (uint64_t i = 1; i <= n; i++)
                w->bitmap[(from + i) & (REPLAY_BLOCKS - 1)] = 0;
        }
        w->greatest = counter;
        w->any = true;
    }
    w->bitmap[(counter >> 6) & (REPLAY_BLOCKS - 1)] |= 1ULL << (counter & 63);
}
