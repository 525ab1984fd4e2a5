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

/* Every 64-bit value that two processes share (these counters in the rings' memfd, the
 * heartbeat, the enclave's compare-and-swap timestamps in its shared secrets) relies on
 * 64-bit atomics that are lock-free and 8-byte aligned. Otherwise gcc calls libatomic, whose
 * locks are private to each process, and nothing is atomic across the boundary: this fails on
 * a target such as plain ARMv6 without LDREXD, or an ABI that aligns uint64_t to 4 bytes. The
 * three targets (amd64, arm64, armhf ARMv7) all pass. */
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0) && _Alignof(uint64_t) == 8,
               "64-bit atomics must be lock-free and aligned to share memory between processes");

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
