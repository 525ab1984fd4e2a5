/* The QoS classes file (server_config.h: server_config_load_classes; REQUIREMENTS.md
 * section 6): [class:NAME] and [user:NAME] sections, checked against server.conf as a whole
 * once read, and copied into the configuration only when everything passed. */
#include "vpn/server_config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_common.h"
#include "vpn/log.h"
#include "vpn/device_name.h"
#include "vpn/units.h"
#include "vpn/username.h"

/* Keys of a [class:NAME] and of a [user:NAME], in their tables' order. */
enum { CK_CLASSID, CK_RATE, CK_CEIL, CK_PRIORITY, CK_QUOTA, CK_OVER_QUOTA, CK_MAX_DEVICES,
       N_CLASS_KEYS };
enum { UK_VPN_IP, UK_CLASS, UK_QUOTA, UK_OVER_QUOTA, UK_EXPIRES, UK_MAX_DEVICES, N_USER_KEYS };
enum { DK_VPN_IP, N_DEVICE_KEYS };

/* What "quota" sets: the pair it parses into. */
struct quota_spec {
    uint64_t bytes;
    int period;
};

struct class_entry {
    struct qos_class q;
    struct quota_spec quota;
    char over_quota_name[NAME_MAX_LEN];     /* resolved to q.over_quota_class */
    int header;
    int lines[N_CLASS_KEYS];
};

struct user_entry {
    struct qos_user u;
    char class_name[NAME_MAX_LEN];  /* resolved to u.class_index once the file is read */
    struct quota_spec quota;
    char over_quota_name[NAME_MAX_LEN];     /* resolved to u.over_quota_class */
    int header;
    int lines[N_USER_KEYS];
};

struct device_entry {
    struct qos_device d;
    char name[DEVICE_NAME_MAX + 1];
    int header;
    int lines[N_DEVICE_KEYS];
};

/* Everything is parsed here first and copied into the configuration only when the whole file
 * passed, so that a bad edit followed by SIGHUP leaves the running classes untouched. */
struct classes_ctx {
    const struct server_config *cfg;
    int n_classes, n_users, n_devices;
    struct class_entry classes[QOS_CLASS_MAX];
    struct user_entry users[QOS_USER_MAX];
    struct device_entry devices[QOS_DEVICE_MAX];
    struct ini_schema_state st;
};

/* Names of classes: 1..63 bytes, no blanks or control characters (UTF-8 allowed), no
 * brackets. Users' names follow the rule of every other place a user is named (username.h). */
static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= NAME_MAX_LEN)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch == 0x7f || ch == '[' || ch == ']')
            return false;
    }
    return true;
}

static void *open_class(void *ctx, const struct ini_at *at, const char *name, int **lines,
                        struct config_error *err)
{
    struct classes_ctx *c = ctx;

    if (!name_valid(name)) {
        ini_schema_errorf(err, at, "NAME must be 1 to %d bytes without blanks or control "
                          "characters", NAME_MAX_LEN - 1);
        return NULL;
    }
    for (int i = 0; i < c->n_classes; i++) {
        if (strcmp(c->classes[i].q.name, name) == 0) {
            ini_schema_errorf(err, at, "duplicate class name (first at line %d)",
                              c->classes[i].header);
            return NULL;
        }
    }
    if (c->n_classes == QOS_CLASS_MAX) {
        ini_schema_errorf(err, at, "more than %d classes", QOS_CLASS_MAX);
        return NULL;
    }
    struct class_entry *e = &c->classes[c->n_classes++];
    snprintf(e->q.name, sizeof(e->q.name), "%s", name);
    e->header = at->line;
    *lines = e->lines;
    return e;
}

static void *open_user(void *ctx, const struct ini_at *at, const char *name, int **lines,
                       struct config_error *err)
{
    struct classes_ctx *c = ctx;
    const char *why = username_check(name, strlen(name));

