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
 * borrowers have emptied the link, and the debt stops borrowing until it is repaid. The
 * token bucket itself, and its units, are qos_tb.h's. */
#include "vpn/qos.h"

#include "qos_tb.h"

enum {
    /* A level counts as wanting to borrow for this long after its last attempt. */
    HUNGRY_US = 300000,
};

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
    qos_tb_init(&l->tb, total_bps);
    l->last_us = now_us;
    for (int i = 0; i < QOS_PRIO_LEVELS; i++)
        l->hungry_until_us[i] = 0;
}

void qos_bucket_init_htb(struct qos_bucket *b, struct qos_link *link, uint64_t rate_bps,
                         uint64_t ceil_bps, uint64_t now_us)
{
    if (ceil_bps != 0 && ceil_bps < rate_bps)
        ceil_bps = rate_bps;
    qos_tb_init(&b->rate, rate_bps);
    qos_tb_init(&b->ceil, ceil_bps);
    b->last_us = now_us;
    b->link = link;
    b->prio = 0;
    b->borrowed_bytes = 0;
    b->dropped_bytes = 0;
    b->senders.epoch++;     /* a new epoch: no session has counted itself in it yet */
    b->senders.epoch_start_us = now_us;
    b->senders.now = b->senders.before = 0;
}

/* Brings the bucket's and its link's tokens up to now_us; returns the link's bucket, or NULL
 * when there is no link or it is unlimited. */
static struct qos_tb *refill(struct qos_bucket *b, uint64_t now_us)
{
    uint64_t elapsed = advance(&b->last_us, now_us);
    qos_tb_refill(&b->rate, elapsed);
    qos_tb_refill(&b->ceil, elapsed);
    if (!b->link || b->link->tb.rate_bps == 0)
        return NULL;
    qos_tb_refill(&b->link->tb, advance(&b->link->last_us, now_us));
    return &b->link->tb;
}

bool qos_bucket_contended(struct qos_bucket *b, uint64_t now_us)
{
    if (b->ceil.rate_bps == 0)
        return false;
    struct qos_tb *link = refill(b, now_us);
    return b->ceil.tokens < b->ceil.burst / 2 || (link && link->tokens < link->burst / 2);
}

bool qos_bucket_pass(struct qos_bucket *b, uint32_t len, uint64_t now_us)
{
    if (len == 0 || b->ceil.rate_bps == 0)
        return true;
    struct qos_tb *link = refill(b, now_us);

    int64_t cost = (int64_t)len * QOS_BITS_SCALE;
    if (b->rate.rate_bps != 0 && qos_tb_holds(&b->rate, cost)) {
        qos_tb_charge(&b->rate, cost);
        qos_tb_charge(&b->ceil, cost);
        if (link)
            qos_tb_charge(link, cost);
        return true;
    }
    bool may = qos_tb_holds(&b->ceil, cost);
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
        qos_tb_charge(&b->ceil, cost);
        if (link)
            qos_tb_charge(link, cost);
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
