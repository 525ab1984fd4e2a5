/* Adaptive polling: a consumer that has just done work keeps looking at its inputs for a short
 * while before it sleeps on its doorbell, so that the next hop of a packet already on its way
 * (the reply to a ping coming back from the LAN) is taken without a wake-up, on a CPU that did
 * not go idle. Only right after work: an idle thread sleeps, and an idle server costs no CPU
 * (docs/PERFORMANCE.md, "Latency"). The look gives the CPU away (sched_yield) at every turn:
 * on a machine with more runnable threads than cores, a pure spin would keep the very thread
 * it waits for off the CPU. */
#ifndef VPN_SPIN_H
#define VPN_SPIN_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t spin_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One polling consumer's window: opened by work, closed by time. */
struct spin {
    uint64_t until_ns;
};

static inline void spin_worked(struct spin *s, uint32_t window_us)
{
    s->until_ns = spin_clock_ns() + (uint64_t)window_us * 1000u;
}

/* true while the window is open: look again instead of sleeping. */
static inline bool spin_again(const struct spin *s)
{
    if (spin_clock_ns() >= s->until_ns)
        return false;
    sched_yield();
    return true;
}

#endif
