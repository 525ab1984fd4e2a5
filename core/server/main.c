/* vpn-server: start-up, the brief's log lines, and shutdown.
 *
 *   vpn-server -c conf/server.conf [-t N] [-d] [-p pidfile] [--check-config] [-v]
 *
 * Start-up is ordered so that a failure at any step undoes the earlier ones (one label per
 * step below), leaving no TUN, qdisc, rule or process behind. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_config.h"
#include "control.h"
#include "control_socket.h"
#include "daemon.h"
#include "nat.h"
#include "privileges.h"
#include "server.h"
#include "tx_role.h"
#include "usage.h"
#include "service_notify.h"
#include "udp.h"
#include "vpn/fd_watch.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/tun.h"
#include "vpn/wg_blake2s.h"

struct options {
    const char *config;
    int workers;
    bool daemon;
    const char *pidfile;
    bool check_only;
    bool verbose;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: vpn-server -c FILE [-t N] [-d] [-p PIDFILE] [--check-config] [-v]\n"
               "  -c FILE          server configuration (e.g. conf/server.conf)\n"
               "  -t N             enclave worker processes (default: number of CPUs, max %d)\n"
               "  -d               run as a daemon, logging to [logging] file\n"
               "  -p PIDFILE       write the daemon's PID there\n"
               "  --check-config   validate the configuration files and exit (0 or 2)\n"
               "  -v               debug logging\n",
               MAX_WORKERS);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "threads", required_argument, NULL, 't' },
        { "daemon", no_argument, NULL, 'd' },
        { "pidfile", required_argument, NULL, 'p' },
        { "check-config", no_argument, NULL, 'C' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->workers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (int)cpus;
    int c;
    while ((c = getopt_long(argc, argv, "c:t:dp:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 't': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > MAX_WORKERS) {
                fprintf(stderr, "vpn-server: -t: expected a number of workers from 1 to %d, "
                                "got '%s'\n", MAX_WORKERS, optarg);
                return -1;
            }
            o->workers = (int)n;
            break;
        }
        case 'd': o->daemon = true; break;
        case 'p': o->pidfile = optarg; break;
        case 'C': o->check_only = true; break;
        case 'v': o->verbose = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vpn-server: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->config) {
        fprintf(stderr, "vpn-server: -c FILE is required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* The enclave binary, which is handed every key: beside ours (bin/ of the build tree) or, as
 * `make install` and the package lay it out, in PREFIX/libexec/vpnse/ for our PREFIX/sbin/;
 * found through /proc/self/exe, never through PATH or the working directory. VPN_ENCLAVE may
 * name another one (the tests point it at a build with test hooks), but only an absolute path
 * to a regular file owned by root or by our effective user and writable by no group or other
 * user; anything else is refused rather than run as the holder of the keys. Writes the
 * path into out and returns 0, or -1 with the reason in why. */
