/* server.conf (see server_config.h; REQUIREMENTS.md section 2); the QoS classes file it names
 * is qos_classes.c.
 *
 * server.conf is one key table per section (ini_schema.h: kind of value, where it goes, its
 * default); the schema engine reads the file by them. Checks that involve several keys (the
 * pool inside the tunnel network, QoS sums) run here once the whole file is read, and point
 * at the line of the key the operator most likely has to change. */
#include "vpn/server_config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_common.h"
#include "vpn/dns.h"
#include "vpn/ini_schema.h"
#include "vpn/log.h"
#include "vpn/units.h"

/* System user names as useradd(8) takes them by default; no blanks, bounded. */
static bool user_name_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n >= max || s[0] == '-')
        return false;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.' || ch == '$'))
            return false;
    }
    return true;
}

/* [security] user: who the main process becomes after set-up. */
static int set_user(const struct ini_at *at, void *dst, const char *v, struct config_error *err)
{
    size_t size = at->key->size;
    /* Empty once meant "stay root"; staying root now takes an explicit "root". */
    if (!*v || !user_name_valid(v, size)) {
        ini_schema_errorf(err, at, "expected a system user name (letters, digits, '_', '-', "
                          "'.', at most %zu; default %s, or root to keep uid 0), got "
                          "\"%.64s\"", size - 1, SERVER_USER_DEFAULT, v);
        return -1;
    }
    if (strcmp(v, ENCLAVE_USER) == 0) {
        ini_schema_errorf(err, at, "%s is the enclave's user; the main process must not share "
                          "its uid (default %s)", ENCLAVE_USER, SERVER_USER_DEFAULT);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* [security] enclave_socket: the brief's enclave listened on this path; ours is reached over
 * a private socketpair, so the value has no use. The server logs the notice. */
static int set_enclave_socket(const struct ini_at *at, void *dst, const char *v,
                              struct config_error *err)
{
    *(bool *)dst = true;
    return 0;
}

/* [metrics] control_socket_group: the group that may read the control socket (vpn-metrics
 * runs in it); a system group name, by the rule of user names. */
static int set_group(const struct ini_at *at, void *dst, const char *v, struct config_error *err)
{
    size_t size = at->key->size;
    if (!*v)
        return 0;   /* none: the socket stays root's alone (0600) */
    if (!user_name_valid(v, size)) {
        ini_schema_errorf(err, at, "expected a system group name (letters, digits, '_', '-', "
                          "'.', at most %zu), got \"%.64s\"", size - 1, v);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* [server] public_endpoint: where clients reach the server from outside (a router's address
 * or a dynamic-DNS name), for the client bundles vpnctl prints. Not resolved here. */
static int set_public_endpoint(const struct ini_at *at, void *dst, const char *v,
                               struct config_error *err)
{
    char host[256];
    uint16_t port;
    if (strlen(v) >= at->key->size || split_host_port(v, host, sizeof(host), &port) != 0) {
        ini_schema_errorf(err, at, "expected host, host:port or [IPv6]:port (the address or "
                          "name clients connect to), got \"%.64s\"", v);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* [metrics] listen: where vpn-metrics serves (vpn-server itself only checks it). */
static int set_metrics_listen(const struct ini_at *at, void *dst, const char *v,
                              struct config_error *err)
{
    struct server_config *cfg = at->obj;
    if (!*v)
        return 0;   /* off */
    if (strlen(v) >= at->key->size || parse_host_port(v, &cfg->metrics_addr) != 0) {
        ini_schema_errorf(err, at, "expected ADDRESS:PORT with a numeric address "
                          "(127.0.0.1:9586, [::1]:9586), got \"%.64s\"", v);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* [network] dns: the resolvers pushed to clients that ask (docs/PROTOCOL.md, extension 4),
 * "10.8.0.1, 9.9.9.9": comma-separated, blanks around an item ignored, as push_routes. */
static int set_dns(const struct ini_at *at, void *dst, const char *v, struct config_error *err)
{
    struct server_config *cfg = at->obj;
    uint32_t *out = dst;
    int n = 0;
    for (const char *p = v;;) {
        size_t len = strcspn(p, ",");
        char item[32];
        snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : sizeof(item) - 1),
                 p);
        char *a = item + strspn(item, " \t");
        size_t end = strlen(a);
        while (end > 0 && (a[end - 1] == ' ' || a[end - 1] == '\t'))
            a[--end] = '\0';
        uint32_t addr = 0;
        const char *why =
            parse_ipv4(a, &addr) != 0 ? "not an IPv4 address" : dns_server_check(addr);
        if (why) {
            ini_schema_errorf(err, at, "expected a comma-separated list of up to %d resolvers, "
                              "each " DNS_SERVER_RULE "; \"%s\" is %s", DNS_SERVERS_MAX, a, why);
            return -1;
        }
        if (n == DNS_SERVERS_MAX) {
            ini_schema_errorf(err, at, "at most %d resolvers (a client's resolv.conf uses no "
                              "more)", DNS_SERVERS_MAX);
            return -1;
        }
        out[n++] = addr;
        p += len;
        if (!*p)
            break;
        p++;
    }
    cfg->n_dns = n;
    return 0;
}

/* [network] dns_search: the search list pushed with them, "home.lan, corp.example". */
static int set_dns_search(const struct ini_at *at, void *dst, const char *v,
                          struct config_error *err)
{
    const char *why = dns_search_from_text(v, dst);
    if (why) {
        ini_schema_errorf(err, at, "expected " DNS_SEARCH_RULE "; %s", why);
        return -1;
    }
    return 0;
}

/* A key stored in struct server_config. */
#define KEY(n, t, f)                                                                         \
    .name = n, .type = t, .off = offsetof(struct server_config, f),                          \
    .size = sizeof(((struct server_config *)0)->f)
#define AUX(f) .aux = offsetof(struct server_config, f)

static const struct key_spec server_keys[] = {
    { KEY("listen_port", KEY_UINT, listen_port), .min = 1, .max = 65535, .def = "51820" },
    { KEY("listen_address", KEY_IP_LITERAL, listen_address), .def = "::" },
    { KEY("tun_device", KEY_IFNAME, tun_device), .def = "tun0" },
    { KEY("tun_ip", KEY_IPV4, tun_ip), .flags = KEY_REQUIRED },
    { KEY("tun_netmask", KEY_PREFIX, tun_prefix), .def = "24" },
    { KEY("mtu", KEY_UINT, mtu), .min = MTU_MIN, .max = MTU_MAX, .def = "1400" },
    { KEY("public_endpoint", KEY_CUSTOM, public_endpoint), .set = set_public_endpoint },
};

static const struct key_spec network_keys[] = {
    { KEY("client_ip_pool_start", KEY_IPV4, pool_start), .flags = KEY_REQUIRED },
    { KEY("client_ip_pool_end", KEY_IPV4, pool_end), .flags = KEY_REQUIRED },
    { KEY("push_routes", KEY_CIDR_LIST, push_routes), AUX(n_push_routes), .max = MAX_ROUTES,
      .flags = KEY_EMPTY_OK, .too_many = "at most %d routes fit in the connect response" },
    { KEY("nat_interface", KEY_IFNAME, nat_interface), .flags = KEY_EMPTY_OK },
    { KEY("dns", KEY_CUSTOM, dns), .set = set_dns },
    { KEY("dns_search", KEY_CUSTOM, dns_search), .set = set_dns_search },
};

static const struct key_spec qos_keys[] = {
    { KEY("enabled", KEY_BOOL, qos_enabled), .def = "false" },
    { KEY("total_bandwidth", KEY_BANDWIDTH, total_bandwidth_bps) },
    { KEY("default_class", KEY_CLASSID, default_major), AUX(default_minor), .def = "1:20" },
    { KEY("default_rate", KEY_BANDWIDTH, default_rate_bps), .def = "3Mbps" },
    { KEY("default_ceil", KEY_BANDWIDTH, default_ceil_bps), .def = "6Mbps" },
    /* its default, qos_classes.conf if present, is server_config_load's */
    { KEY("classes_file", KEY_PATH, classes_file), .flags = KEY_EMPTY_OK },
};

static const struct key_spec security_keys[] = {
    { KEY("enclave_socket", KEY_CUSTOM, enclave_socket_given), .flags = KEY_EMPTY_OK,
      .set = set_enclave_socket },
    { KEY("max_clients", KEY_UINT, max_clients), .min = 1, .max = MAX_CLIENTS_LIMIT,
      .def = "200" },
    { KEY("max_devices", KEY_UINT, max_devices), .min = 1, .max = USER_DEVICES_MAX,
      .def = "4" },
    { KEY("session_timeout", KEY_UINT, session_timeout_s), .min = 10, .max = 604800,
      .def = "3600" },
    { KEY("private_key_file", KEY_PATH, private_key_file), .def = "server.key" },
    { KEY("users_file", KEY_PATH, users_file), .def = "users.conf" },
    { KEY("control_socket", KEY_SOCKET_PATH, control_socket), .def = CONTROL_SOCKET_DEFAULT },
    { KEY("user", KEY_CUSTOM, user), .flags = KEY_EMPTY_OK, .set = set_user,
      .def = SERVER_USER_DEFAULT },
    { KEY("replay_window_ms", KEY_UINT, replay_window_ms), .min = 100, .max = 600000,
      .def = "5000" },
    { KEY("keepalive", KEY_UINT, keepalive_s), .min = 1, .max = 3600, .def = "25" },
    { KEY("rekey_interval", KEY_UINT, rekey_interval_s), .min = 15, .max = 86400, .def = "600" },
};

static const struct key_spec usage_keys[] = {
    { KEY("database", KEY_PATH, usage_db), .flags = KEY_EMPTY_OK,
      .def = "/var/lib/vpnse/usage.db" },
    { KEY("flush_interval", KEY_UINT, usage_flush_s), .min = 5, .max = 3600, .def = "60" },
    { KEY("retention_days", KEY_UINT, usage_keep_days), .min = 1, .max = 36500, .def = "400" },
};

/* A hook command: kept as written (the shell reads it), one line of printable text. */
static int set_command(const struct ini_at *at, void *dst, const char *v,
                       struct config_error *err)
{
    size_t n = strlen(v);
    if (n >= sizeof(((struct server_config *)0)->hook_on_connect)) {
        ini_schema_errorf(err, at, "a command of at most %zu bytes",
                          sizeof(((struct server_config *)0)->hook_on_connect) - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            ini_schema_errorf(err, at, "a command without control characters");
            return -1;
        }
    memcpy(dst, v, n + 1);
    return 0;
}

static const struct key_spec hooks_keys[] = {
    { KEY("on_connect", KEY_CUSTOM, hook_on_connect), .flags = KEY_EMPTY_OK, .set = set_command },
    { KEY("on_disconnect", KEY_CUSTOM, hook_on_disconnect), .flags = KEY_EMPTY_OK,
      .set = set_command },
    { KEY("timeout", KEY_UINT, hook_timeout_s), .min = 1, .max = 600, .def = "10" },
};

static const struct key_spec logging_keys[] = {
    { KEY("level", KEY_LOG_LEVEL, log_level), .def = "INFO" },
    { KEY("file", KEY_PATH, log_file), .flags = KEY_EMPTY_OK },    /* none: stderr */
};

static const struct key_spec metrics_keys[] = {
    { KEY("listen", KEY_CUSTOM, metrics_listen), .flags = KEY_EMPTY_OK,
      .set = set_metrics_listen },
    { KEY("control_socket_group", KEY_CUSTOM, control_socket_group), .flags = KEY_EMPTY_OK,
      .set = set_group },
};

/* The WireGuard listener's own key: a WireGuard peer pins the server's public key, and it is
 * a Curve25519 key of the same form as ours, but kept apart so that either can be replaced
 * alone. */
static const struct key_spec wireguard_keys[] = {
    { KEY("enabled", KEY_BOOL, wg_enabled), .def = "false" },
    { KEY("listen_port", KEY_UINT, wg_listen_port), .min = 1, .max = 65535, .def = "51821" },
    { KEY("private_key_file", KEY_PATH, wg_private_key_file), .def = "wireguard.key" },
};

#define SECTION(n, k) { .name = n, .keys = k, .n_keys = sizeof(k) / sizeof(k[0]) }
static const struct section_spec server_sections[] = {
    SECTION("server", server_keys),   SECTION("network", network_keys),
    SECTION("qos", qos_keys),         SECTION("security", security_keys),
    SECTION("usage", usage_keys),     SECTION("hooks", hooks_keys),
    SECTION("logging", logging_keys), SECTION("metrics", metrics_keys),
    SECTION("wireguard", wireguard_keys),
};

const struct ini_schema server_config_schema = {
    .sections = server_sections,
    .n_sections = sizeof(server_sections) / sizeof(server_sections[0]),
};

/* Checks across keys once server.conf is read. Returns 0 or -1 with *err. */
static int check_server(const struct ini_schema_state *st, const struct server_config *cfg,
                        const char *file, struct config_error *err)
{
    char a[16], b[16], net[32], x[32], y[32];
    const char *why;

    int tun_line = ini_schema_line(st, "server", "tun_ip");
    int start_line = ini_schema_line(st, "network", "client_ip_pool_start");
    int end_line = ini_schema_line(st, "network", "client_ip_pool_end");
    config_tunnel_net_text(cfg, net, sizeof(net));

    if ((why = config_tunnel_host_problem(cfg, cfg->tun_ip))) {
        config_errorf(err, file, tun_line, "server", "tun_ip",
                      "%s %s %s; the server needs a host address", format_ipv4(cfg->tun_ip, a),
                      why, net);
        return -1;
    }
    if ((why = config_tunnel_host_problem(cfg, cfg->pool_start))) {
        config_errorf(err, file, start_line, "network", "client_ip_pool_start", "%s %s %s",
                      format_ipv4(cfg->pool_start, a), why, net);
        return -1;
    }
    if ((why = config_tunnel_host_problem(cfg, cfg->pool_end))) {
        config_errorf(err, file, end_line, "network", "client_ip_pool_end", "%s %s %s",
                      format_ipv4(cfg->pool_end, a), why, net);
        return -1;
    }
    if (cfg->pool_start > cfg->pool_end) {
        config_errorf(err, file, end_line, "network", "client_ip_pool_end",
                      "%s is below client_ip_pool_start %s", format_ipv4(cfg->pool_end, a),
                      format_ipv4(cfg->pool_start, b));
        return -1;
    }
    if (cfg->tun_ip >= cfg->pool_start && cfg->tun_ip <= cfg->pool_end) {
        config_errorf(err, file, start_line, "network", "client_ip_pool_start",
                      "the pool up to %s contains the server's own tun_ip %s",
                      format_ipv4(cfg->pool_end, a), format_ipv4(cfg->tun_ip, b));
        return -1;
    }

    int qos_line = ini_schema_section_line(st, "qos");
    int rate_line = ini_schema_line(st, "qos", "default_rate");
    int ceil_line = ini_schema_line(st, "qos", "default_ceil");
    int total_line = ini_schema_line(st, "qos", "total_bandwidth");
    if (cfg->default_rate_bps > cfg->default_ceil_bps) {
        config_errorf(err, file, rate_line ? rate_line : ceil_line, "qos", "default_rate",
                      "%s is above default_ceil %s",
                      config_format_bw(cfg->default_rate_bps, x, sizeof(x)),
                      config_format_bw(cfg->default_ceil_bps, y, sizeof(y)));
        return -1;
    }
    if (cfg->qos_enabled && !total_line) {
        config_errorf(err, file, qos_line, "qos", "total_bandwidth",
                      "required when enabled = true");
        return -1;
    }
    if (cfg->qos_enabled && cfg->default_ceil_bps > cfg->total_bandwidth_bps) {
        config_errorf(err, file, ceil_line ? ceil_line : total_line, "qos", "default_ceil",
                      "%s is above total_bandwidth %s",
                      config_format_bw(cfg->default_ceil_bps, x, sizeof(x)),
                      config_format_bw(cfg->total_bandwidth_bps, y, sizeof(y)));
        return -1;
    }

    /* One socket per port: both listeners share the listen address. */
    if (cfg->wg_enabled && cfg->wg_listen_port == cfg->listen_port) {
        int wl = ini_schema_line(st, "wireguard", "listen_port");
        config_errorf(err, file, wl ? wl : ini_schema_section_line(st, "wireguard"), "wireguard",
                      "listen_port", "%u is [server] listen_port already; WireGuard needs a "
                      "port of its own", (unsigned)cfg->wg_listen_port);
        return -1;
    }

    /* A keepalive no shorter than the idle timeout would let quiet but healthy sessions expire. */
    if (cfg->keepalive_s >= cfg->session_timeout_s) {
        int ka = ini_schema_line(st, "security", "keepalive");
        int line = ka ? ka : ini_schema_line(st, "security", "session_timeout");
        config_errorf(err, file, line, "security", "keepalive", "%" PRIu32 " s must be shorter "
                      "than session_timeout %" PRIu32 " s", cfg->keepalive_s,
                      cfg->session_timeout_s);
        return -1;
    }
    return 0;
}

int server_config_load(const char *path, struct server_config *cfg, struct config_error *err)
{
    struct ini_schema_state st;

    memset(cfg, 0, sizeof(*cfg));
    if ((size_t)snprintf(cfg->path, sizeof(cfg->path), "%s", path) >= sizeof(cfg->path)) {
        config_errorf(err, path, 0, NULL, NULL, "path too long");
        return -1;
    }
    if (ini_schema_load_file(&server_config_schema, path, cfg, NULL, &st, err) ||
        check_server(&st, cfg, path, err))
        return -1;
    memcpy(cfg->dir, st.dir, sizeof(cfg->dir));

    /* The classes file is read even with QoS off: users' fixed addresses live there. */
    if (!ini_schema_line(&st, "qos", "classes_file")) {
        char beside[PATH_MAX];
        if (server_config_classes_path(cfg, beside, sizeof(beside)) == 0 &&
            access(beside, F_OK) == 0)
            memcpy(cfg->classes_file, beside, sizeof(beside));
    }
    if (cfg->classes_file[0] && server_config_load_classes(cfg->classes_file, cfg, err))
        return -1;
    return 0;
}

int server_config_classes_path(const struct server_config *cfg, char *out, size_t len)
{
    int n = cfg->classes_file[0] ? snprintf(out, len, "%s", cfg->classes_file)
                                 : snprintf(out, len, "%sqos_classes.conf", cfg->dir);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}
