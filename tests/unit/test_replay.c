/* Replay window edge cases (PROTOCOL.md receiver step 4, RFC 6479). */
#include "testutil.h"
#include "vpn/replay.h"

static bool accept(struct replay_window *w, uint64_t c)
{
    if (!replay_check(w, c))
        return false;
    replay_mark(w, c);
    return true;
}

Test(replay, first_counter_zero_then_duplicate)
{
    struct replay_window w;
    replay_init(&w);
    cr_assert(accept(&w, 0));
    cr_assert_not(accept(&w, 0));
    cr_assert(accept(&w, 1));
    cr_assert_not(accept(&w, 1));
}

Test(replay, reordering_inside_window_is_tolerated)
{
    struct replay_window w;
    replay_init(&w);
    cr_assert(accept(&w, 100));
    for (uint64_t c = 0; c < 100; c++)
        cr_assert(accept(&w, c), "counter %lu", (unsigned long)c);
    for (uint64_t c = 0; c <= 100; c++)
        cr_assert_not(accept(&w, c));
}

Test(replay, window_is_at_least_2048)
{
    struct replay_window w;
    replay_init(&w);
    cr_assert(accept(&w, 5000));
    cr_assert(accept(&w, 5000 - 2048));
    cr_assert(accept(&w, 5000 - REPLAY_WINDOW_SIZE));
    cr_assert_not(accept(&w, 5000 - REPLAY_WINDOW_SIZE - 1), "older than the window");
}

Test(replay, check_does_not_mark)
{
    struct replay_window w;
    replay_init(&w);
    cr_assert(replay_check(&w, 7));
    cr_assert(replay_check(&w, 7));
    replay_mark(&w, 7);
    cr_assert_not(replay_check(&w, 7));
}

Test(replay, big_jump_clears_old_bits)
{
    struct replay_window w;
    replay_init(&w);
    for (uint64_t c = 0; c < 200; c++)
        cr_assert(accept(&w, c));
    /* Jump far ahead: the bits of 0..199 must not be mistaken for counters of the new
     * window that land in the same blocks. */
    uint64_t base = 1000000;
    cr_assert(accept(&w, base + REPLAY_WINDOW_COUNTERS));
    for (uint64_t c = base + REPLAY_WINDOW_COUNTERS - 100; c < base + REPLAY_WINDOW_COUNTERS; c++)
        cr_assert(accept(&w, c), "counter %lu", (unsigned long)c);
    /* Moving forward one block at a time keeps what is still inside the window. */
    cr_assert(accept(&w, base + REPLAY_WINDOW_COUNTERS + 64));
    cr_assert_not(accept(&w, base + REPLAY_WINDOW_COUNTERS - 1));
}

Test(replay, sliding_by_exactly_one_window)
{
    struct replay_window w;
    replay_init(&w);
    for (uint64_t c = 0; c < 3 * REPLAY_WINDOW_COUNTERS; c += 3)
        cr_assert(accept(&w, c));
    for (uint64_t c = 3 * REPLAY_WINDOW_COUNTERS - REPLAY_WINDOW_SIZE; c < 3 * REPLAY_WINDOW_COUNTERS; c++)
        cr_assert_eq(accept(&w, c), c % 3 != 0, "counter %lu", (unsigned long)c);
}

Test(replay, limit_counter_refused)
{
    struct replay_window w;
    replay_init(&w);
    cr_assert_not(replay_check(&w, 1ULL << 60));
    cr_assert_not(replay_check(&w, UINT64_MAX));
    cr_assert(accept(&w, (1ULL << 60) - 1));
}
