/* Upload policer: HTB's borrowing rules applied to packets that arrive from clients and are
 * about to be written to the TUN (this kernel has no ingress qdisc or IFB to shape them).
 *
 * Each session has a guaranteed bucket (the class's rate) and a ceiling bucket (its ceil);
 * the server has one link bucket (total_bandwidth). A packet passes
 *   - on its guarantee when the guaranteed bucket holds it: guaranteed, ceiling and link
 *     buckets are all charged, so guaranteed traffic uses up the capacity borrowers share;
 *   - else by borrowing when the ceiling bucket and the link both hold it: those two are
 *     charged and the guarantee is left alone (so that borrowing never eats into the
 *     session's own guarantee later, which HTB's negative tokens would do);
 *   - else it is dropped: a policer cannot queue.
 * A charged bucket may go into debt down to -burst: guaranteed traffic keeps flowing when
 * borrowers have emptied the link, and the debt stops borrowing until it is repaid.
 *
 * Units: tokens are millionths of a bit, so a refill adds elapsed_us * rate_bps exactly and
 * no rounding ever accumulates, whatever the packet rate. At the 100 Gbit/s cap a burst is
 * 2e15 and a 10 s refill 1e18, both inside int64_t. */
#include "vpn/qos.h"

#include "vpn/limits.h"

enum {
    /* Bursts hold 150 ms at the rate: a policer drops instead of queuing, and TCP's sending
     * bursts (a window released by one ACK, ACK compression on the way) need headroom of
     * about a round trip's worth of data, or the flow loses packets far below its rate
     * (Flach et al., "An Internet-Wide Analysis of Traffic Policing", SIGCOMM 2016). A
     * policer's burst adds no queueing delay; it only lets a flow run ahead briefly. With
     * 20 ms a 10 Mbit/s upload measured 1 Mbit/s here. */
    BURST_US = QOS_POLICER_BURST_US,
    /* ...but never less than about ten full packets (an initial TCP window). */
    BURST_MIN_BYTES = 10 * MTU_MAX,
    /* Below this many microseconds elapsed, elapsed * rate cannot overflow; above it the
     * refill divides first. */
    REFILL_FAST_US = 10000000,
    /* A level counts as wanting to borrow for this long after its last attempt. */
    HUNGRY_US = 300000,
};

static const uint64_t RATE_MAX_BPS = 100000000000ULL;  /* parse_bandwidth's cap */
static const int64_t BITS_SCALE = 8000000;             /* millionths of a bit per byte */

static void tb_init(struct qos_tb *tb, uint64_t rate_bps)
{
    if (rate_bps > RATE_MAX_BPS)
        rate_bps = RATE_MAX_BPS;
    tb->rate_bps = rate_bps;
    int64_t burst = (int64_t)(rate_bps * BURST_US);
    if (burst < (int64_t)BURST_MIN_BYTES * BITS_SCALE)
        burst = (int64_t)BURST_MIN_BYTES * BITS_SCALE;
    tb->burst = burst;
    tb->tokens = burst;
}

static void tb_refill(struct qos_tb *tb, uint64_t elapsed_us)
{
    if (tb->rate_bps == 0 || elapsed_us == 0)
        return;
    uint64_t room = (uint64_t)(tb->burst - tb->tokens);    /* 0 .. 2 * burst */
    /* A long idle period (or a clock that jumped) would overflow the product: fill up. */
    if (elapsed_us >= REFILL_FAST_US && elapsed_us > room / tb->rate_bps) {
        tb->tokens = tb->burst;
        return;
    }
    uint64_t add = elapsed_us * tb->rate_bps;
    tb->tokens = add >= room ? tb->burst : tb->tokens + (int64_t)add;
}

/* Whether cost fits. A packet bigger than the whole burst (cannot come from a TUN of MTU <=
 * MTU_MAX, but a caller may have jumbo frames) needs a full bucket rather than starving. */
static bool tb_holds(const struct qos_tb *tb, int64_t cost)
{
    return tb->tokens >= (cost < tb->burst ? cost : tb->burst);
}

static void tb_charge(struct qos_tb *tb, int64_t cost)
{
    tb->tokens -= cost;
    if (tb->tokens < -tb->burst)
        tb->tokens = -tb->burst;
}

/* Elapsed time since *last, moving *last to now; a clock that went backwards resynchronises
 * without refilling. */
static uint64_t advance(uint64_t *last, uint64_t now_us)
{
    uint64_t elapsed = now_us > *last ? now_us - *last : 0;
    *last = now_us;
    return elapsed;
}

void qos_link_init(struct qos_link *l, uint64_t total_bps, uint64_t now_us)
{
    tb_init(&l->tb, total_bps);
    l->last_us = now_us;
    for (int i = 0; i < QOS_PRIO_LEVELS; i++)
        l->hungry_until_us[i] = 0;
}

void qos_bucket_init_htb(struct qos_bucket *b, struct qos_link *link, uint64_t rate_bps,
                         uint64_t ceil_bps, uint64_t now_us)
{
    if (ceil_bps != 0 && ceil_bps < rate_bps)
        ceil_bps = rate_bps;
    tb_init(&b->rate, rate_bps);
    tb_init(&b->ceil, ceil_bps);
    b->last_us = now_us;
    b->link = link;
    b->prio = 0;
    b->borrowed_bytes = 0;
    b->dropped_bytes = 0;
}

bool qos_bucket_pass(struct qos_bucket *b, uint32_t len, uint64_t now_us)
{
    if (len == 0 || b->ceil.rate_bps == 0)
        return true;

    uint64_t elapsed = advance(&b->last_us, now_us);
    tb_refill(&b->rate, elapsed);
    tb_refill(&b->ceil, elapsed);
    struct qos_tb *link = NULL;
    if (b->link && b->link->tb.rate_bps != 0) {
        link = &b->link->tb;
        tb_refill(link, advance(&b->link->last_us, now_us));
    }

    int64_t cost = (int64_t)len * BITS_SCALE;
    if (b->rate.rate_bps != 0 && tb_holds(&b->rate, cost)) {
        tb_charge(&b->rate, cost);
        tb_charge(&b->ceil, cost);
        if (link)
            tb_charge(link, cost);
        return true;
    }
    bool may = tb_holds(&b->ceil, cost);
    if (may && link) {
        /* HTB lends the spare to the lowest prio number first. A policer cannot make a packet
         * wait for its turn, so a level that wanted to borrow in the last HUNGRY_US keeps the
         * lower half of the link's bucket for itself: lower levels borrow only from what it
         * leaves above that. */
        b->link->hungry_until_us[b->prio] = now_us + HUNGRY_US;
        int64_t reserve = 0;
        for (int p = 0; p < b->prio; p++)
            if (b->link->hungry_until_us[p] > now_us)
                reserve = link->burst / 2;
        may = link->tokens - reserve >= (cost < link->burst ? cost : link->burst);
    }
    if (may) {
        tb_charge(&b->ceil, cost);
        if (link)
            tb_charge(link, cost);
        b->borrowed_bytes += len;
        return true;
    }
    b->dropped_bytes += len;
    return false;
}

void qos_bucket_set_prio(struct qos_bucket *b, int prio)
{
    b->prio = (uint8_t)(prio < 0 ? 0 : prio >= QOS_PRIO_LEVELS ? QOS_PRIO_LEVELS - 1 : prio);
}
