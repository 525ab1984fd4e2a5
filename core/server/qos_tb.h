/* The token bucket under the upload policers (qos_bucket.c) and their fair shares
 * (qos_share.c). Tokens are millionths of a bit, so a refill adds elapsed_us * rate_bps exactly
 * and no rounding ever accumulates, whatever the packet rate. At the 100 Gbit/s cap a burst
 * is 3e16 and a 10 s refill 1e18, both inside int64_t. */
#ifndef SERVER_QOS_TB_H
#define SERVER_QOS_TB_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/limits.h"
#include "vpn/qos.h"

enum {
    /* Bursts hold QOS_POLICER_BURST_US at the rate: a policer drops instead of queuing, and
     * TCP's sending bursts (a window released by one ACK, ACK compression on the way) need
     * headroom of about a round trip's worth of data, or the flow loses packets far below
     * its rate (Flach et al., "An Internet-Wide Analysis of Traffic Policing", SIGCOMM 2016).
     * A policer's burst adds no queueing delay; it only lets a flow run ahead briefly. With
     * 20 ms a 10 Mbit/s upload measured 1 Mbit/s here. */
    QOS_TB_BURST_US = QOS_POLICER_BURST_US,
    /* ...but never less than about ten full packets (an initial TCP window). */
    QOS_TB_BURST_MIN_BYTES = 10 * MTU_MAX,
    /* Below this many microseconds elapsed, elapsed * rate cannot overflow; above it the
     * refill fills up or divides first. */
    QOS_TB_REFILL_FAST_US = 10000000,
};

static const uint64_t QOS_RATE_MAX_BPS = 100000000000ULL;  /* parse_bandwidth's cap */
static const int64_t QOS_BITS_SCALE = 8000000;             /* millionths of a bit per byte */

/* Full, at rate_bps (capped at QOS_RATE_MAX_BPS). */
static inline void qos_tb_init(struct qos_tb *tb, uint64_t rate_bps)
{
    if (rate_bps > QOS_RATE_MAX_BPS)
        rate_bps = QOS_RATE_MAX_BPS;
    tb->rate_bps = rate_bps;
    int64_t burst = (int64_t)(rate_bps * QOS_TB_BURST_US);
    if (burst < (int64_t)QOS_TB_BURST_MIN_BYTES * QOS_BITS_SCALE)
        burst = (int64_t)QOS_TB_BURST_MIN_BYTES * QOS_BITS_SCALE;
    tb->burst = burst;
    tb->tokens = burst;
}

static inline void qos_tb_refill(struct qos_tb *tb, uint64_t elapsed_us)
{
    if (tb->rate_bps == 0 || elapsed_us == 0)
        return;
    uint64_t room = (uint64_t)(tb->burst - tb->tokens);    /* 0 .. 2 * burst */
    /* A long idle period (or a clock that jumped) would overflow the product: fill up. */
    if (elapsed_us >= QOS_TB_REFILL_FAST_US && elapsed_us > room / tb->rate_bps) {
        tb->tokens = tb->burst;
        return;
    }
    uint64_t add = elapsed_us * tb->rate_bps;
    tb->tokens = add >= room ? tb->burst : tb->tokens + (int64_t)add;
}

/* Whether cost fits. A packet bigger than the whole burst (cannot come from a TUN of MTU <=
 * MTU_MAX, but a caller may have jumbo frames) needs a full bucket rather than starving. */
static inline bool qos_tb_holds(const struct qos_tb *tb, int64_t cost)
{
    return tb->tokens >= (cost < tb->burst ? cost : tb->burst);
}

/* Takes cost, going into debt down to -burst at most. */
static inline void qos_tb_charge(struct qos_tb *tb, int64_t cost)
{
    tb->tokens -= cost;
    if (tb->tokens < -tb->burst)
        tb->tokens = -tb->burst;
}

#endif