    if (why) {
        ini_schema_errorf(err, at, "the user name %s; expected " USERNAME_RULE, why);
        return NULL;
    }
    for (int i = 0; i < c->n_users; i++) {
        if (strcmp(c->users[i].u.name, name) == 0) {
            ini_schema_errorf(err, at, "duplicate user name (first at line %d)",
                              c->users[i].header);
            return NULL;
        }
    }
    if (c->n_users == QOS_USER_MAX) {
        ini_schema_errorf(err, at, "more than %d users", QOS_USER_MAX);
        return NULL;
    }
    struct user_entry *e = &c->users[c->n_users++];
    snprintf(e->u.name, sizeof(e->u.name), "%s", name);
    e->u.class_index = -1;
    e->header = at->line;
    *lines = e->lines;
    return e;
}

/* [device:USER:DEVICE]: a WireGuard device's address. */
static void *open_device(void *ctx, const struct ini_at *at, const char *name, int **lines,
                         struct config_error *err)
{
    struct classes_ctx *c = ctx;
    char user[USERNAME_MAX + 1], device[DEVICE_NAME_MAX + 1];
    const char *why = device_section_split(name, user, device);

    if (why) {
        ini_schema_errorf(err, at, "%s", why);
        return NULL;
    }
    for (int i = 0; i < c->n_devices; i++) {
        if (strcmp(c->devices[i].d.user, user) == 0 && strcmp(c->devices[i].name, device) == 0) {
            ini_schema_errorf(err, at, "duplicate device (first at line %d)",
                              c->devices[i].header);
            return NULL;
        }
    }
    if (c->n_devices == QOS_DEVICE_MAX) {
        ini_schema_errorf(err, at, "more than %d devices", QOS_DEVICE_MAX);
        return NULL;
    }
    struct device_entry *e = &c->devices[c->n_devices++];
    snprintf(e->d.user, sizeof(e->d.user), "%s", user);
    snprintf(e->name, sizeof(e->name), "%s", device);
    device_id_of_name(device, e->d.id);
    e->header = at->line;
    *lines = e->lines;
    return e;
}

/* [user:NAME] class: the NAME of a [class:NAME], which may come further down the file. */
static int set_class_name(const struct ini_at *at, void *dst, const char *v,
                          struct config_error *err)
{
    if (!name_valid(v)) {
        ini_schema_errorf(err, at, "expected the NAME of a [class:NAME], got \"%.64s\"", v);
        return -1;
    }
    snprintf(dst, NAME_MAX_LEN, "%s", v);
    return 0;
}

/* quota = SIZE/PERIOD (units.h). */
static int set_quota(const struct ini_at *at, void *dst, const char *v, struct config_error *err)
{
    struct quota_spec *q = dst;
    enum quota_period p;
    if (parse_quota(v, &q->bytes, &p) != 0) {
        ini_schema_errorf(err, at, "expected a size and a period like 50GB/month, 500MB/day or "
                          "1TiB/week (at least 1MB), got \"%.64s\"", v);
        return -1;
    }
    q->period = (int)p;
    return 0;
}

/* expires = YYYY-MM-DD: the account works through that day (UTC). */
static int set_expires(const struct ini_at *at, void *dst, const char *v,
                       struct config_error *err)
{
    int64_t day;
    if (parse_date(v, &day) != 0) {
        ini_schema_errorf(err, at, "expected a date YYYY-MM-DD, got \"%.64s\"", v);
        return -1;
    }
    *(int64_t *)dst = day + 86400;
    return 0;
}

/* Keys stored in a class's or a user's entry. */
#define CLASS(n, t, f)                                                                       \
    .name = n, .type = t, .off = offsetof(struct class_entry, q.f),                          \
    .size = sizeof(((struct class_entry *)0)->q.f)
#define USER(n, t, f)                                                                        \
    .name = n, .type = t, .off = offsetof(struct user_entry, f),                             \
    .size = sizeof(((struct user_entry *)0)->f)