static int enclave_path(char *out, size_t len, char *why, size_t why_len)
{
    const char *env = getenv("VPN_ENCLAVE");
    if (env && *env) {
        struct stat st;
        if (env[0] != '/') {
            snprintf(why, why_len, "VPN_ENCLAVE=%s: must be an absolute path", env);
            return -1;
        }
        if (stat(env, &st) != 0) {
            snprintf(why, why_len, "VPN_ENCLAVE=%s: %s", env, strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(why, why_len, "VPN_ENCLAVE=%s: not a regular file", env);
            return -1;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
            snprintf(why, why_len, "VPN_ENCLAVE=%s: owned by uid %u, expected root (or uid %u)",
                     env, (unsigned)st.st_uid, (unsigned)geteuid());
            return -1;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
            snprintf(why, why_len, "VPN_ENCLAVE=%s: writable by group or others (mode %03o)",
                     env, (unsigned)(st.st_mode & 0777));
            return -1;
        }
        if (snprintf(out, len, "%s", env) >= (int)len) {
            snprintf(why, why_len, "VPN_ENCLAVE: path too long");
            return -1;
        }
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        snprintf(why, why_len, "cannot find our own executable in /proc/self/exe (%s), so "
                 "not vpn-enclave beside it either", n < 0 ? strerror(errno) : "empty");
        return -1;
    }
    self[n] = '\0';
    /* /proc/self/exe has no symbolic link or ".." left: its dirname's dirname is PREFIX. */
    char *dir = dirname(self);
    char beside[PATH_MAX + 16];
    snprintf(beside, sizeof(beside), "%s/vpn-enclave", dir);
    struct stat st;
    if (stat(beside, &st) == 0 && S_ISREG(st.st_mode)) {
        if (snprintf(out, len, "%s", beside) >= (int)len) {
            snprintf(why, why_len, "path of vpn-enclave too long");
            return -1;
        }
        return 0;
    }
    const char *prefix = dirname(dir);
    if (snprintf(out, len, "%s/libexec/vpnse/vpn-enclave", strcmp(prefix, "/") ? prefix : "")
        >= (int)len) {
        snprintf(why, why_len, "path of vpn-enclave too long");
        return -1;
    }
    if (stat(out, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "vpn-enclave is neither beside vpn-server (%.400s) nor at %.400s",
                 beside, out);
        return -1;
    }
    return 0;
}

/* Written as root, possibly into the runtime directory the main process owns later: a fresh
 * file (O_EXCL after unlink), never through a link or into an existing file someone else put
 * there. Returns 0 or -errno. */
static int pidfile_write(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    char line[24];
    int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    int rc = write(fd, line, (size_t)n) == n ? 0 : -EIO;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

static int start_threads(struct server *srv)
{
    tx_init(srv);
    if (pthread_create(&srv->tx_thread, NULL, tx_thread_main, srv) != 0)
        return -1;
    if (pthread_create(&srv->rx_thread, NULL, rx_thread_main, srv) != 0)
        return -1;
    if (pthread_create(&srv->tun_thread, NULL, tun_thread_main, srv) != 0)
        return -1;
    pthread_setname_np(srv->tx_thread, "vpn-tx");
    pthread_setname_np(srv->rx_thread, "vpn-rx");
    pthread_setname_np(srv->tun_thread, "vpn-tun");
    return 0;
}

static void stop_threads(struct server *srv)
{
    uint64_t one = 1;
    srv->stopping = true;
    ssize_t n = write(srv->stop_fd, &one, sizeof(one));
    (void)n;
    pthread_join(srv->rx_thread, NULL);
    pthread_join(srv->tun_thread, NULL);
    pthread_join(srv->tx_thread, NULL);
}

int main(int argc, char **argv)
{
    static struct server_config cfg;
    static struct server srv;
    static struct control ctl;
    static struct usage usage;     /* usage.h: opened as root, kept by the control thread */
    struct options opt = { 0 };
    struct config_error err;
    struct privileges priv;
    char why[1024];
    int status = 1;
    bool pidfile_written = false;

    if (parse_options(argc, argv, &opt) != 0)
        return 2;
    /* Before the configuration is read, so that its errors reach journald with their
     * priority too; the configured level follows. */
    log_init(LOG_INFO, NULL);
    if (server_config_load(opt.config, &cfg, &err) != 0) {
        log_error("Configuration error: %s", err.msg);
        return 2;
    }
    char path[PATH_MAX];
    if (opt.check_only) {
        bool found = enclave_path(path, sizeof(path), why, sizeof(why)) == 0;
        return check_config(&cfg, found ? path : NULL, why);
    }
    /* Before anything is set up, so that a missing user leaves nothing behind. */
    int rc = privileges_resolve(&cfg, &priv, why, sizeof(why));
    if (rc == PRIVILEGES_CONFLICT) {
        log_error("Configuration error: %s", why);
        return 2;
    }
    if (rc != 0) {
        log_error("%s", why);
        return 1;
    }
    if (opt.verbose)
        cfg.log_level = LOG_DEBUG;
    int ready_fd = -1;
    if (opt.daemon) {
        ready_fd = daemon_start();
        if (ready_fd < 0) {
            fprintf(stderr, "[ERROR] Cannot daemonize: %s\n", strerror(-ready_fd));
            return 1;
        }
        rc = log_init(cfg.log_level, cfg.log_file);
        if (rc != 0) {
            log_error("Cannot open the log file %s: %s", cfg.log_file, strerror(-rc));
            return 1;
        }
    } else {
        log_init(cfg.log_level, NULL);
    }
    if (sodium_init() < 0) {
        log_error("libsodium failed to initialise");
        return 1;
    }

    srv.cfg = &cfg;
    srv.mtu = cfg.mtu;
    srv.tun_fd = srv.tun_watch = srv.udp_fd = srv.wg_fd = srv.control_fd = -1;
    cds_wfcq_init(&srv.events_head, &srv.events_tail);
    log_info("Starting VPN server...");
    if (priv.stay_root)
        log_warn("[security] user = %s: the main process keeps uid 0 after set-up, so a flaw "
                 "in it could read the server key and users file and write any root-owned "
                 "file; leave user unset to run as %s", cfg.user, SERVER_USER_DEFAULT);
    if (cfg.enclave_socket_given)
        log_info("Note: enclave_socket is no longer used; the enclave talks over a private "
                 "socketpair");
    if (privileges_runtime_dir(&priv, cfg.control_socket, why, sizeof(why)) != 0)
        log_warn("%s", why);
    if (opt.daemon && opt.pidfile) {
        rc = pidfile_write(opt.pidfile);
        if (rc != 0) {
            log_error("Cannot write the pid file %s: %s", opt.pidfile, strerror(-rc));
            return 1;
        }
        pidfile_written = true;
    }

    /* Signals go to the control thread's signalfd; every thread inherits the mask. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    srv.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
    srv.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv.signal_fd < 0 || srv.stop_fd < 0 || srv.event_fd < 0) {
        log_error("Cannot create event descriptors: %s", strerror(errno));
        goto err_pidfile;
    }

    if (enclave_path(path, sizeof(path), why, sizeof(why)) != 0 ||
        enclave_start(&srv.enclave, &cfg, opt.workers, path, priv.enclave_uid, priv.enclave_gid,
                      why, sizeof(why)) != 0) {
        log_error("Failed to start enclave process: %s", why);
        goto err_pidfile;
    }
    log_info("Enclave process started (PID: %d)", (int)srv.enclave.pid);
    {
        char list[256] = "";
        size_t off = 0;
        for (int i = 0; i < opt.workers && off < sizeof(list); i++)
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", i ? ", " : "",
                                    (int)srv.enclave.worker_pids[i]);
        log_info("Enclave workers: %d (PIDs: %s), %d users, server public key %s", opt.workers,
                 list, srv.enclave.users, srv.enclave.public_key);
    }
    /* The public key checks mac1 and seals cookies (handshake_guard.h). */
    if (keyfile_decode(srv.enclave.public_key, srv.s_pub) != 0) {
        log_error("The enclave reported an unreadable public key");
        goto err_enclave;
    }
    if (cfg.wg_enabled && keyfile_decode(srv.enclave.wg_public_key, srv.wg_pub) != 0) {
        log_error("The enclave did not load the WireGuard key ([wireguard] private_key_file)");
        goto err_enclave;
    }
    /* BLAKE2s checks the WireGuard port's mac1 in the RX thread: fetched once, now. */
    if (cfg.wg_enabled && wg_blake2s_init() != 0) {
        log_error("WireGuard: this libcrypto has no BLAKE2s");
        goto err_enclave;
    }

    snprintf(srv.tun_name, sizeof(srv.tun_name), "%s", cfg.tun_device);
    srv.tun_fd = tun_open(srv.tun_name, getenv("VPN_NO_OFFLOAD") == NULL, &srv.tun_offload);
    if (srv.tun_fd < 0) {
        log_error("Failed to create TUN interface: %s", strerror(-srv.tun_fd));
        goto err_enclave;
    }
    log_info("TUN interface created: %s", srv.tun_name);
    srv.tun_watch = fd_watch_open(srv.tun_fd);
    if (srv.tun_watch < 0) {
        log_error("Cannot watch %s: %s", srv.tun_name, strerror(errno));
        goto err_tun;
    }
    log_debug("TUN segmentation offload: %s", srv.tun_offload ? "on (TSO4)" : "off");
    const char *step;
    rc = tun_configure(srv.tun_name, cfg.tun_ip, cfg.tun_prefix, cfg.mtu, &step);
    if (rc != 0) {
        log_error("Failed to configure %s (%s): %s", srv.tun_name, step, strerror(-rc));
        goto err_tun;
    }
    char ip[16];
    log_info("TUN IP configured: %s/%u", format_ipv4(cfg.tun_ip, ip), cfg.tun_prefix);

    if (cfg.qos_enabled) {
        if (qos_setup(&cfg, srv.tun_name, why, sizeof(why)) == 0) {
            srv.qos_active = true;
            log_info("QoS initialized on %s", srv.tun_name);
        } else {
            log_warn("Failed to setup QoS: %s", why);
        }
    }
    struct upload_link_policy link;
    upload_link_policy_for(&cfg, srv.qos_active, &link);
    upload_link_publish(&srv.upload_link_policy, &link);
    if (cfg.nat_interface[0]) {
        if (nat_enable(&cfg, why, sizeof(why)) != 0) {
            log_error("Failed to set up NAT on %s: %s", cfg.nat_interface, why);
            goto err_qos;
        }
        srv.nat_active = true;
        log_info("NAT enabled: %s/%u -> %s", format_ipv4(cfg.tun_ip & ipv4_mask(cfg.tun_prefix), ip),
                 cfg.tun_prefix, cfg.nat_interface);
    } else if (cfg.n_push_routes && !nat_forwarding_enabled()) {
        log_warn("IPv4 forwarding is off: clients will not reach the pushed routes "
                 "(sysctl -w net.ipv4.ip_forward=1, or set [network] nat_interface)");
    }

    srv.udp_fd = udp_listen(cfg.listen_address, cfg.listen_port, why, sizeof(why));
    if (srv.udp_fd < 0) {
        log_error("Failed to listen on UDP port %u: %s", cfg.listen_port, why);
        goto err_nat;
    }
    log_info("UDP server listening on port %u", cfg.listen_port);
    if (cfg.wg_enabled) {
        srv.wg_fd = udp_listen(cfg.listen_address, cfg.wg_listen_port, why, sizeof(why));
        if (srv.wg_fd < 0) {
            log_error("Failed to listen on the WireGuard port %u: %s", cfg.wg_listen_port, why);
            goto err_udp;
        }
        log_info("WireGuard listening on UDP port %u, public key %s", cfg.wg_listen_port,
                 srv.enclave.wg_public_key);
    }

    srv.control_fd = control_socket_open(cfg.control_socket, priv.socket_gid);
    if (srv.control_fd < 0) {
        log_warn("No control socket at %s: %s", cfg.control_socket, strerror(-srv.control_fd));
        srv.control_fd = -1;
    } else if (priv.socket_gid >= 0) {
        log_info("Control socket %s: mode 0660, group %s ([metrics] control_socket_group)",
                 cfg.control_socket, cfg.control_socket_group);
    }
    if (usage_open(&usage, &cfg, why, sizeof(why)) != 0) {
        log_error("Cannot open the usage database: %s", why);
        goto err_control;
    }
    /* The last step that needs root is done. Before any thread exists, liburcu's included
     * (the session tables start its resize worker): capabilities are per thread. */
    if (privileges_drop(&priv, why, sizeof(why)) != 0) {
        log_error("Cannot drop privileges: %s", why);
        goto err_usage;
    }
    if (sessions_init(&srv.sessions) != 0 || control_init(&ctl, &srv, &cfg, opt.config) != 0) {
        log_error("Out of memory");
        goto err_tables;
    }
    ctl.usage = &usage;
    srv.control = &ctl;
    if (start_threads(&srv) != 0) {
        log_error("Cannot start threads: %s", strerror(errno));
        goto err_tables;
    }
    log_info("VPN server is running...");
    if (ready_fd >= 0)
        daemon_ready(ready_fd);
    service_notify_ready(&ctl.notify, ctl.live_sessions, clock_monotonic_ms());

    status = control_run(&ctl);
    service_notify_stopping(&ctl.notify);
    control_disconnect_all(&ctl);
    hooks_stop(&ctl);
    stop_threads(&srv);
err_tables:
    control_uninit(&ctl);
    sessions_uninit(&srv.sessions);
err_usage:
    usage_close(&usage);
err_control:
    control_socket_close(srv.control_fd, cfg.control_socket);
    if (srv.wg_fd >= 0)
        close(srv.wg_fd);
err_udp:
    close(srv.udp_fd);
err_nat:
    if (srv.nat_active)
        nat_disable(&cfg);
err_qos:
    if (srv.qos_active)
        qos_teardown(srv.tun_name);
err_tun:
    if (srv.tun_watch >= 0)
        close(srv.tun_watch);
    close(srv.tun_fd);
err_enclave:
    enclave_stop(&srv.enclave);
    log_info("VPN server stopped");
err_pidfile:
    /* As the service user by now: possible where the runtime directory is (README). */
    if (pidfile_written && unlink(opt.pidfile) != 0)
        log_debug("Cannot remove the pid file %s: %s", opt.pidfile, strerror(errno));
    return status;
}
