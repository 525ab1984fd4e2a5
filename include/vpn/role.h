/* A role: state that any of several threads may run, one at a time, passed between them by a
 * token. Taking the token is an acquire and letting it go a release, so whatever the last
 * holder wrote is seen by the next one: the state needs no lock of its own.
 *
 * The server's roles (TX, TUN) are only ever tried: a thread that finds one held leaves the
 * work to its holder. The client's receive role is also waited for by its owner (role_wait):
 * a borrower holds it for a bounded time. */
#ifndef VPN_ROLE_H
#define VPN_ROLE_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

static inline bool role_take(uint32_t *token)
{
    uint32_t free_token = 0;
    return __atomic_compare_exchange_n(token, &free_token, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void role_release(uint32_t *token)
{
    __atomic_store_n(token, 0, __ATOMIC_RELEASE);
}

/* Takes the role, giving the CPU away while another thread holds it (the holder may be
 * waiting for this very CPU). Only for a role whose borrowers hold it briefly. */
static inline void role_wait(uint32_t *token)
{
    while (!role_take(token))
        sched_yield();
}

#endif