static const struct key_spec class_keys[N_CLASS_KEYS] = {
    [CK_CLASSID] = { CLASS("classid", KEY_CLASSID, major),
                     .aux = offsetof(struct class_entry, q.minor), .flags = KEY_REQUIRED },
    [CK_RATE] = { CLASS("rate", KEY_BANDWIDTH, rate_bps), .flags = KEY_REQUIRED },
    [CK_CEIL] = { CLASS("ceil", KEY_BANDWIDTH, ceil_bps), .flags = KEY_REQUIRED },
    [CK_PRIORITY] = { CLASS("priority", KEY_UINT, priority), .min = 0, .max = 7,
                      .def = "0", .expected = "a priority from 0 (served first) to 7" },
    [CK_QUOTA] = { .name = "quota", .type = KEY_CUSTOM, .off = offsetof(struct class_entry, quota),
                   .size = sizeof(struct quota_spec), .set = set_quota },
    [CK_OVER_QUOTA] = { .name = "over_quota_class", .type = KEY_CUSTOM,
                        .off = offsetof(struct class_entry, over_quota_name),
                        .size = NAME_MAX_LEN, .set = set_class_name },
    [CK_MAX_DEVICES] = { CLASS("max_devices", KEY_UINT, max_devices), .min = 1,
                         .max = USER_DEVICES_MAX },
};

static const struct key_spec user_keys[N_USER_KEYS] = {
    [UK_VPN_IP] = { USER("vpn_ip", KEY_IPV4, u.vpn_ip),
                    .expected = "a dotted IPv4 address like 10.8.0.10" },
    [UK_CLASS] = { USER("class", KEY_CUSTOM, class_name), .set = set_class_name },
    [UK_QUOTA] = { USER("quota", KEY_CUSTOM, quota), .set = set_quota },
    [UK_OVER_QUOTA] = { USER("over_quota_class", KEY_CUSTOM, over_quota_name),
                        .set = set_class_name },
    [UK_EXPIRES] = { USER("expires", KEY_CUSTOM, u.expires_at), .set = set_expires },
    [UK_MAX_DEVICES] = { USER("max_devices", KEY_UINT, u.max_devices), .min = 1,
                         .max = USER_DEVICES_MAX },
};

static const struct key_spec device_keys[N_DEVICE_KEYS] = {
    [DK_VPN_IP] = { .name = "vpn_ip", .type = KEY_IPV4, .off = offsetof(struct device_entry, d.vpn_ip),
                    .size = sizeof(uint32_t), .flags = KEY_REQUIRED,
                    .expected = "a dotted IPv4 address like 10.8.0.31" },
};

static const struct section_spec classes_sections[] = {
    { .name = "class", .named = true, .keys = class_keys, .n_keys = N_CLASS_KEYS,
      .open = open_class },
    { .name = "user", .named = true, .keys = user_keys, .n_keys = N_USER_KEYS,
      .open = open_user },
    { .name = "device", .named = true, .name_shape = "USER:DEVICE", .keys = device_keys, .n_keys = N_DEVICE_KEYS,
      .open = open_device },
};

const struct ini_schema qos_classes_schema = {
    .sections = classes_sections,
    .n_sections = sizeof(classes_sections) / sizeof(classes_sections[0]),
};

/* Section name as written, for messages ("class:vip"). */
static const char *sec_name(char *buf, size_t len, const char *kind, const char *name)
{
    snprintf(buf, len, "%s:%s", kind, name);
    return buf;
}

/* over_quota_class NAME (or "" for none) to a class index (-1). */
static int resolve_class(const struct classes_ctx *c, const char *file, const char *sec,
                         const char *name, int line, int *index, struct config_error *err)
{
    *index = -1;
    if (!name[0])
        return 0;
    for (int j = 0; j < c->n_classes; j++)
        if (strcmp(c->classes[j].q.name, name) == 0)
            *index = j;
    if (*index < 0) {
        config_errorf(err, file, line, sec, "over_quota_class", "no [class:%s] in this file",
                      name);
        return -1;
    }
    return 0;
}

/* A fixed address (a user's or a WireGuard device's): a host of the tunnel network, not the
 * server's, and nobody else's among the first n_users users and n_devices devices. */
