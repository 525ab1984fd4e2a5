/* The control socket's request parser: a table of requests, and the same verdict as the code
 * it was factored out of (strncmp and strstr on the request read into a zeroed 64-byte buffer),
 * with "reopen-logs" added since, for many random requests over a small alphabet. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "control_request_reference.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(control_request, table)
{
    static const struct {
        const char *in;
        size_t len;     /* 0: strlen(in) */
        enum control_request want;
    } cases[] = {
        { "show", 0, CONTROL_REQ_SHOW },
        { "usage json", 0, CONTROL_REQ_USAGE_JSON },
        { "usage json days=7", 0, CONTROL_REQ_USAGE_JSON },
        { "usage", 0, CONTROL_REQ_UNKNOWN },
        { "usage show json", 0, CONTROL_REQ_UNKNOWN },
        { "show\n", 0, CONTROL_REQ_SHOW },
        { "show json", 0, CONTROL_REQ_SHOW_JSON },
        { "show json\n", 0, CONTROL_REQ_SHOW_JSON },
        { "show --json", 0, CONTROL_REQ_SHOW_JSON },
        { "showjson", 0, CONTROL_REQ_SHOW_JSON },
        { "shows", 0, CONTROL_REQ_SHOW },
        { "", 0, CONTROL_REQ_UNKNOWN },
        { "sho", 0, CONTROL_REQ_UNKNOWN },
        { "SHOW", 0, CONTROL_REQ_UNKNOWN },
        { " show", 0, CONTROL_REQ_UNKNOWN },
        { "json show", 0, CONTROL_REQ_UNKNOWN },
        { "disconnect", 0, CONTROL_REQ_UNKNOWN },
        { "show\0json", 9, CONTROL_REQ_SHOW },          /* the request ends at the NUL */
        { "sh\0ow", 5, CONTROL_REQ_UNKNOWN },
        { "show jso", 0, CONTROL_REQ_SHOW },
        { "show js\0on", 10, CONTROL_REQ_SHOW },
        { "reopen-logs", 0, CONTROL_REQ_REOPEN_LOGS },
        { "reopen-logs\n", 0, CONTROL_REQ_REOPEN_LOGS },
        { "reopen-logs\0show", 16, CONTROL_REQ_REOPEN_LOGS },
        { "reopen-logs\n\n", 0, CONTROL_REQ_REOPEN_LOGS },   /* whole words: trailing newlines */
        { "reopen-logs ", 0, CONTROL_REQ_UNKNOWN },
        { "reopen-logsx", 0, CONTROL_REQ_UNKNOWN },
        { "reopen-log", 0, CONTROL_REQ_UNKNOWN },
        { "REOPEN-LOGS", 0, CONTROL_REQ_UNKNOWN },
        { " reopen-logs", 0, CONTROL_REQ_UNKNOWN },
        { "show                                                       json", 0,
          CONTROL_REQ_SHOW_JSON },                          /* 63 bytes, json at the end */
        { "reload", 0, CONTROL_REQ_RELOAD },
        { "reload\n", 0, CONTROL_REQ_RELOAD },
        { "users\r\n", 0, CONTROL_REQ_USERS },
        { "users\0junk", 10, CONTROL_REQ_USERS },
        { "reloads", 0, CONTROL_REQ_UNKNOWN },
        { "reload now", 0, CONTROL_REQ_UNKNOWN },
        { "reload\nshow", 0, CONTROL_REQ_UNKNOWN },
        { " users", 0, CONTROL_REQ_UNKNOWN },
        { "user", 0, CONTROL_REQ_UNKNOWN },
    };
    for (size_t i = 0; i < N(cases); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        cr_expect_eq(control_request_parse(cases[i].in, len), cases[i].want, "case %zu (%s)", i,
                     cases[i].in);
        cr_expect_eq(control_request_reference(cases[i].in, len), cases[i].want,
                     "reference, case %zu", i);
    }
}

Test(control_request, same_verdict_as_before_on_random_requests)
{
    static const char alphabet[] = { 's', 'h', 'o', 'w', 'j', 'n', ' ', '\0', '\n', 'x' };
    char buf[CONTROL_REQUEST_MAX];
    cr_assert(sodium_init() >= 0);
    for (int round = 0; round < 200000; round++) {
        size_t len = randombytes_uniform(CONTROL_REQUEST_MAX + 1);
        /* Start with "show" or "reopen-logs" half of the time, so that every branch is
         * exercised (and keep a reopen-logs request short half of those times). */
        size_t start = 0;
        unsigned pick = randombytes_uniform(4);
        if (len >= 4 && pick == 0) {
            memcpy(buf, "show", 4);
            start = 4;
        } else if (len >= 11 && pick == 1) {
            memcpy(buf, "reopen-logs", 11);
            start = 11;
            if (randombytes_uniform(2))
                len = 11 + randombytes_uniform(3);
        }
        for (size_t i = start; i < len; i++)
            buf[i] = alphabet[randombytes_uniform(sizeof(alphabet))];
        cr_assert_eq(control_request_parse(buf, len), control_request_reference(buf, len),
                     "round %d", round);
    }
}

Test(control_request, usage_days)
{
    static const struct {
        const char *in;
        int want;
    } cases[] = {
        { "usage json", USAGE_DAYS_DEFAULT }, { "usage json days=7", 7 },
        { "usage json days=366", 366 },       { "usage json days=367", USAGE_DAYS_MAX },
        { "usage json days=0", USAGE_DAYS_DEFAULT }, { "usage json days=", USAGE_DAYS_DEFAULT },
        { "usage json days=99999999999999999999", USAGE_DAYS_MAX },
        { "usage json days=x5", USAGE_DAYS_DEFAULT },
    };
    for (unsigned i = 0; i < N(cases); i++)
        cr_expect_eq(control_request_days(cases[i].in, strlen(cases[i].in)), cases[i].want, "%s",
                     cases[i].in);
    /* What follows a NUL is not part of the request. */
    cr_expect_eq(control_request_days("usage json\0days=5", 17), USAGE_DAYS_DEFAULT);
}
