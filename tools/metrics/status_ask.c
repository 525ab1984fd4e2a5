/* Asking the control socket (see status_ask.h). */
#include "status_ask.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "vpn/unix_socket.h"

int status_ask(const char *path, const char *request, char **reply, size_t *len)
{
    *reply = NULL;
    *len = 0;
    FILE *mem = open_memstream(reply, len);
    if (!mem)
        return -ENOMEM;
    int rc = unix_request(path, request, mem);
    if (fclose(mem) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc != 0) {
        free(*reply);
        *reply = NULL;
        *len = 0;
    }
    return rc;
}

bool status_is_json_object(const char *reply, size_t len)
{
    json_t *j = json_loadb(reply, len, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(j);
    json_decref(j);
    return ok;
}
