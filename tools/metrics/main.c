/* vpn-metrics: Prometheus metrics and a status page for vpn-server, in a process of its own,
 * so that the process that moves packets gains no HTTP parser.
 *
 *   vpn-metrics [-c FILE] [--check-config] [-v]
 *
 * It reads server.conf (default /etc/vpnse/server.conf) for [metrics] listen and [security]
 * control_socket, and the server only through that socket, which it may read when it runs in
 * [metrics] control_socket_group (conf/vpn-metrics.service; README, "Monitoring"). It needs
 * no privilege and should not have any. SIGINT/SIGTERM stop it; settings change with a
 * restart. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/server_config.h"

#define CONFIG_DEFAULT "/etc/vpnse/server.conf"

static void usage(FILE *f)
{
    fprintf(f, "usage: vpn-metrics [-c FILE] [--check-config] [-v]\n"
               "  -c FILE          server.conf to read [metrics] and [security] from "
               "(default " CONFIG_DEFAULT ")\n"
               "  --check-config   validate it and exit (0 or 2)\n"
               "  -v               debug logging\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = CONFIG_DEFAULT;
    bool check_only = false, verbose = false;
    int o;
    while ((o = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case 'C': check_only = true; break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    static struct server_config cfg;
    struct config_error err;
    if (server_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "[ERROR] Configuration error: %s\n", err.msg);
        return 2;
    }
    if (!cfg.metrics_listen[0]) {
        fprintf(stderr, "[ERROR] Configuration error: %s: [metrics] listen is not set: metrics "
                "are off (set e.g. listen = 127.0.0.1:9586)\n", config);
        return 2;
    }
    if (check_only) {
        printf("Configuration OK: %s\n", config);
        return 0;
    }
    log_init(verbose ? LOG_DEBUG : LOG_INFO, NULL);
    if (geteuid() == 0)
        log_warn("vpn-metrics runs as root; it needs no privilege: run it as a user of "
                 "[metrics] control_socket_group (conf/vpn-metrics.service)");

    /* Blocked before the HTTP thread starts, which inherits the mask: signals come here. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    char why[256], ep[64];
    struct MHD_Daemon *http = metrics_http_start(&cfg.metrics_addr, cfg.control_socket, why,
                                                 sizeof(why));
    if (!http) {
        log_error("%s", why);
        return 1;
    }
    format_endpoint(&cfg.metrics_addr, ep, sizeof(ep));
    log_info("vpn-metrics serving http://%s/ (metrics at /metrics) from %s", ep,
             cfg.control_socket);
    for (;;) {
        int sig;
        if (sigwait(&mask, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("SIGHUP: vpn-metrics reads its settings at start; restart it to change them");
            continue;
        }
        break;
    }
    log_info("vpn-metrics stopping");
    metrics_http_stop(http);
    return 0;
}
