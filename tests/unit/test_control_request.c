/* The control socket's request parser: a table of requests, and the same verdict as the code
 * it was factored out of (strncmp and strstr on the request read into a zeroed 64-byte buffer)
 * for many random requests over a small alphabet. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "../../core/server/control_socket.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* What control_socket_serve did before control_request_parse existed. */
/* vpnctl's whole-word requests, with any trailing newlines. */
static enum control_request reference_words(const char *req)
{
    char w[CONTROL_REQUEST_MAX + 1];
    snprintf(w, sizeof(w), "%s", req);
    w[strcspn(w, "\r\n")] = '\0';
    if (strspn(req + strlen(w), "\r\n") != strlen(req + strlen(w)))
        return CONTROL_REQ_UNKNOWN;     /* something after the newlines */
    if (strcmp(w, "reload") == 0)
        return CONTROL_REQ_RELOAD;
    if (strcmp(w, "users") == 0)
        return CONTROL_REQ_USERS;
    return CONTROL_REQ_UNKNOWN;
}

static enum control_request reference(const char *buf, size_t len)
{
    char req[64] = { 0 };
    memcpy(req, buf, len < 63 ? len : 63);
    bool json = strstr(req, "json") != NULL;
    if (strncmp(req, "show", 4) != 0)
        return reference_words(req);
    return json ? CONTROL_REQ_SHOW_JSON : CONTROL_REQ_SHOW;
}

Test(control_request, table)
{
    static const struct {
        const char *in;
        size_t len;     /* 0: strlen(in) */
        enum control_request want;
    } cases[] = {
        { "show", 0, CONTROL_REQ_SHOW },
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
        cr_expect_eq(reference(cases[i].in, len), cases[i].want, "reference, case %zu", i);
    }
}

Test(control_request, same_verdict_as_before_on_random_requests)
{
    static const char alphabet[] = { 's', 'h', 'o', 'w', 'j', 'n', ' ', '\0', '\n', 'x' };
    char buf[CONTROL_REQUEST_MAX];
    cr_assert(sodium_init() >= 0);
    for (int round = 0; round < 200000; round++) {
        size_t len = randombytes_uniform(CONTROL_REQUEST_MAX + 1);
        /* Start with "show" half of the time, so that both branches are exercised. */
        size_t start = 0;
        if (len >= 4 && randombytes_uniform(2)) {
            memcpy(buf, "show", 4);
            start = 4;
        }
        for (size_t i = start; i < len; i++)
            buf[i] = alphabet[randombytes_uniform(sizeof(alphabet))];
        cr_assert_eq(control_request_parse(buf, len), reference(buf, len), "round %d", round);
    }
}
