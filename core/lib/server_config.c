/* server.conf (see server_config.h; REQUIREMENTS.md section 2); the QoS classes file it names
 * is qos_classes.c.
 *
 * server.conf is described by one table of keys (section, name, kind of value, where it goes);
 * the INI reader hands us lines, the table decides what they mean. Checks that involve several
 * keys (the pool inside the tunnel network, QoS sums) run once the whole file is read, and
 * point at the line of the key the operator most likely has to change. */
#include "vpn/server_config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config_common.h"
#include "vpn/log.h"
#include "vpn/units.h"

/* ---- server.conf ---------------------------------------------------------------------- */

enum value_kind {
    V_UINT,         /* decimal in [min, max], stored by the field's size */
    V_ADDRESS,      /* numeric IPv4/IPv6 literal kept as text */
    V_IFNAME,
    V_IFNAME_OPT,   /* "" allowed: feature off */
    V_IPV4,
    V_NETMASK,      /* prefix length or dotted mask */
    V_ROUTES,
    V_BOOL,
    V_BANDWIDTH,
    V_CLASSID,      /* default_class -> default_major/default_minor */
    V_PATH,         /* resolved against server.conf's directory */
    V_PATH_OPT,     /* same, "" allowed */
    V_SOCKET,       /* path that must fit sockaddr_un */
    V_USER,         /* system user name, "" allowed */
    V_LEVEL,
    V_ENCLAVE_SOCKET,
};

struct key_spec {
    const char *section;
    const char *key;
    enum value_kind kind;
    size_t off, size;       /* destination in struct server_config */
    uint64_t min, max;      /* V_UINT only */
    bool required;
};

#define FIELD(f) offsetof(struct server_config, f), sizeof(((struct server_config *)0)->f)
#define NOFIELD 0, 0

static const char *const sections[] = { "server", "network", "qos", "security", "logging" };
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static const struct key_spec keys[] = {
    { "server", "listen_port", V_UINT, FIELD(listen_port), 1, 65535, false },
    { "server", "listen_address", V_ADDRESS, FIELD(listen_address), 0, 0, false },
    { "server", "tun_device", V_IFNAME, FIELD(tun_device), 0, 0, false },
    { "server", "tun_ip", V_IPV4, FIELD(tun_ip), 0, 0, true },
    { "server", "tun_netmask", V_NETMASK, FIELD(tun_prefix), 0, 0, false },
    { "server", "mtu", V_UINT, FIELD(mtu), MTU_MIN, MTU_MAX, false },

    { "network", "client_ip_pool_start", V_IPV4, FIELD(pool_start), 0, 0, true },
    { "network", "client_ip_pool_end", V_IPV4, FIELD(pool_end), 0, 0, true },
    { "network", "push_routes", V_ROUTES, NOFIELD, 0, 0, false },
    { "network", "nat_interface", V_IFNAME_OPT, FIELD(nat_interface), 0, 0, false },

    { "qos", "enabled", V_BOOL, FIELD(qos_enabled), 0, 0, false },
    { "qos", "total_bandwidth", V_BANDWIDTH, FIELD(total_bandwidth_bps), 0, 0, false },
    { "qos", "default_class", V_CLASSID, NOFIELD, 0, 0, false },
    { "qos", "default_rate", V_BANDWIDTH, FIELD(default_rate_bps), 0, 0, false },
    { "qos", "default_ceil", V_BANDWIDTH, FIELD(default_ceil_bps), 0, 0, false },
    { "qos", "classes_file", V_PATH_OPT, FIELD(classes_file), 0, 0, false },

    { "security", "enclave_socket", V_ENCLAVE_SOCKET, NOFIELD, 0, 0, false },
    { "security", "max_clients", V_UINT, FIELD(max_clients), 1, MAX_CLIENTS_LIMIT, false },
    { "security", "session_timeout", V_UINT, FIELD(session_timeout_s), 10, 604800, false },
    { "security", "private_key_file", V_PATH, FIELD(private_key_file), 0, 0, false },
    { "security", "users_file", V_PATH, FIELD(users_file), 0, 0, false },
    { "security", "control_socket", V_SOCKET, FIELD(control_socket), 0, 0, false },
    { "security", "user", V_USER, FIELD(user), 0, 0, false },
    { "security", "replay_window_ms", V_UINT, FIELD(replay_window_ms), 100, 600000, false },
    { "security", "keepalive", V_UINT, FIELD(keepalive_s), 1, 3600, false },
    { "security", "rekey_interval", V_UINT, FIELD(rekey_interval_s), 15, 86400, false },

    { "logging", "level", V_LEVEL, FIELD(log_level), 0, 0, false },
    { "logging", "file", V_PATH_OPT, FIELD(log_file), 0, 0, false },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

struct load_ctx {
    struct server_config *cfg;
    char dir[PATH_MAX];             /* server.conf's directory with a trailing '/', or "" */
    int key_line[N_KEYS];           /* 0 = not given */
    int section_line[N_SECTIONS];
};

static int section_index(const char *name)
{
    for (unsigned i = 0; i < N_SECTIONS; i++)
        if (strcmp(name, sections[i]) == 0)
            return (int)i;
    return -1;
}

static const struct key_spec *find_key(const char *section, const char *key)
{
    for (unsigned i = 0; i < N_KEYS; i++)
        if (strcmp(section, keys[i].section) == 0 && strcmp(key, keys[i].key) == 0)
            return &keys[i];
    return NULL;
}

/* Line of a key in server.conf, or 0 when it was left at its default. */
static int line_of(const struct load_ctx *c, const char *section, const char *key)
{
    const struct key_spec *k = find_key(section, key);
    return k ? c->key_line[k - keys] : 0;
}

static void store_uint(void *p, size_t size, uint64_t v)
{
    if (size == 1) {
        uint8_t x = (uint8_t)v;
        memcpy(p, &x, 1);
    } else if (size == 2) {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
    } else if (size == 4) {
        uint32_t x = (uint32_t)v;   /* also the int fields: every range fits in 31 bits */
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, sizeof(v));
    }
}

