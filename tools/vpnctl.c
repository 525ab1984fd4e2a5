/* vpnctl: the operator's tool for a vpn-server, like `wg show` and `wg set` together.
 *
 *   vpnctl show [--json] [-s SOCKET]     sessions, endpoints, transfer, drops, QoS classes
 *   vpnctl metrics [-s SOCKET]           the same status as Prometheus text (for
 *                                        node_exporter's textfile collector)
 *   vpnctl reopen-logs [-s SOCKET]       open the log file anew (after logrotate renamed it)
 *   vpnctl usage | history ...           from the usage database (vpn/usage_report.h)
 *   vpnctl [-c SERVER_CONF] user add NAME [--class C] [--ip A] [--devices N]
 *                                         [--endpoint HOST[:PORT]] [--out FILE]
 *                                         [--wireguard [device add's options]]
 *   vpnctl [-c SERVER_CONF] user list
 *   vpnctl [-c SERVER_CONF] user disable|enable|remove NAME
 *   vpnctl [-c SERVER_CONF] user config NAME [--endpoint HOST[:PORT]] [--out FILE]
 *   vpnctl [-c SERVER_CONF] device add USER --wireguard [--name DEVICE] [--psk]
 *                                         [--address IP] [--endpoint HOST[:PORT]] [--out FILE]
 *                                         [--png FILE] [--full-tunnel] [--qr | --no-qr]
 *   vpnctl [-c SERVER_CONF] device list [USER] [--json]
 *   vpnctl [-c SERVER_CONF] device remove USER DEVICE
 *   vpnctl ini-set FILE SECTION.KEY=VALUE...    (for scripts: edits an INI file in place)
 *
 * It asks the server's control socket (root's, mode 0600: made before the server drops root;
 * or a group's, [metrics] control_socket_group, which may read but not reload).
 * The user commands edit the users file and the classes file (user_admin.h: locked, checked,
 * replaced whole), then ask the running server to reload them and wait until the enclave has
 * (no restart, and nobody else's session touched); a server that is not running reads them at
 * its next start. `user add` and `user config` print a client.conf for the user: the endpoint
 * from [server] public_endpoint (or --endpoint), the server's public key, the user's token.
 * The device commands (vpnctl/device_cmd.h) add, list and remove users' WireGuard devices the
 * same way; `device add` and `user add --wireguard` print the device's wg-quick configuration
 * with its new private key, and its QR code (vpnctl/wg_onboard.h).
 *
 * Exit status: 0 done, 1 failed (the reason on stderr), 2 usage or configuration error. */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics_format.h"
#include "metrics/status_ask.h"
#include "vpnctl/device_cmd.h"
#include "vpnctl/opts.h"
#include "vpnctl/server_link.h"
#include "vpnctl/wg_onboard.h"
#include "vpn/atomic_file.h"
#include "vpn/ini_edit.h"
#include "vpn/json.h"
#include "vpn/keyfile.h"
#include "vpn/netaddr.h"
#include "vpn/server_config.h"
#include "vpn/unix_socket.h"
#include "vpn/usage_report.h"
#include "vpn/user_admin.h"

#define SERVER_CONF_DEFAULT "/etc/vpnse/server.conf"

static int usage(void)
{
    fprintf(stderr,
            "usage: vpnctl show [--json] [-s SOCKET]   (default %s)\n"
            "       vpnctl metrics | reopen-logs [-s SOCKET]\n"
            "       vpnctl usage | history [--help]\n"
            "       vpnctl [-c SERVER_CONF] [-s SOCKET] user add NAME [--class C] [--ip A]\n"
            "              [--devices N] [--endpoint HOST[:PORT]] [--out FILE]\n"
            "       vpnctl [-c SERVER_CONF] user list\n"
            "       vpnctl [-c SERVER_CONF] user disable|enable|remove NAME\n"
            "       vpnctl [-c SERVER_CONF] user config NAME [--endpoint HOST[:PORT]] "
            "[--out FILE]\n"
            "       vpnctl [-c SERVER_CONF] user add NAME --wireguard [device add's options]\n"
            "       vpnctl [-c SERVER_CONF] [-s SOCKET] device add USER --wireguard [--name DEVICE]\n"
            "              [--psk] [--address IP] [--endpoint HOST[:PORT]] [--out FILE]\n"
            "              [--png FILE] [--full-tunnel] [--qr | --no-qr]\n"
            "       vpnctl [-c SERVER_CONF] device list [USER] [--json]\n"
            "       vpnctl [-c SERVER_CONF] device remove USER DEVICE\n"
            "       vpnctl ini-set FILE SECTION.KEY=VALUE...\n"
            "SERVER_CONF defaults to %s\n", CONTROL_SOCKET_DEFAULT, SERVER_CONF_DEFAULT);
    return 2;
}

