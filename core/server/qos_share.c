/* Fair shares of an upload bucket between the sessions that send through it (vpn/qos.h).
 *
 * Who sends is counted per bucket in epochs: a session that sent in this epoch or the last
 * one counts, so a device that goes quiet stops diluting the others' shares within two
 * epochs. A share refills at the bucket's ceiling over that count. Passing on spare capacity
 * (the bucket not contended) takes from the share but leaves no debt: using what nobody else
 * wanted is not held against a session once others want it. */
#include "vpn/qos.h"

#include "qos_tb.h"

/* Long enough to see every active sender (a packet a few milliseconds apart at the lowest
 * rates that matter), short enough that a departed one is forgotten quickly. */
enum { EPOCH_US = 100000 };

/* Counts s among b's senders; returns how many sessions send through b lately (>= 1). */
static uint32_t count_sender(struct qos_senders *c, struct qos_share *s, uint64_t now_us)
{
    uint64_t age = now_us >= c->epoch_start_us ? now_us - c->epoch_start_us : 2 * EPOCH_US;
    if (age >= EPOCH_US) {
        c->before = age < 2 * EPOCH_US ? c->now : 0;   /* an epoch with no sender in between */
        c->now = 0;
        c->epoch++;
        c->epoch_start_us = now_us;
    }
    if (s->epoch != c->epoch + 1) {
        s->epoch = c->epoch + 1;
        c->now++;
    }
    return c->now > c->before ? c->now : c->before;
}

void qos_share_reset(struct qos_share *s)
{
    s->tb.rate_bps = 0;
    s->tb.burst = s->tb.tokens = 0;
    s->last_us = 0;
    s->epoch = 0;
}

/* Keeps s's bucket at rate_bps, refilled to now_us. A new rate keeps the tokens there were
 * (within the new burst); a share that had none yet starts full. */
static void share_refill(struct qos_share *s, uint64_t rate_bps, uint64_t now_us)
{
    if (s->tb.rate_bps != rate_bps) {
        bool fresh = s->tb.rate_bps == 0;
        int64_t tokens = s->tb.tokens;
        qos_tb_init(&s->tb, rate_bps);
        if (!fresh && tokens < s->tb.tokens)
            s->tb.tokens = tokens;
        s->last_us = now_us;
    }
    qos_tb_refill(&s->tb, now_us > s->last_us ? now_us - s->last_us : 0);
    s->last_us = now_us;
}

bool qos_share_pass(struct qos_bucket *b, struct qos_share *s, uint32_t len, uint64_t now_us)
{
    if (len == 0 || b->ceil.rate_bps == 0)
        return true;
    uint32_t senders = count_sender(&b->senders, s, now_us);
    if (senders <= 1)
        return qos_bucket_pass(b, len, now_us);
    share_refill(s, b->ceil.rate_bps / senders, now_us);
    int64_t cost = (int64_t)len * QOS_BITS_SCALE;
    bool within = qos_tb_holds(&s->tb, cost);
    if (!within && qos_bucket_contended(b, now_us)) {
        b->dropped_bytes += len;
        return false;
    }
    if (!qos_bucket_pass(b, len, now_us))
        return false;
    qos_tb_charge(&s->tb, cost);
    if (!within && s->tb.tokens < 0)
        s->tb.tokens = 0;   /* spare capacity: no debt */
    return true;
}
