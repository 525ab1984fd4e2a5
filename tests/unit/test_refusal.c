/* What the client does with a refused handshake (client/refusal.c): before the first
 * connection every refusal but RATE_LIMITED ends it; afterwards AUTH_FAILED and RATE_LIMITED
 * (and RATE_LIMITED before it too) are retried until REFUSALS_IN_A_ROW_MAX of them come in a
 * row, and other refusals are retried for ever. */
#include <criterion/criterion.h>

#include "../../client/refusal.h"
#include "vpn/limits.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(refusal, the_limit_is_five)
{
    cr_expect_eq(REFUSALS_IN_A_ROW_MAX, 5);
}

Test(refusal, before_the_first_connection_every_refusal_ends_the_client)
{
    static const uint8_t statuses[] = { STATUS_AUTH_FAILED, STATUS_SERVER_FULL,
                                        STATUS_POOL_EXHAUSTED, STATUS_STALE_TIMESTAMP, 99 };
    for (unsigned i = 0; i < N(statuses); i++) {
        unsigned in_a_row = 0;
        cr_expect_eq(refusal_decide(statuses[i], false, &in_a_row), REFUSAL_EXIT, "status %u",
                     statuses[i]);
    }
}

/* A sequence of refusals to a client that has been connected, and what each one must do. */
struct step {
    uint8_t status;
    enum refusal_action want;
    unsigned in_a_row;          /* after the step */
};

static void run(const char *label, const struct step *steps, size_t n)
{
    unsigned in_a_row = 0;
    for (size_t i = 0; i < n; i++) {
        enum refusal_action a = refusal_decide(steps[i].status, true, &in_a_row);
        cr_expect_eq(a, steps[i].want, "%s, step %zu (status %u): action %d, want %d", label,
                     i + 1, steps[i].status, a, steps[i].want);
        cr_expect_eq(in_a_row, steps[i].in_a_row, "%s, step %zu: in a row %u, want %u", label,
                     i + 1, in_a_row, steps[i].in_a_row);
    }
}

Test(refusal, once_connected_auth_failed_is_retried_four_times_then_ends)
{
    static const struct step steps[] = {
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 1 },
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 2 },
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 3 },
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 4 },
        { STATUS_AUTH_FAILED, REFUSAL_EXIT, 5 },
    };
    run("AUTH_FAILED x5", steps, N(steps));
}

Test(refusal, rate_limited_counts_like_auth_failed)
{
    static const struct step steps[] = {
        { STATUS_RATE_LIMITED, REFUSAL_RETRY_WARN, 1 },
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 2 },
        { STATUS_RATE_LIMITED, REFUSAL_RETRY_WARN, 3 },
        { STATUS_RATE_LIMITED, REFUSAL_RETRY_WARN, 4 },
        { STATUS_RATE_LIMITED, REFUSAL_EXIT, 5 },
    };
    run("RATE_LIMITED and AUTH_FAILED mixed", steps, N(steps));
}

Test(refusal, other_refusals_are_retried_for_ever_and_do_not_reset_the_count)
{
    static const struct step steps[] = {
        { STATUS_SERVER_FULL, REFUSAL_RETRY, 0 },
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 1 },
        { STATUS_POOL_EXHAUSTED, REFUSAL_RETRY, 1 },
        { STATUS_SERVER_FULL, REFUSAL_RETRY, 1 },
        { STATUS_STALE_TIMESTAMP, REFUSAL_RETRY, 1 },
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 2 },
        { 200, REFUSAL_RETRY, 2 },          /* a status this client does not know */
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 3 },
        { STATUS_AUTH_FAILED, REFUSAL_RETRY_WARN, 4 },
        { STATUS_SERVER_FULL, REFUSAL_RETRY, 4 },
        { STATUS_AUTH_FAILED, REFUSAL_EXIT, 5 },
    };
    run("mixed", steps, N(steps));
    unsigned in_a_row = 0;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(refusal_decide(STATUS_SERVER_FULL, true, &in_a_row), REFUSAL_RETRY);
    cr_expect_eq(in_a_row, 0);
}

Test(refusal, a_success_in_between_starts_the_count_again)
{
    unsigned in_a_row = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 1; i < REFUSALS_IN_A_ROW_MAX; i++)
            cr_expect_eq(refusal_decide(STATUS_AUTH_FAILED, true, &in_a_row), REFUSAL_RETRY_WARN,
                         "round %d, refusal %d", round, i);
        in_a_row = 0;   /* what conn.c does on an accepted handshake */
    }
    for (int i = 1; i < REFUSALS_IN_A_ROW_MAX; i++)
        refusal_decide(STATUS_AUTH_FAILED, true, &in_a_row);
    cr_expect_eq(refusal_decide(STATUS_AUTH_FAILED, true, &in_a_row), REFUSAL_EXIT);
}

/* RATE_LIMITED says someone spent the user's failure budget, not that our token is wrong:
 * retried before the first connection too, up to the limit. */
Test(refusal, rate_limited_is_retried_before_the_first_connection)
{
    unsigned in_a_row = 0;
    for (unsigned i = 1; i < REFUSALS_IN_A_ROW_MAX; i++)
        cr_expect_eq(refusal_decide(STATUS_RATE_LIMITED, false, &in_a_row), REFUSAL_RETRY_WARN,
                     "refusal %u", i);
    cr_expect_eq(refusal_decide(STATUS_RATE_LIMITED, false, &in_a_row), REFUSAL_EXIT);
    in_a_row = 0;
    cr_expect_eq(refusal_decide(STATUS_AUTH_FAILED, false, &in_a_row), REFUSAL_EXIT,
                 "a wrong token still ends it at once");
}