static int parse_opts(int argc, char **argv, struct vpnctl_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->config = SERVER_CONF_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "-c") == 0 && v)
            o->config = v;
        else if (strcmp(a, "-s") == 0 && v)
            o->socket = v;
        else if (strcmp(a, "--class") == 0 && v)
            o->class_name = v;
        else if (strcmp(a, "--ip") == 0 && v)
            o->ip = v;
        else if (strcmp(a, "--endpoint") == 0 && v)
            o->endpoint = v;
        else if (strcmp(a, "--out") == 0 && v)
            o->out = v;
        else if (strcmp(a, "--name") == 0 && v)
            o->name = v;
        else if (strcmp(a, "--address") == 0 && v)
            o->address = v;
        else if (strcmp(a, "--png") == 0 && v)
            o->png = v;
        else if (strcmp(a, "--devices") == 0 && v) {
            char *e;
            long n = strtol(v, &e, 10);
            if (*e || n < 1 || n > USER_DEVICES_MAX) {
                fprintf(stderr, "vpnctl: --devices: expected 1 to %d, got \"%s\"\n",
                        USER_DEVICES_MAX, v);
                return -1;
            }
            o->devices = (int)n;
        } else {
            takes = false;
            if (strcmp(a, "--json") == 0)
                o->json = true;
            else if (strcmp(a, "--wireguard") == 0)
                o->wireguard = true;
            else if (strcmp(a, "--psk") == 0)
                o->psk = true;
            else if (strcmp(a, "--full-tunnel") == 0)
                o->full_tunnel = true;
            else if (strcmp(a, "--no-qr") == 0)
                o->no_qr = true;
            else if (strcmp(a, "--qr") == 0)
                o->qr = true;
            else if (a[0] == '-' || o->n_words == 4)
                return -1;
            else
                o->words[o->n_words++] = a;
        }
        i += takes;
    }
    return 0;
}

/* ---- vpnctl show ---- */

static int cmd_show(const struct vpnctl_opts *o)
{
    const char *path = o->socket ? o->socket : CONTROL_SOCKET_DEFAULT;
    int rc = unix_request(path, o->json ? "show json" : "show", stdout);
    if (rc != 0) {
        fprintf(stderr, "vpnctl: cannot reach the server at %s: %s\n", path, strerror(-rc));
        return 1;
    }
    return 0;
}

/* ---- vpnctl metrics, reopen-logs ---- */

/* Prometheus text of the server's JSON status on stdout; when the server cannot be asked,
 * vpn_up 0 (so that a textfile collector shows the server down) and exit status 1. */
static int cmd_metrics(const struct vpnctl_opts *o)
{
    const char *path = o->socket ? o->socket : CONTROL_SOCKET_DEFAULT;
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

/* The server's answer to a request it could not carry out starts with "error:". */
static int cmd_reopen_logs(const struct vpnctl_opts *o)
{
    const char *path = o->socket ? o->socket : CONTROL_SOCKET_DEFAULT;
    int rc;
    char *reply = server_ask(path, "reopen-logs", &rc);
    if (!reply) {
        fprintf(stderr, "vpnctl: cannot reach the server at %s: %s\n", path, strerror(-rc));
        return 1;
    }
    bool error = strncmp(reply, "error:", 6) == 0;
    fputs(reply, error ? stderr : stdout);
    free(reply);
    return error ? 1 : 0;
}

/* ---- vpnctl ini-set ---- */

static int cmd_ini_set(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    const char *path = argv[2];
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    if (!f || getdelim(&text, &len, '\0', f) < 0) {
        if (!f || ferror(f)) {
            fprintf(stderr, "vpnctl ini-set: cannot read %s: %s\n", path, strerror(errno));
            if (f)
                fclose(f);
            free(text);
            return 1;
        }
        free(text);
        text = strdup("");      /* an empty file */
    }
    fclose(f);
    for (int i = 3; i < argc; i++) {
        char section[256];
        const char *dot = strchr(argv[i], '.'), *eq = strchr(argv[i], '=');
        if (!dot || !eq || dot > eq || (size_t)(dot - argv[i]) >= sizeof(section)) {
            fprintf(stderr, "vpnctl ini-set: expected SECTION.KEY=VALUE, got \"%s\"\n", argv[i]);
            free(text);
            return 2;
        }
        memcpy(section, argv[i], (size_t)(dot - argv[i]));
        section[dot - argv[i]] = '\0';
        char *key = strndup(dot + 1, (size_t)(eq - dot - 1));
        int rc = key ? ini_edit_set(&text, section, key, eq + 1) : -1;
        free(key);
        if (rc != 0) {
            fprintf(stderr, "vpnctl ini-set: cannot set \"%s\"\n", argv[i]);
            free(text);
            return 2;
        }
    }
    /* In place, as the tests' and benchmarks' copies of the examples expect (same inode and
     * mode): scripts edit files they own. */
    f = fopen(path, "w");
    int rc = f && fputs(text, f) >= 0 && fclose(f) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "vpnctl ini-set: cannot write %s: %s\n", path, strerror(errno));
    free(text);
    return rc;
}

