/* Fuzzes the control socket's request parser (core/server/control_request.c) on what a client
 * of the socket may send: any bytes, as many as the server reads (CONTROL_REQUEST_MAX). The
 * input sits at the end of a heap buffer of exactly its length, so ASan sees any read past
 * it, and the verdict must be the one of the code it was factored out of. */
#include "fuzz_util.h"

#include "../unit/control_request_reference.h"

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
                v == CONTROL_REQ_RELOAD || v == CONTROL_REQ_USERS ||
                v == CONTROL_REQ_USAGE_JSON || v == CONTROL_REQ_REOPEN_LOGS);
    FUZZ_ASSERT(v == control_request_reference(buf, size));
    int days = control_request_days(buf, size);
    FUZZ_ASSERT(days >= 1 && days <= USAGE_DAYS_MAX);
    free(buf);
    return 0;
}
