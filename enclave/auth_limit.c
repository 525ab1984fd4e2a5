/* GCRA failure budgets (see auth_limit.h). A budget allows `burst` failures at once and then
 * one per `interval_ms`: each failure pushes the theoretical arrival time (tat) one interval
 * further, and a failure is allowed while tat stays within burst intervals of now. */
#include "auth_limit.h"

static bool fits(uint64_t tat, uint64_t now_ms, uint32_t interval_ms, uint32_t burst,
                 uint64_t *next)
{
    *next = (tat > now_ms ? tat : now_ms) + interval_ms;
    return *next - now_ms <= (uint64_t)interval_ms * burst;
}

bool auth_limit_allows(const uint64_t *tat, uint64_t now_ms, uint32_t interval_ms,
                       uint32_t burst)
{
    uint64_t next;
    return fits(__atomic_load_n(tat, __ATOMIC_ACQUIRE), now_ms, interval_ms, burst, &next);
}

bool auth_limit_charge(uint64_t *tat, uint64_t now_ms, uint32_t interval_ms, uint32_t burst)
{
    uint64_t seen = __atomic_load_n(tat, __ATOMIC_ACQUIRE), next;
    do {
        if (!fits(seen, now_ms, interval_ms, burst, &next))
            return false;
    } while (!__atomic_compare_exchange_n(tat, &seen, next, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    return true;
}
