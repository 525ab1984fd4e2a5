/* Failure budgets for authentication (limits.h, auth_fail_limits), kept inside the enclave so
 * that neither the network nor a compromised main process can test passwords faster than
 * they allow. A budget is one 64-bit word in the shared secrets (GCRA, the "generic cell rate
 * algorithm"): the theoretical arrival time of the next failure, in monotonic milliseconds.
 * Zero is a full budget. Any worker may charge it: compare-and-swap, no lock. */
#ifndef ENCLAVE_AUTH_LIMIT_H
#define ENCLAVE_AUTH_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* True when one more failure fits the budget at *tat now (nothing is charged). */
bool auth_limit_allows(const uint64_t *tat, uint64_t now_ms, uint32_t interval_ms,
                       uint32_t burst);

/* Charges one failure. Returns false when the budget was already spent (it stays spent). */
bool auth_limit_charge(uint64_t *tat, uint64_t now_ms, uint32_t interval_ms, uint32_t burst);

#endif
