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
    if (n >= 4 && memcmp(buf, "show", 4) == 0)
        return memmem(buf, n, "json", 4) ? CONTROL_REQ_SHOW_JSON : CONTROL_REQ_SHOW;
    if (n >= 10 && memcmp(buf, "usage json", 10) == 0)
        return CONTROL_REQ_USAGE_JSON;
    /* Requests that change something are whole words; a trailing newline (a request typed
     * into nc) is allowed. */
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n == 11 && memcmp(buf, "reopen-logs", 11) == 0)
        return CONTROL_REQ_REOPEN_LOGS;
    if (n == 6 && memcmp(buf, "reload", 6) == 0)
        return CONTROL_REQ_RELOAD;
    if (n == 5 && memcmp(buf, "users", 5) == 0)
        return CONTROL_REQ_USERS;
    return CONTROL_REQ_UNKNOWN;
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
