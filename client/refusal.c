/* The client's answer to a refused handshake (see refusal.h). */
#include "refusal.h"

#include <stddef.h>

#include "vpn/limits.h"

enum refusal_action refusal_decide(uint8_t status, bool ever_connected, unsigned *in_a_row)
{
    bool of_the_user = status == STATUS_AUTH_FAILED || status == STATUS_RATE_LIMITED;
    if (of_the_user && *in_a_row < REFUSALS_IN_A_ROW_MAX)
        (*in_a_row)++;
    /* RATE_LIMITED says the user's failure budget is spent, most likely by someone else
     * guessing (docs/PROTOCOL.md section 9): the right token gets through once it refills,
     * so it is retried even before the first connection. */
    if (!ever_connected && status != STATUS_RATE_LIMITED)
        return REFUSAL_EXIT;
    if (!of_the_user)
        return REFUSAL_RETRY;
    return *in_a_row >= REFUSALS_IN_A_ROW_MAX ? REFUSAL_EXIT : REFUSAL_RETRY_WARN;
}

const char *refusal_text(uint8_t status, uint8_t refusal)
{
    if (status != STATUS_AUTH_FAILED)
        return NULL;
    switch (refusal) {
    case REFUSAL_QUOTA:
        return "Connection refused: this user's data quota is used up for now (it renews with "
               "the next period; ask the server's operator)";
    case REFUSAL_EXPIRED: return "Connection refused: this user's account has expired";
    case REFUSAL_DISABLED: return "Connection refused: this user's account is disabled";
    default: return NULL;
    }
}
