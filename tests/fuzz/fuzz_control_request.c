/* Fuzzes the control socket's request parser (core/server/control_request.c) on what a client
 * of the socket may send: any bytes, as many as the server reads (CONTROL_REQUEST_MAX). The
 * input sits at the end of a heap buffer of exactly its length, so ASan sees any read past
 * it, and the verdict must be the one of the code it was factored out of. */
#include "fuzz_util.h"

#include "../../core/server/control_socket.h"

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
    char req[CONTROL_REQUEST_MAX + 1] = { 0 };
    memcpy(req, buf, len);
    if (strncmp(req, "show", 4) != 0)
        return reference_words(req);
    return strstr(req, "json") ? CONTROL_REQ_SHOW_JSON : CONTROL_REQ_SHOW;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > CONTROL_REQUEST_MAX)
        size = CONTROL_REQUEST_MAX;
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    enum control_request v = control_request_parse(buf, size);
    FUZZ_ASSERT(v == CONTROL_REQ_UNKNOWN || v == CONTROL_REQ_SHOW || v == CONTROL_REQ_SHOW_JSON ||
                v == CONTROL_REQ_RELOAD || v == CONTROL_REQ_USERS);
    FUZZ_ASSERT(v == reference(buf, size));
    free(buf);
    return 0;
}
