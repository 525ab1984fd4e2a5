/* When the client's TUN thread waits for the reply to a lone packet, and for how long
 * (client/reply_wait.c): the window follows the replies caught, a client whose replies come
 * late stops waiting but for a probe now and then, and a batch under load or a lone packet
 * sent while datagrams stream in never waits. */
#include <criterion/criterion.h>

#include "../../client/reply_wait.h"

static struct reply_wait w;

static void setup(void)
{
    w = (struct reply_wait){ 0 };
}

TestSuite(reply_wait, .init = setup);

Test(reply_wait, first_lone_send_waits_the_longest_window)
{
    cr_assert_eq(reply_wait_window(&w, 1, 0), REPLY_WAIT_MAX_US);
    cr_assert_eq(reply_wait_window(&w, REPLY_WAIT_LONE_MAX, 0), REPLY_WAIT_MAX_US);
}

Test(reply_wait, nothing_sent_or_a_batch_under_load_never_waits)
{
    cr_assert_eq(reply_wait_window(&w, 0, 0), 0);
    cr_assert_eq(reply_wait_window(&w, REPLY_WAIT_LONE_MAX + 1, 0), 0);
    cr_assert_eq(reply_wait_window(&w, 64, 0), 0);
}

Test(reply_wait, window_follows_the_replies_caught)
{
    reply_wait_done(&w, true, 200);
    cr_assert_eq(reply_wait_window(&w, 1, 0), 200 * REPLY_WAIT_FACTOR);
    /* A moving average: one fast reply narrows the window by a quarter of the difference. */
    reply_wait_done(&w, true, 40);
    cr_assert_eq(w.delay_us, 160);
    cr_assert_eq(reply_wait_window(&w, 1, 0), 160 * REPLY_WAIT_FACTOR);
}

Test(reply_wait, window_is_bounded_both_ways)
{
    reply_wait_done(&w, true, 5);
    cr_assert_eq(reply_wait_window(&w, 1, 0), REPLY_WAIT_MIN_US);
    w = (struct reply_wait){ 0 };
    reply_wait_done(&w, true, 5000);   /* a reply caught late, at the end of a long window */
    cr_assert_eq(reply_wait_window(&w, 1, 0), REPLY_WAIT_MAX_US);
}

Test(reply_wait, a_far_server_stops_the_waiting_but_for_probes)
{
    for (int i = 0; i < REPLY_WAIT_MISSES; i++) {
        cr_assert_neq(reply_wait_window(&w, 1, 0), 0, "wait %d", i);
        reply_wait_done(&w, false, REPLY_WAIT_MAX_US);
    }
    int waits = 0;
    for (int i = 0; i < 10 * REPLY_WAIT_PROBE_EVERY; i++) {
        uint32_t us = reply_wait_window(&w, 1, 0);
        if (us) {
            cr_assert_eq(us, REPLY_WAIT_MAX_US, "a probe waits the longest window");
            waits++;
            reply_wait_done(&w, false, us);
        }
    }
    cr_assert_eq(waits, 10, "one probe per %d lone sends", REPLY_WAIT_PROBE_EVERY);
}

Test(reply_wait, a_probe_that_catches_a_reply_resumes_waiting)
{
    for (int i = 0; i < REPLY_WAIT_MISSES; i++)
        reply_wait_done(&w, false, REPLY_WAIT_MAX_US);
    cr_assert_eq(reply_wait_window(&w, 1, 0), 0);
    int i = 0;
    while (!reply_wait_window(&w, 1, 0))
        cr_assert_lt(++i, REPLY_WAIT_PROBE_EVERY);
    reply_wait_done(&w, true, 150);
    cr_assert_eq(reply_wait_window(&w, 1, 0), 150 * REPLY_WAIT_FACTOR);
    cr_assert_eq(reply_wait_window(&w, 1, 0), 150 * REPLY_WAIT_FACTOR);
}

/* A download: datagrams stream in to the main thread and the client's ACKs go out as lone
 * packets; none is waited for. When the stream stops, waiting resumes. */
Test(reply_wait, a_stream_coming_in_is_not_waited_for)
{
    uint64_t main_rx = 0;
    cr_assert_neq(reply_wait_window(&w, 1, main_rx), 0);
    for (int i = 0; i < 10; i++) {
        main_rx += 45;      /* a super-packet's worth of segments between two ACKs */
        cr_assert_eq(reply_wait_window(&w, 1, main_rx), 0, "ACK %d", i);
    }
    cr_assert_neq(reply_wait_window(&w, 1, main_rx), 0, "the stream stopped");
}

/* A reply that came after the window, taken by the main thread, is not a stream: the next
 * lone send still waits. */
Test(reply_wait, a_late_reply_taken_by_the_main_thread_is_not_a_stream)
{
    uint64_t main_rx = 0;
    cr_assert_neq(reply_wait_window(&w, REPLY_WAIT_LONE_MAX, main_rx), 0);
    reply_wait_done(&w, false, 0);
    main_rx += REPLY_WAIT_LONE_MAX;     /* the late replies */
    cr_assert_neq(reply_wait_window(&w, 1, main_rx), 0);
}
