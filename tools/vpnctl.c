/* vpnctl: the operator's view of a running vpn-server, like `wg show`.
 *
 *   vpnctl show [--json] [-s SOCKET]     sessions, endpoints, transfer, drops, QoS classes
 *   vpnctl reopen-logs [-s SOCKET]       open the log file anew (after logrotate renamed it)
 *
 * It asks the server's control socket (root's, mode 0600: made before the server drops root).
 * Exit status: 0, 1 when the server cannot be reached or answers an error, 2 for bad usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/server_config.h"
#include "vpn/unix_socket.h"

static int usage(void)
{
    fprintf(stderr, "usage: vpnctl show [--json] [-s SOCKET]\n"
                    "       vpnctl reopen-logs [-s SOCKET]\n"
                    "  -s SOCKET  the server's control socket (default %s)\n",
            CONTROL_SOCKET_DEFAULT);
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = CONTROL_SOCKET_DEFAULT;
    const char *request = "show";
    bool reopen = false;
    int i = 1;
    if (i < argc && strcmp(argv[i], "show") == 0) {
        i++;
    } else if (i < argc && strcmp(argv[i], "reopen-logs") == 0) {
        request = "reopen-logs";
        reopen = true;
        i++;
    } else if (i < argc && argv[i][0] != '-') {
        return usage();
    }
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && !reopen)
            request = "show json";
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            return usage();
    }
    char *reply = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&reply, &len);
    if (!out) {
        fprintf(stderr, "vpnctl: %s\n", strerror(errno));
        return 1;
    }
    int rc = unix_request(path, request, out);
    fclose(out);
    if (rc != 0) {
        fprintf(stderr, "vpnctl: cannot reach the server at %s: %s\n", path, strerror(-rc));
        free(reply);
        return 1;
    }
    /* The server's answer to a request it could not carry out starts with "error:". */
    bool error = len >= 6 && strncmp(reply, "error:", 6) == 0;
    fwrite(reply, 1, len, error ? stderr : stdout);
    free(reply);
    return error ? 1 : 0;
}
