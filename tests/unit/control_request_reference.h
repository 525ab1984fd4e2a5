/* The control socket's requests as the code before control_request_parse read them (strncmp
 * and strstr on the request copied into a zeroed buffer), plus vpnctl's whole-word requests:
 * the reference the unit test and the fuzzer (tests/fuzz/fuzz_control_request.c) hold the
 * parser to. */
#ifndef TESTS_CONTROL_REQUEST_REFERENCE_H
#define TESTS_CONTROL_REQUEST_REFERENCE_H

#include <stdio.h>
#include <string.h>

#include "../../core/server/control_socket.h"

/* "reload", "users" and "reopen-logs" alone, with any trailing newlines. */
static inline enum control_request reference_words(const char *req)
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
    if (strcmp(w, "reopen-logs") == 0)
        return CONTROL_REQ_REOPEN_LOGS;
    return CONTROL_REQ_UNKNOWN;
}

static inline enum control_request control_request_reference(const char *buf, size_t len)
{
    char req[CONTROL_REQUEST_MAX + 1] = { 0 };
    memcpy(req, buf, len < CONTROL_REQUEST_MAX ? len : CONTROL_REQUEST_MAX);
    if (strncmp(req, "usage json", 10) == 0)
        return CONTROL_REQ_USAGE_JSON;
    if (strncmp(req, "show", 4) != 0)
        return reference_words(req);
    return strstr(req, "json") ? CONTROL_REQ_SHOW_JSON : CONTROL_REQ_SHOW;
}

#endif
