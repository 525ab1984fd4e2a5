/* Upload policies: chosen from the configuration, published under a seqcount (see
 * upload_policy.h). */
#include "upload_policy.h"

#include <string.h>

#include "vpn/qos.h"
#include "vpn/server_config.h"

void upload_policy_for(const struct server_config *cfg, bool qos_active, const char *username,
                       struct upload_policy *out)
{
    memset(out, 0, sizeof(*out));
    out->user_slot = -1;
    if (!cfg->qos_enabled || !qos_active)
        return;     /* off, or tc refused: no QoS at all */
    out->limited = true;
    int i = server_config_user_index(cfg, username);
    if (i >= 0 && cfg->users[i].class_index >= 0) {
        const struct qos_class *c = &cfg->classes[cfg->users[i].class_index];
        out->user_slot = i;
        out->rate_bps = c->rate_bps;
        out->ceil_bps = c->ceil_bps;
        out->prio = (uint8_t)c->priority;
        return;
    }
    out->shared_default = true;
}

void upload_link_policy_for(const struct server_config *cfg, bool qos_active,
                            struct upload_link_policy *out)
{
    memset(out, 0, sizeof(*out));
    out->limited = cfg->qos_enabled && qos_active;
    out->total_bps = cfg->total_bandwidth_bps;
    out->default_rate_bps = cfg->default_rate_bps;
    out->default_ceil_bps = cfg->default_ceil_bps;
}

/* The seqcount: a writer makes seq odd, writes, makes it even again; a reader retries while it
 * sees an odd count or a count that moved during its copy. The copies are byte-wise relaxed
 * atomics, so that nothing is a data race even on 32-bit ARM. */
static void write_locked(uint32_t *seq, void *dst, const void *src, size_t n)
{
    uint32_t s = __atomic_load_n(seq, __ATOMIC_RELAXED);
    __atomic_store_n(seq, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (size_t i = 0; i < n; i++)
        __atomic_store_n((uint8_t *)dst + i, ((const uint8_t *)src)[i], __ATOMIC_RELAXED);
    __atomic_store_n(seq, s + 2, __ATOMIC_RELEASE);
}

static bool read_if_changed(const uint32_t *seq, uint32_t *seen, const void *src, void *dst,
                            size_t n)
{
    for (;;) {
        uint32_t s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
        if (s == *seen)
            return false;
        if (s & 1)
            continue;
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)dst)[i] = __atomic_load_n((const uint8_t *)src + i, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(seq, __ATOMIC_RELAXED) == s) {
            *seen = s;
            return true;
        }
    }
}

void upload_policy_publish(struct upload_policy_box *b, const struct upload_policy *p)
{
    write_locked(&b->seq, &b->p, p, sizeof(*p));
}

void upload_link_publish(struct upload_link_box *b, const struct upload_link_policy *l)
{
    write_locked(&b->seq, &b->p, l, sizeof(*l));
}

bool upload_policy_changed(const struct upload_policy_box *b, uint32_t *seen,
                           struct upload_policy *out)
{
    return read_if_changed(&b->seq, seen, &b->p, out, sizeof(*out));
}

bool upload_link_changed(const struct upload_link_box *b, uint32_t *seen,
                         struct upload_link_policy *out)
{
    return read_if_changed(&b->seq, seen, &b->p, out, sizeof(*out));
}
