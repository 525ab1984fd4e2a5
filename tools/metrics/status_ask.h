/* One request to vpn-server's control socket, its reply kept in memory: how vpnctl metrics
 * and vpn-metrics read the server (never anything else). */
#ifndef METRICS_STATUS_ASK_H
#define METRICS_STATUS_ASK_H

#include <stdbool.h>
#include <stddef.h>

/* Sends request ("show json", "usage json") to the socket at path; *reply is a malloc'd,
 * NUL-terminated copy of the whole answer (*len bytes without the NUL), to be freed. Returns
 * 0, or -errno (nobody listening, permission denied, a stalled server's -ETIMEDOUT). */
int status_ask(const char *path, const char *request, char **reply, size_t *len)
    __attribute__((warn_unused_result));

/* true when reply[0 .. len) is one JSON object: the server's answer to a request it knows
 * (to one it does not, it answers a line of text starting "error:"). */
bool status_is_json_object(const char *reply, size_t len);

#endif
