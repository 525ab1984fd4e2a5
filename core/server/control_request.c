/* The control socket's request parser (control_socket.h), apart from the socket code so that
 * the unit tests and the fuzzer (tests/fuzz/fuzz_control_request.c) reach it alone. */
#include "control_socket.h"

#include <string.h>

enum control_request control_request_parse(const char *buf, size_t len)
{
    /* The request is text: what follows a NUL is not part of it (the server used to read it
     * into a zeroed buffer and parse it as a C string; this keeps that meaning exactly). */
    const char *nul = memchr(buf, '\0', len);
    size_t n = nul ? (size_t)(nul - buf) : len;
    if (n >= 10 && memcmp(buf, "usage json", 10) == 0)
        return CONTROL_REQ_USAGE_JSON;
    static const char REOPEN[] = "reopen-logs";
    enum { REOPEN_LEN = sizeof(REOPEN) - 1 };
    /* Exactly the word (one newline allowed after it): a request that changes something is
     * never guessed from a prefix. */
    if ((n == REOPEN_LEN || (n == REOPEN_LEN + 1 && buf[REOPEN_LEN] == '\n')) &&
        memcmp(buf, REOPEN, REOPEN_LEN) == 0)
        return CONTROL_REQ_REOPEN_LOGS;
    if (n < 4 || memcmp(buf, "show", 4) != 0)
        return CONTROL_REQ_UNKNOWN;
    return memmem(buf, n, "json", 4) ? CONTROL_REQ_SHOW_JSON : CONTROL_REQ_SHOW;
}

int control_request_days(const char *buf, size_t len)
{
    const char *nul = memchr(buf, '\0', len);
    size_t n = nul ? (size_t)(nul - buf) : len;
    const char *at = memmem(buf, n, "days=", 5);
    if (!at)
        return USAGE_DAYS_DEFAULT;
    int days = 0;
    for (const char *p = at + 5; p < buf + n && *p >= '0' && *p <= '9'; p++) {
        days = days * 10 + (*p - '0');
        if (days > USAGE_DAYS_MAX)
            return USAGE_DAYS_MAX;
    }
    return days >= 1 ? days : USAGE_DAYS_DEFAULT;
}
