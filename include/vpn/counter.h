/* Statistics counters: 64 bits, one writer thread each, read by another (the status tool).
 * A plain `c++` and a plain read of a uint64_t may tear on 32-bit ARM (two 32-bit halves);
 * these relaxed atomics never do, and cost nothing more than a load and a store on 64-bit
 * machines. Single writer per counter: the add is not a read-modify-write across threads.
 *
 * Counter names are declared once, beside their enum, as X-macro lists:
 *   #define FOO_DROPS(X) X(FOO_DROP_A, "a", "what a means") ...
 * from which the enum (COUNTER_ENUM) and the status tool's names (COUNTER_NAME) are made. */
#ifndef VPN_COUNTER_H
#define VPN_COUNTER_H

#include <stdint.h>

static inline void counter_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void counter_inc(uint64_t *c)
{
    counter_add(c, 1);
}

static inline uint64_t counter_read(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#define COUNTER_ENUM(id, name, why) id,
#define COUNTER_NAME(id, name, why) name,

#endif
