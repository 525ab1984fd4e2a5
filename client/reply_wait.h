/* Waiting for the reply to a lone packet, and for how long.
 *
 * When the TUN thread has sent a lone packet (a ping, a keystroke, a DNS query) to a server
 * nearby, the answer comes back within a few hundred microseconds. Left to the kernel, it wakes
 * the main thread, often on a CPU that has gone idle, which costs more than the whole round
 * trip's work (docs/PERFORMANCE.md, "Latency"). Instead the TUN thread borrows the receive role
 * (client.h) and looks at the UDP socket, giving its CPU away at each look, until the reply
 * comes or the window closes; then it sleeps as before.
 *
 * The window adapts: it is a few times the delay of recent replies, and a client whose replies
 * do not come within the longest window (a server across the internet) stops waiting, but for
 * one probe every REPLY_WAIT_PROBE_EVERY lone sends. Under load nothing waits: a batch of more
 * than REPLY_WAIT_LONE_MAX packets is not lone, and while datagrams stream in unasked (more
 * than REPLY_WAIT_STREAM taken by the main thread since the last lone send: a download, whose
 * ACKs go out as lone packets) the main thread is awake and the waits would only take its
 * batches from it, then leave it asleep until the watch resumes.
 *
 * TUN thread only; no clock or socket here (datapath.c does the waiting). */
#ifndef CLIENT_REPLY_WAIT_H
#define CLIENT_REPLY_WAIT_H

#include <stdbool.h>
#include <stdint.h>

enum {
    REPLY_WAIT_MAX_US = 1000,       /* the longest wait, and the first one's */
    REPLY_WAIT_MIN_US = 100,
    REPLY_WAIT_FACTOR = 3,          /* window = this many times the recent reply delay */
    REPLY_WAIT_MISSES = 8,          /* consecutive empty waits before waiting stops ... */
    REPLY_WAIT_PROBE_EVERY = 64,    /* ... but for one lone send in this many */
    REPLY_WAIT_LONE_MAX = 4,        /* packets in a batch that is still "lone" */
    REPLY_WAIT_STREAM = 2 * REPLY_WAIT_LONE_MAX,    /* more datagrams than lone sends' replies */
};

struct reply_wait {
    uint32_t delay_us;      /* recent delay of a caught reply (a moving average), 0: none */
    uint32_t misses;        /* consecutive waits that caught nothing */
    uint32_t skipped;       /* lone sends not waited for since waiting stopped or probed */
    uint64_t main_rx;       /* the main thread's datagram count at the last call */
};

/* After sending `sent` packets, with main_rx datagrams taken by the main thread so far: how
 * long to wait for a reply, in microseconds; 0: do not. */
uint32_t reply_wait_window(struct reply_wait *w, int sent, uint64_t main_rx);

/* The wait's outcome: a datagram caught after delay_us, or nothing within the window. */
void reply_wait_done(struct reply_wait *w, bool caught, uint32_t delay_us);

#endif
