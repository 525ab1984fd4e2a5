/* vpn-client: connect, status, disconnect (REQUIREMENTS.md section 5).
 *
 *   vpn-client connect -c conf/client.conf [--server-key KEY] [-v]
 *   vpn-client -c conf/client.conf                 (same as connect)
 *   vpn-client status [-c FILE]                    (asks the running client)
 *   vpn-client disconnect [-c FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "conn.h"
#include "datapath.h"
#include "device.h"
#include "sandbox.h"
#include "vpn/aead.h"
#include "underlay.h"
#include "vpn/keyfile.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/proto.h"
#include "vpn/role.h"
#include "vpn/thread_slice.h"
#include "vpn/tun.h"
#include "vpn/unix_socket.h"

static const char DEFAULT_CONFIG[] = "/etc/vpnse/client.conf";

static void usage(FILE *f)
{
    fprintf(f, "usage: vpn-client connect -c FILE [--server-key KEY] [-v]\n"
               "       vpn-client status [-c FILE]\n"
               "       vpn-client disconnect [-c FILE]\n");
}

/* The server's key: configured, else pinned, else given once with --server-key and pinned. */
static int server_key(struct client *c, const char *given)
{
    uint8_t pinned[KEY_LEN], k[KEY_LEN];
    if (c->cfg->have_server_key) {
        memcpy(c->s_pub, c->cfg->server_public_key, KEY_LEN);
        return 0;
    }
    int found = pin_lookup(c->cfg->known_servers_file, c->server_text, pinned);
    if (given && keyfile_decode(given, k) != 0) {
        log_error("--server-key: expected a base64 public key (44 characters)");
        return -1;
    }
    if (found > 0) {
        if (given && sodium_memcmp(k, pinned, KEY_LEN) != 0) {
            log_error("@@@ THE SERVER KEY OF %s HAS CHANGED @@@ The key pinned in %s differs "
                      "from the one given; refusing to connect. If the server was really "
                      "re-keyed, remove its line from that file.",
                      c->server_text, c->cfg->known_servers_file);
            return -1;
        }
        memcpy(c->s_pub, pinned, KEY_LEN);
        return 0;
    }
    if (!given) {
        log_error("Unknown key for server %s: set server_public_key in %s, or pass "
                  "--server-key KEY once to pin it", c->server_text, c->cfg->path);
        return -1;
    }
    if (pin_store(c->cfg->known_servers_file, c->server_text, k) != 0)
        log_warn("Cannot pin the server key in %s: %s", c->cfg->known_servers_file,
                 strerror(errno));
    else
        log_info("Pinned the key of %s in %s", c->server_text, c->cfg->known_servers_file);
    memcpy(c->s_pub, k, KEY_LEN);
    return 0;
}

/* The routes, resolvers and kill switch of `vpn-client status` (README "Full tunnel and
 * DNS"): what the client last handed to its helper. */
static int status_network(const struct client *c, char *out, size_t len)
{
    const struct helper_request *q = &c->applied;
    char ip[16];
    int n = snprintf(out, len, "routes into the tunnel: %u (table %u)\nresolvers:",
                     q->n_routes, c->cfg->route_table);
    for (uint32_t i = 0; i < q->n_dns; i++)
        n += snprintf(out + n, len - (size_t)n, " %s", format_ipv4(q->dns[i], ip));
    const char *none = c->cfg->pull_dns ? " none pushed" : " not used (pull_dns = false)";
    n += snprintf(out + n, len - (size_t)n, "%s%s%s\nkill switch: %s\n", q->n_dns ? "" : none,
                  q->dns_search[0] ? ", search " : "", q->dns_search,
                  c->cfg->kill_switch ? "armed" : "off");
    return n;
}