/* ---- client bundles ---- */

/* host and port clients reach the server at: --endpoint, else [server] public_endpoint, with
 * listen_port when it names none. */
static int bundle_endpoint(const struct vpnctl_opts *o, const struct server_config *cfg, char *host,
                           size_t host_len, uint16_t *port)
{
    const char *ep = o->endpoint ? o->endpoint : cfg->public_endpoint;
    if (!ep[0]) {
        fprintf(stderr, "vpnctl: no endpoint for the client bundle: set [server] "
                        "public_endpoint = HOST[:PORT] in %s (the address or name clients "
                        "reach this server at), or give --endpoint HOST[:PORT]\n", cfg->path);
        return -1;
    }
    if (split_host_port(ep, host, host_len, port) != 0) {
        fprintf(stderr, "vpnctl: --endpoint: expected HOST, HOST:PORT or [IPv6]:PORT, got "
                        "\"%s\"\n", ep);
        return -1;
    }
    if (!*port)
        *port = cfg->listen_port;
    return 0;
}

/* Prints (or with --out, writes mode 0600) the client.conf of user u. */
static int print_bundle(const struct vpnctl_opts *o, const struct server_config *cfg,
                        const char *socket_path, const struct user_admin_user *u)
{
    char host[256], key[KEYFILE_B64_LEN + 1], token[2 * TOKEN_LEN + 1];
    uint16_t port;
    char why[PATH_MAX + 128];
    if (bundle_endpoint(o, cfg, host, sizeof(host), &port) != 0)
        return -1;
    if (server_public_key(socket_path, "public_key", cfg->private_key_file, key, why,
                          sizeof(why)) != 0) {
        fprintf(stderr, "vpnctl: no server public key for the bundle (%s); start the server "
                        "once (it creates the key), then: vpnctl user config %s\n", why,
                u->name);
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -1;
    sodium_bin2hex(token, sizeof(token), u->token, TOKEN_LEN);
    fprintf(f, "# vpn-client configuration of %s for %s:%u (vpnctl user config %s prints it "
               "again).\n# It holds %s's token: install it with mode 0600, e.g.\n"
               "#     sudo install -m 600 %s.conf /etc/vpnse/client.conf\n"
               "[client]\nserver_ip = %s\nserver_port = %u\nusername = %s\nauth_token = %s\n"
               "server_public_key = %s\n", u->name, host, port, u->name, u->name, u->name, host,
            port, u->name, token, key);
    sodium_memzero(token, sizeof(token));
    fclose(f);
    int rc = 0;
    if (o->out) {
        rc = atomic_file_write(o->out, text, len, 0600, why, sizeof(why));
        if (rc)
            fprintf(stderr, "vpnctl: %s\n", why);
        else
            fprintf(stderr, "vpnctl: client configuration of %s written to %s (mode 0600)\n",
                    u->name, o->out);
    } else {
        fputs(text, stdout);
    }
    sodium_memzero(text, len);
    free(text);
    return rc;
}

/* ---- vpnctl user ---- */

/* "now", "12 s ago", ... since a UNIX time, or "never" (since the server started). */
static void format_seen(unsigned long long when, int devices, char *out, size_t len)
{
    time_t now = time(NULL);
    if (devices) {
        snprintf(out, len, "online");
    } else if (!when) {
        snprintf(out, len, "-");
    } else {
        long long ago = (long long)now - (long long)when;
        struct tm tm;
        time_t t = (time_t)when;
        char date[32];
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
        if (ago < 120)
            snprintf(out, len, "%s (%llds ago)", date, ago < 0 ? 0 : ago);
        else if (ago < 7200)
            snprintf(out, len, "%s (%lldm ago)", date, ago / 60);
        else
            snprintf(out, len, "%s (%lldh ago)", date, ago / 3600);
    }
}

/* The server's entry for name in a "users" reply: devices online, addresses, last seen. */
static bool server_entry(const char *reply, const char *name, int *devices, char *addrs,
                         size_t addrs_len, unsigned long long *seen)
{
    const char *p = reply ? strstr(reply, "\"users\":[") : NULL;
    char user[USERNAME_MAX + 1];
    while (p && json_get_string(p, "user", user, sizeof(user), &p)) {
        if (strcmp(user, name) != 0)
            continue;
        unsigned long long d = 0;
        const char *a = strstr(p, "\"addresses\":[");
        size_t n = 0;
        addrs[0] = '\0';
        for (const char *q = a ? a + 13 : NULL; q && *q == '"';) {
            const char *e = strchr(q + 1, '"');
            if (!e)
                break;
            int w = snprintf(addrs + n, addrs_len - n, "%s%.*s", n ? "," : "",
                             (int)(e - q - 1), q + 1);
            n += w > 0 && (size_t)w < addrs_len - n ? (size_t)w : 0;
            q = e[1] == ',' ? e + 2 : NULL;
        }
        json_get_uint(p, "devices", &d, NULL);
        json_get_uint(p, "last_seen_unix", seen, NULL);
        *devices = (int)d;
        return true;
    }
    return false;
}

static int cmd_user_list(struct user_admin *a, const struct server_config *cfg,
                         const char *socket_path)
{
    int rc;
    char *reply = server_ask(socket_path, "users", &rc);
    if (!reply)
        fprintf(stderr, "vpnctl: no server running at %s: devices online and last seen "
                        "unknown\n", socket_path);
    printf("%-20s %-9s %-10s %-15s %-7s %-8s %-26s %s\n", "USER", "STATE", "CLASS", "FIXED IP",
           "DEVICES", "ONLINE", "LAST SEEN", "ADDRESSES");
    for (int i = 0; i < a->n_users; i++) {
        const struct user_admin_user *u = &a->users[i];
        int k = server_config_user_index(cfg, u->name), online = 0;
        const char *cls = k >= 0 && cfg->users[k].class_index >= 0
                              ? cfg->classes[cfg->users[k].class_index].name : "-";
        char ip[16] = "-", seen[64], addrs[256] = "";
        unsigned long long when = 0;
        if (k >= 0 && cfg->users[k].vpn_ip)
            format_ipv4(cfg->users[k].vpn_ip, ip);
        server_entry(reply, u->name, &online, addrs, sizeof(addrs), &when);
        format_seen(when, online, seen, sizeof(seen));
        if (!reply)
            snprintf(seen, sizeof(seen), "?");
        printf("%-20s %-9s %-10s %-15s %-7d %-8d %-26s %s\n", u->name,
               u->disabled ? "disabled" : "enabled", cls, ip,
               server_config_max_devices(cfg, u->name), online, seen, addrs);
    }
    free(reply);
    return 0;
}

static int cmd_user(const struct vpnctl_opts *o)
{
    const char *verb = o->n_words > 1 ? o->words[1] : "";
    const char *name = o->n_words > 2 ? o->words[2] : NULL;
    bool list = strcmp(verb, "list") == 0, add = strcmp(verb, "add") == 0;
    bool known = list || add || strcmp(verb, "config") == 0 || strcmp(verb, "disable") == 0 ||
                 strcmp(verb, "enable") == 0 || strcmp(verb, "remove") == 0;
    /* --wireguard: the user's first device is a WireGuard one (wg_onboard.h), and the
     * output its wg-quick configuration rather than a client.conf. */
    bool wg = o->wireguard;
    if (!known || (list != !name) || o->n_words > 3 || (wg && !add))
        return usage();

    static struct server_config cfg;
    struct config_error err;
    if (server_config_load(o->config, &cfg, &err) != 0) {
        fprintf(stderr, "vpnctl: %s\n", err.msg);
        return 2;
    }
    const char *socket_path = o->socket ? o->socket : cfg.control_socket;
    /* Everything the bundle (or the WireGuard configuration) needs is checked before
     * anything is changed. */
    static struct wg_onboard w;
    char host[256];
    uint16_t port;
    int status = 0;
    if (wg && (status = wg_onboard_prepare(&w, o, &cfg, socket_path)) != 0)
        return status;
    if (((add && !wg) || strcmp(verb, "config") == 0) &&
        bundle_endpoint(o, &cfg, host, sizeof(host), &port) != 0)
        return 2;

    bool changes = !list && strcmp(verb, "config") != 0;
    static struct user_admin a;
    char why[1024];
    if (user_admin_open(&a, &cfg, changes, why, sizeof(why)) != 0 ||
        (wg && wg_onboard_refresh(&w, &a, why, sizeof(why)) != 0)) {
        fprintf(stderr, "vpnctl: %s\n", why);
        user_admin_close(&a);
        wg_onboard_close(&w);
        return 1;
    }
    if (list) {
        status = cmd_user_list(&a, &cfg, socket_path);
    } else if (strcmp(verb, "config") == 0) {
        const struct user_admin_user *u = user_admin_find(&a, name);
        if (!u) {
            fprintf(stderr, "vpnctl: no user '%s' in %s\n", name, a.users_path);
            status = 1;
        } else {
            status = print_bundle(o, &cfg, socket_path, u) ? 1 : 0;
        }
    } else {
        uint8_t token[TOKEN_LEN];
        int rc;
        if (add) {
            /* 256 bits from the kernel's CSPRNG (getrandom): nothing to guess. */
            randombytes_buf(token, sizeof(token));
            rc = user_admin_add(&a, name, token, o->class_name, o->ip, o->devices, why,
                                sizeof(why));
            sodium_memzero(token, sizeof(token));
            if (rc == 0 && wg)
                rc = wg_onboard_add(&w, &a, o, name, why, sizeof(why));
        } else if (strcmp(verb, "remove") == 0) {
            rc = user_admin_remove(&a, name, why, sizeof(why));
        } else {
            rc = user_admin_set_disabled(&a, name, strcmp(verb, "disable") == 0, why,
                                         sizeof(why));
        }
        if (rc == 0)
            rc = user_admin_commit(&a, why, sizeof(why));
        if (rc != 0) {
            fprintf(stderr, "vpnctl: %s; nothing changed\n", why);
            if (wg)
                wg_onboard_finish(&w, o, false);
            status = 1;
        } else {
            /* Still under the lock: the server reloads what this run wrote. */
            status = server_reload(socket_path) ? 1 : 0;
            fprintf(stderr, "vpnctl: user %s %s\n", name,
                    add ? "added" : strcmp(verb, "remove") == 0 ? "removed"
                    : strcmp(verb, "disable") == 0 ? "disabled" : "enabled");
            /* A WireGuard configuration is shown even when the server refused the reload:
             * the device is in the files, and its private key nowhere else. */
            if (wg && wg_onboard_finish(&w, o, true) != 0)
                status = 1;
            else if (status == 0 && add && !wg)
                status = print_bundle(o, &cfg, socket_path, user_admin_find(&a, name)) ? 1 : 0;
        }
    }
    user_admin_close(&a);
    wg_onboard_close(&w);
    return status;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ini-set") == 0)
        return cmd_ini_set(argc, argv);
    if (argc > 1 && (strcmp(argv[1], "usage") == 0 || strcmp(argv[1], "history") == 0))
        return usage_report_main(argc - 1, argv + 1);
    struct vpnctl_opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return usage();
    if (sodium_init() < 0) {
        fprintf(stderr, "vpnctl: libsodium failed to initialise\n");
        return 1;
    }
    if (o.n_words == 0 || strcmp(o.words[0], "show") == 0)
        return o.n_words > 1 ? usage() : cmd_show(&o);
    if (strcmp(o.words[0], "user") == 0)
        return cmd_user(&o);
    if (strcmp(o.words[0], "device") == 0) {
        int status = device_cmd(&o);
        return status < 0 ? usage() : status;
    }
    if (strcmp(o.words[0], "metrics") == 0 && o.n_words == 1 && !o.json)
        return cmd_metrics(&o);
    if (strcmp(o.words[0], "reopen-logs") == 0 && o.n_words == 1 && !o.json)
        return cmd_reopen_logs(&o);
    return usage();
}
