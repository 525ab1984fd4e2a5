/* vpnctl: the operator's view of a running vpn-server, like `wg show`.
 *
 *   vpnctl show [--json] [-s SOCKET]     sessions, endpoints, transfer, drops, QoS classes
 *   vpnctl usage | history ...           from the usage database (vpn/usage_report.h)
 *
 * It asks the server's control socket (root's, mode 0600: made before the server drops root). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vpn/server_config.h"
#include "vpn/unix_socket.h"
#include "vpn/usage_report.h"

static int usage(void)
{
    fprintf(stderr, "usage: vpnctl show [--json] [-s SOCKET]   (default %s)\n"
                    "       vpnctl usage | history [--help]\n",
            CONTROL_SOCKET_DEFAULT);
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = CONTROL_SOCKET_DEFAULT;
    const char *request = "show";
    int i = 1;
    if (i < argc && (strcmp(argv[i], "usage") == 0 || strcmp(argv[i], "history") == 0))
        return usage_report_main(argc - 1, argv + 1);
    if (i < argc && strcmp(argv[i], "show") == 0)
        i++;
    else if (i < argc && argv[i][0] != '-')
        return usage();
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            request = "show json";
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            return usage();
    }
    int rc = unix_request(path, request, stdout);
    if (rc != 0) {
        fprintf(stderr, "vpnctl: cannot reach the server at %s: %s\n", path, strerror(-rc));
        return 1;
    }
    return 0;
}