static int check_fixed_ip(const struct classes_ctx *c, const char *file, const char *sec,
                          int line, uint32_t ip, int n_users, int n_devices,
                          struct config_error *err)
{
    const struct server_config *cfg = c->cfg;
    char a[16], net[32];
    const char *why = config_tunnel_host_problem(cfg, ip);
    if (why) {
        config_tunnel_net_text(cfg, net, sizeof(net));
        config_errorf(err, file, line, sec, "vpn_ip", "%s %s %s", format_ipv4(ip, a), why, net);
        return -1;
    }
    if (ip == cfg->tun_ip) {
        config_errorf(err, file, line, sec, "vpn_ip", "%s is the server's own tun_ip",
                      format_ipv4(ip, a));
        return -1;
    }
    for (int j = 0; j < n_users; j++) {
        if (c->users[j].u.vpn_ip == ip) {
            config_errorf(err, file, line, sec, "vpn_ip",
                          "%s is already the address of [user:%s] (line %d)", format_ipv4(ip, a),
                          c->users[j].u.name, c->users[j].lines[UK_VPN_IP]);
            return -1;
        }
    }
    for (int j = 0; j < n_devices; j++) {
        if (c->devices[j].d.vpn_ip == ip) {
            config_errorf(err, file, line, sec, "vpn_ip",
                          "%s is already the address of [device:%s:%s] (line %d)",
                          format_ipv4(ip, a), c->devices[j].d.user, c->devices[j].name,
                          c->devices[j].lines[DK_VPN_IP]);
            return -1;
        }
    }
    return 0;
}

static int check_classes(struct classes_ctx *c, const char *file, struct config_error *err)
{
    const struct server_config *cfg = c->cfg;
    char sec[NAME_MAX_LEN + 32], x[32], y[32];

    /* Required keys were checked as each section ended (ini_schema.h). */
    for (int i = 0; i < c->n_classes; i++) {
        const struct qos_class *q = &c->classes[i].q;
        const int *l = c->classes[i].lines;
        sec_name(sec, sizeof(sec), "class", q->name);

        if (q->rate_bps > q->ceil_bps) {
            config_errorf(err, file, l[CK_RATE], sec, "rate", "%s is above ceil %s",
                          config_format_bw(q->rate_bps, x, sizeof(x)),
                          config_format_bw(q->ceil_bps, y, sizeof(y)));
            return -1;
        }
        if (cfg->qos_enabled && q->ceil_bps > cfg->total_bandwidth_bps) {
            config_errorf(err, file, l[CK_CEIL], sec, "ceil",
                          "%s is above [qos] total_bandwidth %s",
                          config_format_bw(q->ceil_bps, x, sizeof(x)),
                          config_format_bw(cfg->total_bandwidth_bps, y, sizeof(y)));
            return -1;
        }
        /* The brief's own example names its default class "normal" here (1:20, 3/6 Mbps, the
         * same as default_rate/default_ceil): then both describe one class and that is fine.
         * The same classid with other figures would leave tc to pick one silently. */
        if (q->major == cfg->default_major && q->minor == cfg->default_minor &&
            (q->rate_bps != cfg->default_rate_bps || q->ceil_bps != cfg->default_ceil_bps)) {
            config_errorf(err, file, l[CK_CLASSID], sec, "classid",
                          "%x:%x is [qos] default_class; use another classid, or give this "
                          "class default_rate and default_ceil (%s/%s)", q->major, q->minor,
                          config_format_bw(cfg->default_rate_bps, x, sizeof(x)),
                          config_format_bw(cfg->default_ceil_bps, y, sizeof(y)));
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (c->classes[j].q.major == q->major && c->classes[j].q.minor == q->minor) {
                config_errorf(err, file, l[CK_CLASSID], sec, "classid",
                              "%x:%x is already the classid of [class:%s] (line %d)", q->major,
                              q->minor, c->classes[j].q.name,
                              c->classes[j].lines[CK_CLASSID]);
                return -1;
            }
        }
    }

    for (int i = 0; i < c->n_classes; i++) {
        struct class_entry *e = &c->classes[i];
        e->q.quota_bytes = e->quota.bytes;
        e->q.quota_period = e->quota.period;
        sec_name(sec, sizeof(sec), "class", e->q.name);
        if (resolve_class(c, file, sec, e->over_quota_name, e->lines[CK_OVER_QUOTA],
                          &e->q.over_quota_class, err) != 0)
            return -1;
    }

    /* Each listed user is guaranteed its class's rate, on top of what the default class is
     * guaranteed; HTB cannot promise more than the link. */
    uint64_t guaranteed = cfg->default_rate_bps;
    for (int i = 0; i < c->n_users; i++) {
        struct qos_user *u = &c->users[i].u;
        const int *l = c->users[i].lines;
        sec_name(sec, sizeof(sec), "user", u->name);

        for (int j = 0; j < c->n_classes && u->class_index < 0; j++)
            if (strcmp(c->classes[j].q.name, c->users[i].class_name) == 0)
                u->class_index = j;
        if (c->users[i].class_name[0] && u->class_index < 0) {
            config_errorf(err, file, l[UK_CLASS], sec, "class", "no [class:%s] in this file",
                          c->users[i].class_name);
            return -1;
        }
        u->quota_bytes = c->users[i].quota.bytes;
        u->quota_period = c->users[i].quota.period;
        if (resolve_class(c, file, sec, c->users[i].over_quota_name, l[UK_OVER_QUOTA],
                          &u->over_quota_class, err) != 0)
            return -1;
        if (u->class_index >= 0) {
            guaranteed += c->classes[u->class_index].q.rate_bps;
            if (cfg->qos_enabled && guaranteed > cfg->total_bandwidth_bps) {
                config_errorf(err, file, l[UK_CLASS], sec, "class",
                              "guaranteed rates reach %s with this user (default_rate plus "
                              "each listed user's class rate), above [qos] total_bandwidth %s",
                              config_format_bw(guaranteed, x, sizeof(x)),
                              config_format_bw(cfg->total_bandwidth_bps, y, sizeof(y)));
                return -1;
            }
        }
        if (!u->vpn_ip && !l[UK_VPN_IP])
            continue;   /* no fixed address: every device from the pool */
        if (check_fixed_ip(c, file, sec, l[UK_VPN_IP], u->vpn_ip, i, 0, err) != 0)
            return -1;
    }
    for (int i = 0; i < c->n_devices; i++) {
        const struct device_entry *d = &c->devices[i];
        snprintf(sec, sizeof(sec), "device:%s:%s", d->d.user, d->name);
        if (check_fixed_ip(c, file, sec, d->lines[DK_VPN_IP], d->d.vpn_ip, c->n_users, i,
                           err) != 0)
            return -1;
    }
    return 0;
}

