/* vpnctl: the operator's view of a running vpn-server, like `wg show`.
 *
 *   vpnctl show [--json] [-s SOCKET]     sessions, endpoints, transfer, drops, QoS classes
 *   vpnctl metrics [-s SOCKET]           the same status as Prometheus text (for
 *                                        node_exporter's textfile collector)
 *   vpnctl reopen-logs [-s SOCKET]       open the log file anew (after logrotate renamed it)
 *   vpnctl usage | history ...           from the usage database (vpn/usage_report.h)
 *
 * It asks the server's control socket (root's, mode 0600: made before the server drops root;
 * or a group's, [metrics] control_socket_group).
 * Exit status: 0, 1 when the server cannot be reached or answers an error, 2 for bad usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics_format.h"
#include "metrics/status_ask.h"
#include "vpn/server_config.h"
#include "vpn/unix_socket.h"
#include "vpn/usage_report.h"

static int usage(void)
{
    fprintf(stderr, "usage: vpnctl show [--json] [-s SOCKET]\n"
                    "       vpnctl metrics [-s SOCKET]\n"
                    "       vpnctl reopen-logs [-s SOCKET]\n"
                    "       vpnctl usage | history [--help]\n"
                    "  -s SOCKET  the server's control socket (default %s)\n",
            CONTROL_SOCKET_DEFAULT);
    return 2;
}

/* Prometheus text of the server's JSON status on stdout; when the server cannot be asked,
 * vpn_up 0 (so that a textfile collector shows the server down) and exit status 1. */
static int print_metrics(const char *path)
{
    char *reply;
    size_t len;
    int rc = status_ask(path, "show json", &reply, &len);
    int status = 0;
    if (rc != 0) {
        fprintf(stderr, "vpnctl: cannot reach the server at %s: %s\n", path, strerror(-rc));
        metrics_format_down(stdout);
        status = 1;
    } else if (metrics_format(reply, len, stdout) != 0) {
        fprintf(stderr, "vpnctl: the server's status is not JSON (%zu bytes)\n", len);
        status = 1;
    }
    free(reply);
    return status;
}

int main(int argc, char **argv)
{
    const char *path = CONTROL_SOCKET_DEFAULT;
    const char *request = "show";
    bool metrics = false, reopen = false;
    int i = 1;
    if (i < argc && (strcmp(argv[i], "usage") == 0 || strcmp(argv[i], "history") == 0))
        return usage_report_main(argc - 1, argv + 1);
    if (i < argc && strcmp(argv[i], "show") == 0) {
        i++;
    } else if (i < argc && strcmp(argv[i], "metrics") == 0) {
        metrics = true;
        i++;
    } else if (i < argc && strcmp(argv[i], "reopen-logs") == 0) {
        request = "reopen-logs";
        reopen = true;
        i++;
    } else if (i < argc && argv[i][0] != '-') {
        return usage();
    }
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && !metrics && !reopen)
            request = "show json";
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            return usage();
    }
    if (metrics)
        return print_metrics(path);
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