static void control_serve(struct client *c)
{
    int s = accept4(c->control_fd, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        return;
    char req[32] = { 0 };
    struct pollfd p = { .fd = s, .events = POLLIN };
    if (poll(&p, 1, 200) > 0 && read(s, req, sizeof(req) - 1) > 0) {
        char out[2048], ip[16];
        int n;
        if (strncmp(req, "disconnect", 10) == 0) {
            c->stop = true;
            n = snprintf(out, sizeof(out), "disconnecting\n");
        } else {
            n = snprintf(out, sizeof(out),
                         "server: %s\nstate: %s\nvpn ip: %s\ninterface: %s\nsession: %08x\n"
                         "replay window: %u ms (%s)\n"
                         "received: %llu B (%llu packets)\nsent: %llu B (%llu packets)\n"
                         "dropped: %llu\n",
                         c->server_text, client_sm_state_name(c->sm.state),
                         c->tun_configured ? format_ipv4(c->tun_ip, ip) : "-", c->tun_name,
                         c->slots.cur ? c->slots.cur->id : 0,
                         c->server_window_ms ? c->server_window_ms : REPLAY_WINDOW_MS_DEFAULT,
                         c->window_pushed ? "pushed by the server" : "default",
                         (unsigned long long)c->rx_bytes,
                         (unsigned long long)c->rx_packets, (unsigned long long)c->tx_bytes,
                         (unsigned long long)c->tx_packets,
                         (unsigned long long)(client_rx_dropped(c) + c->tx_drops));
            /* The receive drops by reason, then the send side's, then what else was taken:
             * every datagram received is in exactly one of rx_packets, "other received" and
             * the receive drops. */
            static const char *const names[] = { CLIENT_RX_DROP_REASONS(COUNTER_NAME) };
            n += snprintf(out + n, sizeof(out) - (size_t)n, "receive drops:");
            for (int i = 0; i < CLIENT_RX_DROPS; i++)
                n += snprintf(out + n, sizeof(out) - (size_t)n, "%s %s %llu", i ? "," : "",
                              names[i], (unsigned long long)c->rx_drops[i]);
            n += snprintf(out + n, sizeof(out) - (size_t)n,
                          "\nsend drops: %llu\nother received: %llu\n"
                          "replies waited for: %llu, taken by the TUN thread: %llu\n",
                          (unsigned long long)c->tx_drops, (unsigned long long)c->rx_other,
                          (unsigned long long)counter_read(&c->reply_waits),
                          (unsigned long long)counter_read(&c->replies_caught));
            n += status_network(c, out + n, sizeof(out) - (size_t)n);
        }
        ssize_t w = write(s, out, (size_t)n);
        (void)w;
    }
    close(s);
}

/* Gives up root for good (sandbox.h), loudly when [client] user = root keeps uid 0. */
static int sandbox(struct client *c)
{
    char why[256];
    if (sandbox_drop_privileges(c->cfg, why, sizeof(why)) != 0) {
        log_error("Cannot drop privileges: %s", why);
        return -1;
    }
    if (geteuid() == 0)
        log_warn("[client] user = root in %s: the client keeps uid 0 while it runs, limited "
                 "only by CAP_NET_ADMIN and its seccomp filter; if it is ever compromised, "
                 "every file root owns is open to it. Use an unprivileged user (default "
                 "nobody) unless you must.", c->cfg->path);
    else
        log_debug("Running as uid %u with CAP_NET_ADMIN only", (unsigned)geteuid());
    return 0;
}

static int ask_running(const char *config, const char *what)
{
    static struct client_config cfg;
    struct config_error err;
    if (client_config_load(config, &cfg, &err) != 0) {
        fprintf(stderr, "[ERROR] Configuration error: %s\n", err.msg);
        return 2;
    }
    sodium_memzero(cfg.auth_token, sizeof(cfg.auth_token));
    int rc = unix_request(cfg.control_socket, what, stdout);
    if (rc != 0) {
        fprintf(stderr, "vpn-client: no running client at %s (%s)\n", cfg.control_socket,
                strerror(-rc));
        return 1;
    }
    return 0;
}

/* Everything the helper put in place goes (routes, resolvers, kill switch), on every way out
 * of run() once the helper runs. Returns status. */
static int leave(struct client *c, int status)
{
    if (c->helper.fd < 0)
        return status;
    if (helper_restore(&c->helper, 10000) != 0)
        log_error("The helper did not confirm that routes, resolvers and kill switch are "
                  "removed");
    else
        waitpid(c->helper.pid, NULL, 0);    /* it exits right after its answer */
    c->helper.fd = -1;
    return status;
}

static int run(struct client *c, const char *given_key)
{
    char why[300];
    log_info("Connecting to %s...", c->server_text);
    if (server_key(c, given_key) != 0)
        return 1;
    char dwhy[PATH_MAX + 128];
    if (device_id_load(c->cfg->device_file, c->device_id, dwhy, sizeof(dwhy)) == 0)
        c->device.has_id = true;
    else
        log_warn("No device id (%s): this client connects as its user's one implicit device, "
                 "which any other client of the user without an id replaces", dwhy);
    snprintf(c->tun_name, sizeof(c->tun_name), "%s", c->cfg->tun_device);
    c->tun_fd = tun_open(c->tun_name, getenv("VPN_NO_OFFLOAD") == NULL, &c->tun_offload);
    if (c->tun_fd < 0) {
        log_error("Failed to create TUN interface: %s", strerror(-c->tun_fd));
        return 1;
    }
    tun_disable_ipv6(c->tun_name);      /* now: the sandbox opens no file later */
    /* The helper before anything else goes out: it clears what a crashed client left and
     * arms the kill switch first. */
    int private_fds[] = { c->tun_fd, c->signal_fd };
    if (helper_start(&c->helper, c->cfg, c->tun_name, private_fds, 2, why, sizeof(why)) != 0) {
        log_error("Cannot start the client's helper: %s", why);
        return 1;
    }
    if (c->cfg->kill_switch)
        log_info("Kill switch armed: nothing leaves but through %s and to the server",
                 c->tun_name);
    if (underlay_open(c) != 0) {
        log_error("Cannot open a UDP socket: %s", strerror(errno));
        return leave(c, 1);
    }
    c->control_fd = unix_listen(c->cfg->control_socket);
    if (c->control_fd < 0)
        log_warn("No control socket at %s: %s", c->cfg->control_socket,
                 strerror(-c->control_fd));

    c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->on_event = conn_event;
    role_take(&c->rx_role);     /* the main thread holds it but while it sleeps (client.h) */
    if (c->stop_fd < 0 || c->exit_fd < 0 || sem_init(&c->tun_started, 0, 0) != 0) {
        log_error("Cannot start the TUN thread: %s", strerror(errno));
        return leave(c, 1);
    }
    thread_short_slice();   /* both threads': the TUN thread, started below, inherits it */
    if (sandbox(c) != 0)
        return leave(c, 1);
    pthread_t tun_thread;
    if (pthread_create(&tun_thread, NULL, datapath_tun_thread, c) != 0) {
        log_error("Cannot start the TUN thread: %s", strerror(errno));
        return leave(c, 1);
    }
    while (sem_wait(&c->tun_started) != 0 && errno == EINTR)
        ;
    int rc = sandbox_install_filter(c->helper.pid);
    if (rc != 0) {
        log_error("Cannot install the seccomp filter: %s", strerror(-rc));
        return leave(c, 1);
    }
    /* The handshake starts once the helper has found the server's address (conn_helper). */
    underlay_want_lookup(c, clock_monotonic_ms());
    int status = 0;
    while (!c->stop) {
        struct pollfd p[5] = {
            { .fd = c->udp_watch, .events = POLLIN },
            { .fd = c->signal_fd, .events = POLLIN },
            { .fd = c->helper.fd, .events = POLLIN },
            { .fd = c->control_fd, .events = POLLIN },
            { .fd = c->exit_fd, .events = POLLIN },
        };
        role_release(&c->rx_role);      /* the TUN thread may take a reply meanwhile */
        int n = poll(p, 5, 250);
        role_wait(&c->rx_role);
        if (n < 0 && errno != EINTR)
            break;
        int got = 0;
        if (!c->rx_exit && (p[0].revents & POLLIN))
            got = datapath_from_udp(c, conn_event);
        if (c->rx_exit || got < 0) {
            status = 1;
            break;
        }
        counter_add(&c->main_rx, (uint64_t)got);   /* its one writer: no locked add */
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(c->signal_fd, &si, sizeof(si)) == sizeof(si))
                c->stop = true;
        }
        if (p[2].revents && conn_helper(c) < 0) {
            status = 1;
            break;
        }
        if (c->control_fd >= 0 && (p[3].revents & POLLIN))
            control_serve(c);
        if (conn_tick(c) < 0) {
            status = 1;
            break;
        }
    }
    uint64_t one = 1;
    ssize_t w = write(c->stop_fd, &one, sizeof(one));
    (void)w;
    pthread_join(tun_thread, NULL);
    if (status == 0) {
        conn_stop(c);
        log_info("Disconnected");
    }
    status = leave(c, status);
    /* The control socket's file stays: an unprivileged user may not remove it from /run, and
     * the filter forbids unlink. The next start replaces it; status meanwhile says that no
     * client runs. */
    if (c->control_fd >= 0)
        close(c->control_fd);
    close(c->tun_fd);   /* the device and its routes go with it */
    close(c->udp_fd);
    close(c->udp_watch);
    conn_wipe(c);
    return status;
}

