/* When and how long the TUN thread waits for a reply (see reply_wait.h). */
#include "reply_wait.h"

uint32_t reply_wait_window(struct reply_wait *w, int sent, uint64_t main_rx)
{
    bool streaming = main_rx - w->main_rx > REPLY_WAIT_STREAM;
    w->main_rx = main_rx;
    if (sent <= 0 || sent > REPLY_WAIT_LONE_MAX || streaming)
        return 0;
    if (w->misses >= REPLY_WAIT_MISSES) {
        if (++w->skipped < REPLY_WAIT_PROBE_EVERY)
            return 0;
        w->skipped = 0;
        return REPLY_WAIT_MAX_US;   /* the probe: are replies near again? */
    }
    if (!w->delay_us)
        return REPLY_WAIT_MAX_US;
    uint32_t us = w->delay_us * REPLY_WAIT_FACTOR;
    if (us < REPLY_WAIT_MIN_US)
        return REPLY_WAIT_MIN_US;
    return us > REPLY_WAIT_MAX_US ? REPLY_WAIT_MAX_US : us;
}

void reply_wait_done(struct reply_wait *w, bool caught, uint32_t delay_us)
{
    if (!caught) {
        if (w->misses < REPLY_WAIT_MISSES)
            w->misses++;
        return;
    }
    w->misses = 0;
    w->skipped = 0;
    /* An average over about four replies: one slow reply widens the window for a while,
     * one fast one does not shut it. */
    w->delay_us = w->delay_us ? (3 * w->delay_us + delay_us) / 4 : delay_us;
}