int server_config_load_classes(const char *path, struct server_config *cfg,
                               struct config_error *err)
{
    struct classes_ctx *c = calloc(1, sizeof(*c));
    int rc = -1;

    if (!c) {
        config_errorf(err, path, 0, NULL, NULL, "out of memory");
        return -1;
    }
    c->cfg = cfg;
    if (ini_schema_load_file(&qos_classes_schema, path, NULL, c, &c->st, err) == 0 &&
        check_classes(c, path, err) == 0) {
        for (int i = 0; i < c->n_classes; i++)
            cfg->classes[i] = c->classes[i].q;
        for (int i = 0; i < c->n_users; i++)
            cfg->users[i] = c->users[i].u;
        for (int i = 0; i < c->n_devices; i++)
            cfg->devices[i] = c->devices[i].d;
        cfg->n_classes = c->n_classes;
        cfg->n_users = c->n_users;
        cfg->n_devices = c->n_devices;
        rc = 0;
    }
    free(c);
    return rc;
}

int server_config_user_index(const struct server_config *cfg, const char *username)
{
    /* Linear: called once per handshake, over at most QOS_USER_MAX short names. */
    for (int i = 0; i < cfg->n_users; i++)
        if (strcmp(cfg->users[i].name, username) == 0)
            return i;
    return -1;
}

uint32_t server_config_user_ip(const struct server_config *cfg, const char *username)
{
    int i = server_config_user_index(cfg, username);
    return i >= 0 ? cfg->users[i].vpn_ip : 0;
}

int server_config_device_index(const struct server_config *cfg, const char *username,
                               const uint8_t id[DEVICE_ID_LEN])
{
    for (int i = 0; i < cfg->n_devices; i++)
        if (memcmp(cfg->devices[i].id, id, DEVICE_ID_LEN) == 0 &&
            strcmp(cfg->devices[i].user, username) == 0)
            return i;
    return -1;
}

int server_config_max_devices(const struct server_config *cfg, const char *username)
{
    int i = server_config_user_index(cfg, username);
    if (i >= 0 && cfg->users[i].max_devices)
        return cfg->users[i].max_devices;
    if (i >= 0 && cfg->users[i].class_index >= 0 &&
        cfg->classes[cfg->users[i].class_index].max_devices)
        return cfg->classes[cfg->users[i].class_index].max_devices;
    return cfg->max_devices;
}