int main(int argc, char **argv)
{
    static struct client_config cfg;
    static struct client c;
    const char *config = NULL, *given_key = NULL, *command = "connect";
    bool verbose = false;
    if (argc > 1 && argv[1][0] != '-') {
        command = argv[1];
        argv++;
        argc--;
    }
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "server-key", required_argument, NULL, 'k' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "c:k:vh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case 'k': given_key = optarg; break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vpn-client: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!config)
        config = DEFAULT_CONFIG;
    if (strcmp(command, "status") == 0)
        return ask_running(config, "status");
    if (strcmp(command, "disconnect") == 0)
        return ask_running(config, "disconnect");
    if (strcmp(command, "connect") != 0) {
        fprintf(stderr, "vpn-client: unknown command '%s'\n", command);
        usage(stderr);
        return 2;
    }
    /* Before the configuration is read, so that its errors reach journald (vpn-client@.service)
     * with their priority too; the configured level and file follow. */
    log_init(LOG_INFO, NULL);
    struct config_error err;
    if (client_config_load(config, &cfg, &err) != 0) {
        log_error("Configuration error: %s", err.msg);
        return 2;
    }
    int rc = log_init(verbose ? LOG_DEBUG : cfg.log_level, cfg.log_file);
    if (rc != 0)
        log_warn("Cannot open the log file %s: %s; logging to stderr", cfg.log_file,
                 strerror(-rc));
    if (sodium_init() < 0)
        return 1;
    /* Before the sandbox (aead.h); the TUN thread makes its own context at its start. */
    if (aead_init() != 0)
        log_warn("OpenSSL's AEAD is unavailable: libsodium's serves instead");
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    c.cfg = &cfg;
    client_sm_init(&c.sm);
    c.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
    c.control_fd = -1;
    c.helper.fd = -1;
    c.udp_fd = c.udp_watch = c.sock4 = c.sock6 = -1;
    snprintf(c.server_text, sizeof(c.server_text), "%s:%u", cfg.server_ip, cfg.server_port);
    push_policy_init(&c.policy, &cfg);
    return run(&c, given_key);
}