/* Joins a relative path to dir ("" = as given). Returns 0, or -1 when it does not fit. */
static int resolve_path(const char *dir, const char *value, char *out, size_t len)
{
    int n;
    if (value[0] == '/' || value[0] == '\0')
        n = snprintf(out, len, "%s", value);
    else
        n = snprintf(out, len, "%s%s", dir, value);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* "24" or "255.255.255.0" to a prefix length; 31 and 32 leave no room for clients. */
static int parse_netmask(const char *s, uint8_t *prefix)
{
    uint64_t p;
    uint32_t mask;

    if (strchr(s, '.')) {
        if (parse_ipv4(s, &mask) < 0)
            return -1;
        uint32_t inv = ~mask;
        if (inv & (inv + 1))    /* the zero bits must all be at the end */
            return -1;
        p = 0;
        for (; mask; mask <<= 1)
            p++;
    } else if (parse_uint(s, 0, 32, &p) < 0) {
        return -1;
    }
    if (p < 1 || p > 30)
        return -1;
    *prefix = (uint8_t)p;
    return 0;
}

/* Comma-separated a.b.c.d/p list into cfg->push_routes. Returns 0 or -1 with *err. */
static int parse_routes(struct server_config *cfg, const char *file, int line, const char *value,
                        struct config_error *err)
{
    char buf[INI_LINE_MAX];
    int n = 0;

    snprintf(buf, sizeof(buf), "%s", value);
    cfg->n_push_routes = 0;
    if (buf[0] == '\0')
        return 0;
    for (char *item = buf, *next; item; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        while (*item == ' ' || *item == '\t')
            item++;
        size_t len = strlen(item);
        while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            item[--len] = '\0';

        struct ipv4_net net;
        if (parse_ipv4_net(item, &net) < 0) {
            config_errorf(err, file, line, "network", "push_routes",
                          "expected a comma-separated list of networks like 192.168.100.0/24 "
                          "(host bits zero), got \"%.64s\"", item);
            return -1;
        }
        if (n == MAX_ROUTES) {
            config_errorf(err, file, line, "network", "push_routes",
                          "at most %d routes fit in the connect response", MAX_ROUTES);
            return -1;
        }
        cfg->push_routes[n++] = net;
    }
    cfg->n_push_routes = n;
    return 0;
}

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

/* Parses one value by its key's kind and stores it. Returns 0 or -1 with *err. */
static int set_value(struct load_ctx *c, const struct key_spec *k, const char *file, int line,
                     const char *v, struct config_error *err)
{
    struct server_config *cfg = c->cfg;
    void *dst = (char *)cfg + k->off;
    const char *sec = k->section, *key = k->key;
    bool may_be_empty = k->kind == V_ROUTES || k->kind == V_IFNAME_OPT ||
                        k->kind == V_PATH_OPT || k->kind == V_USER ||
                        k->kind == V_ENCLAVE_SOCKET;

    if (*v == '\0' && !may_be_empty) {
        config_errorf(err, file, line, sec, key, "empty value");
        return -1;
    }

    switch (k->kind) {
    case V_UINT: {
        uint64_t n;
        if (parse_uint(v, k->min, k->max, &n) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a whole number from %" PRIu64 " to %" PRIu64
                          ", got \"%.64s\"", k->min, k->max, v);
            return -1;
        }
        store_uint(dst, k->size, n);
        return 0;
    }
    case V_ADDRESS: {
        struct sockaddr_in6 sa;
        if (strlen(v) >= k->size || parse_endpoint(v, 0, &sa) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a numeric IPv4 or IPv6 address (no host names), "
                          "got \"%.64s\"", v);
            return -1;
        }
        memcpy(dst, v, strlen(v) + 1);
        return 0;
    }
    case V_IFNAME:
    case V_IFNAME_OPT:
        if (*v && !ifname_valid(v)) {
            config_errorf(err, file, line, sec, key,
                          "expected an interface name of 1 to %d characters from "
                          "[A-Za-z0-9_.-], got \"%.64s\"", IFNAMSIZ - 1, v);
            return -1;
        }
        memcpy(dst, v, strlen(v) + 1);
        return 0;
    case V_IPV4:
        if (parse_ipv4(v, dst) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a dotted IPv4 address like 10.8.0.1, got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case V_NETMASK:
        if (parse_netmask(v, dst) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a prefix length from 1 to 30 or a contiguous dotted mask "
                          "like 255.255.255.0, got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case V_ROUTES:
        return parse_routes(cfg, file, line, v, err);
    case V_BOOL:
        if (parse_bool(v, dst) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected true or false (yes/no, on/off, 1/0), got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case V_BANDWIDTH:
        if (parse_bandwidth(v, dst) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a bandwidth like 5Mbps, 2.5Mbps, 500Kbps or 12mbit "
                          "(bits per second, 1bps to 100Gbps), got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case V_CLASSID:
        if (config_parse_classid(v, &cfg->default_major, &cfg->default_minor) < 0) {
            config_errorf(err, file, line, sec, key, CLASSID_EXPECTED ", got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case V_PATH:
    case V_PATH_OPT:
    case V_SOCKET:
        if (resolve_path(c->dir, v, dst, k->size) < 0) {
            config_errorf(err, file, line, sec, key, "path longer than %zu bytes",
                          k->size - 1);
            return -1;
        }
        if (k->kind == V_SOCKET && strlen(dst) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            config_errorf(err, file, line, sec, key,
                          "socket path \"%.64s\" longer than %zu bytes, the limit of a Unix "
                          "socket", (const char *)dst,
                          sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return -1;
        }
        return 0;
    case V_USER:
        /* Empty once meant "stay root"; staying root now takes an explicit "root". */
        if (!*v || !user_name_valid(v, k->size)) {
            config_errorf(err, file, line, sec, key,
                          "expected a system user name (letters, digits, '_', '-', '.', at "
                          "most %zu; default %s, or root to keep uid 0), got \"%.64s\"",
                          k->size - 1, SERVER_USER_DEFAULT, v);
            return -1;
        }
        if (strcmp(v, ENCLAVE_USER) == 0) {
            config_errorf(err, file, line, sec, key,
                          "%s is the enclave's user; the main process must not share its uid "
                          "(default %s)", ENCLAVE_USER, SERVER_USER_DEFAULT);
            return -1;
        }
        memcpy(dst, v, strlen(v) + 1);
        return 0;
    case V_LEVEL:
        if (parse_log_level(v, dst) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected DEBUG, INFO, WARN or ERROR, got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case V_ENCLAVE_SOCKET:
        /* The brief's enclave listened on this path; ours is reached over a private
         * socketpair, so the value has no use. The server logs the notice. */
        cfg->enclave_socket_given = true;
        return 0;
    }
    return 0;
}

static int on_server_entry(void *arg, const char *file, int line, const char *section,
                           const char *key, const char *value, struct config_error *err)
{
    struct load_ctx *c = arg;

    if (!key) {
        int i = section_index(section);
        if (i < 0) {
            config_errorf(err, file, line, section, NULL,
                          "unknown section; expected [server], [network], [qos], [security] "
                          "or [logging]");
            return -1;
        }
        if (c->section_line[i]) {
            config_errorf(err, file, line, section, NULL, "section repeated (first at line %d)",
                          c->section_line[i]);
            return -1;
        }
        c->section_line[i] = line;
        return 0;
    }
    if (!*section) {
        config_errorf(err, file, line, NULL, key, "key outside any [section]");
        return -1;
    }
    const struct key_spec *k = find_key(section, key);
    if (!k) {
        config_errorf(err, file, line, section, key, "unknown key");
        return -1;
    }
    int *seen = &c->key_line[k - keys];
    if (*seen) {
        config_errorf(err, file, line, section, key, "duplicate key (first at line %d)", *seen);
        return -1;
    }
    *seen = line;
    return set_value(c, k, file, line, value, err);
}

/* Checks across keys once server.conf is read. Returns 0 or -1 with *err. */
static int check_server(const struct load_ctx *c, const char *file, struct config_error *err)
{
    const struct server_config *cfg = c->cfg;
    char a[16], b[16], net[32], x[32], y[32];
    const char *why;

    for (unsigned i = 0; i < N_KEYS; i++) {
        if (keys[i].required && !c->key_line[i]) {
            int sec = section_index(keys[i].section);
            config_errorf(err, file, c->section_line[sec], keys[i].section, keys[i].key,
                          "required key is missing");
            return -1;
        }
    }

    int tun_line = line_of(c, "server", "tun_ip");
    int start_line = line_of(c, "network", "client_ip_pool_start");
    int end_line = line_of(c, "network", "client_ip_pool_end");
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

    int qos_line = c->section_line[section_index("qos")];
    int rate_line = line_of(c, "qos", "default_rate");
    int ceil_line = line_of(c, "qos", "default_ceil");
    int total_line = line_of(c, "qos", "total_bandwidth");
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

    /* A keepalive no shorter than the idle timeout would let quiet but healthy sessions expire. */
    if (cfg->keepalive_s >= cfg->session_timeout_s) {
        int ka = line_of(c, "security", "keepalive");
        config_errorf(err, file, ka ? ka : line_of(c, "security", "session_timeout"), "security",
                      "keepalive", "%" PRIu32 " s must be shorter than session_timeout %" PRIu32
                      " s", cfg->keepalive_s, cfg->session_timeout_s);
        return -1;
    }
    return 0;
}

static void set_defaults(struct server_config *cfg, const char *dir)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen_port = 51820;
    snprintf(cfg->listen_address, sizeof(cfg->listen_address), "::");
    snprintf(cfg->tun_device, sizeof(cfg->tun_device), "tun0");
    cfg->tun_prefix = 24;
    cfg->mtu = MTU_DEFAULT;
    cfg->default_major = 1;
    cfg->default_minor = 0x20;
    cfg->default_rate_bps = 3000000;
    cfg->default_ceil_bps = 6000000;
    cfg->max_clients = 200;
    cfg->session_timeout_s = 3600;
    snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s", CONTROL_SOCKET_DEFAULT);
    snprintf(cfg->user, sizeof(cfg->user), "%s", SERVER_USER_DEFAULT);
    cfg->replay_window_ms = 5000;
    cfg->keepalive_s = 25;
    cfg->rekey_interval_s = 600;
    cfg->log_level = LOG_INFO;
    /* dir has room for these short names; a too-long dir shows up as a path error anyway. */
    (void)resolve_path(dir, "server.key", cfg->private_key_file, sizeof(cfg->private_key_file));
    (void)resolve_path(dir, "users.conf", cfg->users_file, sizeof(cfg->users_file));
}

/* The directory relative paths resolve against, with a trailing '/', made absolute so that
 * they still work after the daemon's chdir("/"). Symbolic links in the directory are resolved;
 * a link named server.conf is not followed, so files sit beside the name the operator gave. */
static void base_dir(const char *path, char *dir, size_t len)
{
    char given[PATH_MAX];
    char real[PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(given, sizeof(given), ".");
    else if (slash == path)
        snprintf(given, sizeof(given), "/");
    else
        snprintf(given, sizeof(given), "%.*s", (int)(slash - path), path);

    const char *d = realpath(given, real) ? real : given;
    if (strcmp(d, "/") == 0)
        snprintf(dir, len, "/");
    else if (snprintf(dir, len, "%s/", d) >= (int)len)
        dir[0] = '\0';
}

int server_config_load(const char *path, struct server_config *cfg, struct config_error *err)
{
    struct load_ctx c;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    base_dir(path, c.dir, sizeof(c.dir));
    set_defaults(cfg, c.dir);
    if ((size_t)snprintf(cfg->path, sizeof(cfg->path), "%s", path) >= sizeof(cfg->path)) {
        config_errorf(err, path, 0, NULL, NULL, "path too long");
        return -1;
    }

    if (ini_parse_file(path, on_server_entry, &c, err) || check_server(&c, path, err))
        return -1;

    /* The classes file is read even with QoS off: users' fixed addresses live there. */
    if (!line_of(&c, "qos", "classes_file")) {
        char beside[PATH_MAX];
        if (resolve_path(c.dir, "qos_classes.conf", beside, sizeof(beside)) == 0 &&
            access(beside, F_OK) == 0)
            memcpy(cfg->classes_file, beside, sizeof(beside));
    }
    if (cfg->classes_file[0] && server_config_load_classes(cfg->classes_file, cfg, err))
        return -1;
    return 0;
}
