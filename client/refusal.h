/* What the client does when the server refuses a handshake (a failure CONNECT_RESP,
 * PROTOCOL.md "CONNECT_RESP"): a pure decision, kept apart from conn.c so that it can be tested
 * (tests/unit/test_refusal.c).
 *
 * Before the first connection a refusal ends the client at once with its reason and exit
 * status 1: a wrong token or a full server must be reported, not retried in silence. The one
 * exception is RATE_LIMITED: the enclave stopped checking the user's token because too many
 * wrong ones came (someone guessing, maybe from forged addresses); the right token gets
 * through once the budget refills, so it is retried like a refusal after a connection. Once the
 * client has been connected, it keeps retrying (with conn.c's backoff): a rekey or reconnect
 * refused because the server restarted, is overloaded, or because someone on the path
 * tampered with a request (any flipped bit in it makes the server answer AUTH_FAILED) must not
 * end a working VPN. Only REFUSALS_IN_A_ROW_MAX refusals of the user (AUTH_FAILED or
 * RATE_LIMITED) in a row, with no successful handshake between them, end it: by then the user
 * has most likely been removed, the token changed or the user throttled for good, and
 * retrying forever would hide that. SERVER_FULL and POOL_EXHAUSTED say nothing about the user
 * and are retried without end. An on-path attacker who can tamper with that many consecutive
 * requests can also simply drop them; what it gains is the client's exit instead of its
 * endless retries. */
#ifndef CLIENT_REFUSAL_H
#define CLIENT_REFUSAL_H

#include <stdbool.h>
#include <stdint.h>

enum {
    /* AUTH_FAILED or RATE_LIMITED refusals in a row (no successful handshake between them)
     * that end a client which has been connected before. With the backoff of 1, 2, 4, 8 s
     * (plus jitter) the fifth comes about 15 s after the first. */
    REFUSALS_IN_A_ROW_MAX = 5,
};

enum refusal_action {
    REFUSAL_EXIT,           /* log the reason as an error, exit with status 1 */
    REFUSAL_RETRY_WARN,     /* transient: log a warning, retry after the backoff */
    REFUSAL_RETRY,          /* the server cannot take us now (full, no address): retry */
};

/* Decides for a refusal with the given status. *in_a_row counts the AUTH_FAILED and
 * RATE_LIMITED refusals since the last successful handshake (the caller zeroes it on
 * success); this call adds the current one when it is such a refusal. */
enum refusal_action refusal_decide(uint8_t status, bool ever_connected, unsigned *in_a_row);

/* What an AUTH_FAILED refusal with a reason (extension 6) says to the user, or NULL when it
 * gives none (then the status says it all). */
const char *refusal_text(uint8_t status, uint8_t refusal);

#endif
