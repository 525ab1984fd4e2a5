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
#include "vpn/units.h"
#include "vpn/username.h"

struct class_lines {
    int header, classid, rate, ceil, priority;
};

struct user_lines {
    int header, vpn_ip, class_name;
};

/* Everything is parsed here first and copied into the configuration only when the whole file
 * passed, so that a bad edit followed by SIGHUP leaves the running classes untouched. */
struct classes_ctx {
    const struct server_config *cfg;
    int n_classes, n_users;
    struct qos_class classes[QOS_CLASS_MAX];
    struct qos_user users[QOS_USER_MAX];
    struct class_lines cl[QOS_CLASS_MAX];
    struct user_lines ul[QOS_USER_MAX];
    char user_class[QOS_USER_MAX][NAME_MAX_LEN];    /* class name, resolved at the end */
    enum { IN_NONE, IN_CLASS, IN_USER } in;
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

static int on_class_header(struct classes_ctx *c, const char *file, int line,
                           const char *section, struct config_error *err)
{
    bool is_class = strncmp(section, "class:", 6) == 0;
    bool is_user = strncmp(section, "user:", 5) == 0;
    const char *name = section + (is_class ? 6 : 5);

    if (!is_class && !is_user) {
        config_errorf(err, file, line, section, NULL,
                      "unknown section; expected [class:NAME] or [user:NAME]");
        return -1;
    }
    const char *why = is_user ? username_check(name, strlen(name)) : NULL;
    if (why) {
        config_errorf(err, file, line, section, NULL, "the user name %s; expected " USERNAME_RULE,
                      why);
        return -1;
    }
    if (is_class && !name_valid(name)) {
        config_errorf(err, file, line, section, NULL,
                      "NAME must be 1 to %d bytes without blanks or control characters",
                      NAME_MAX_LEN - 1);
        return -1;
    }
    if (is_class) {
        for (int i = 0; i < c->n_classes; i++) {
            if (strcmp(c->classes[i].name, name) == 0) {
                config_errorf(err, file, line, section, NULL,
                              "duplicate class name (first at line %d)", c->cl[i].header);
                return -1;
            }
        }
        if (c->n_classes == QOS_CLASS_MAX) {
            config_errorf(err, file, line, section, NULL, "more than %d classes",
                          QOS_CLASS_MAX);
            return -1;
        }
        struct qos_class *q = &c->classes[c->n_classes];
        snprintf(q->name, sizeof(q->name), "%s", name);
        q->priority = 0;        /* tc's default prio */
        c->cl[c->n_classes++].header = line;
        c->in = IN_CLASS;
    } else {
        for (int i = 0; i < c->n_users; i++) {
            if (strcmp(c->users[i].name, name) == 0) {
                config_errorf(err, file, line, section, NULL,
                              "duplicate user name (first at line %d)", c->ul[i].header);
                return -1;
            }
        }
        if (c->n_users == QOS_USER_MAX) {
            config_errorf(err, file, line, section, NULL, "more than %d users", QOS_USER_MAX);
            return -1;
        }
        struct qos_user *u = &c->users[c->n_users];
        snprintf(u->name, sizeof(u->name), "%s", name);
        u->class_index = -1;
        c->ul[c->n_users++].header = line;
        c->in = IN_USER;
    }
    return 0;
}

/* Records the line of a key, refusing a second one. */
static int claim(int *seen, const char *file, int line, const char *section, const char *key,
                 struct config_error *err)
{
    if (*seen) {
        config_errorf(err, file, line, section, key, "duplicate key (first at line %d)", *seen);
        return -1;
    }
    *seen = line;
    return 0;
}

static int on_class_key(struct classes_ctx *c, const char *file, int line, const char *section,
                        const char *key, const char *v, struct config_error *err)
{
    struct qos_class *q = &c->classes[c->n_classes - 1];
    struct class_lines *l = &c->cl[c->n_classes - 1];
    uint64_t prio;

    if (strcmp(key, "classid") == 0) {
        if (claim(&l->classid, file, line, section, key, err))
            return -1;
        if (config_parse_classid(v, &q->major, &q->minor) == 0)
            return 0;
        config_errorf(err, file, line, section, key, CLASSID_EXPECTED ", got \"%.64s\"", v);
        return -1;
    }
    if (strcmp(key, "rate") == 0 || strcmp(key, "ceil") == 0) {
        bool rate = key[0] == 'r';
        if (claim(rate ? &l->rate : &l->ceil, file, line, section, key, err))
            return -1;
        if (parse_bandwidth(v, rate ? &q->rate_bps : &q->ceil_bps) == 0)
            return 0;
        config_errorf(err, file, line, section, key,
                      "expected a bandwidth like 5Mbps, 2.5Mbps, 500Kbps or 12mbit "
                      "(bits per second, 1bps to 100Gbps), got \"%.64s\"", v);
        return -1;
    }
    if (strcmp(key, "priority") == 0) {
        if (claim(&l->priority, file, line, section, key, err))
            return -1;
        if (parse_uint(v, 0, 7, &prio) == 0) {
            q->priority = (int)prio;
            return 0;
        }
        config_errorf(err, file, line, section, key,
                      "expected a priority from 0 (served first) to 7, got \"%.64s\"", v);
        return -1;
    }
    config_errorf(err, file, line, section, key,
                  "unknown key; a class has classid, rate, ceil and priority");
    return -1;
}

static int on_user_key(struct classes_ctx *c, const char *file, int line, const char *section,
                       const char *key, const char *v, struct config_error *err)
{
    int i = c->n_users - 1;
    struct user_lines *l = &c->ul[i];

    if (strcmp(key, "vpn_ip") == 0) {
        if (claim(&l->vpn_ip, file, line, section, key, err))
            return -1;
        if (parse_ipv4(v, &c->users[i].vpn_ip) == 0)
            return 0;
        config_errorf(err, file, line, section, key,
                      "expected a dotted IPv4 address like 10.8.0.10, got \"%.64s\"", v);
        return -1;
    }
    if (strcmp(key, "class") == 0) {
        if (claim(&l->class_name, file, line, section, key, err))
            return -1;
        if (name_valid(v)) {
            snprintf(c->user_class[i], NAME_MAX_LEN, "%s", v);
            return 0;
        }
        config_errorf(err, file, line, section, key, "expected the NAME of a [class:NAME], "
                      "got \"%.64s\"", v);
        return -1;
    }
    config_errorf(err, file, line, section, key, "unknown key; a user has vpn_ip and class");
    return -1;
}

static int on_classes_entry(void *arg, const char *file, int line, const char *section,
                            const char *key, const char *value, struct config_error *err)
{
    struct classes_ctx *c = arg;

    if (!key)
        return on_class_header(c, file, line, section, err);
    if (c->in == IN_NONE) {
        config_errorf(err, file, line, NULL, key, "key outside any [class:NAME] or [user:NAME]");
        return -1;
    }
    if (*value == '\0') {
        config_errorf(err, file, line, section, key, "empty value");
        return -1;
    }
    if (c->in == IN_CLASS)
        return on_class_key(c, file, line, section, key, value, err);
    return on_user_key(c, file, line, section, key, value, err);
}

/* Section name as written, for messages ("class:vip"). */
static const char *sec_name(char *buf, size_t len, const char *kind, const char *name)
{
    snprintf(buf, len, "%s:%s", kind, name);
    return buf;
}

static int check_classes(struct classes_ctx *c, const char *file, struct config_error *err)
{
    const struct server_config *cfg = c->cfg;
    char sec[NAME_MAX_LEN + 8], x[32], y[32], a[16], net[32];

    for (int i = 0; i < c->n_classes; i++) {
        const struct qos_class *q = &c->classes[i];
        const struct class_lines *l = &c->cl[i];
        sec_name(sec, sizeof(sec), "class", q->name);

        const char *missing = !l->classid ? "classid" : !l->rate ? "rate" : !l->ceil ? "ceil"
                                                                                      : NULL;
        if (missing) {
            config_errorf(err, file, l->header, sec, missing, "required key is missing");
            return -1;
        }
        if (q->rate_bps > q->ceil_bps) {
            config_errorf(err, file, l->rate, sec, "rate", "%s is above ceil %s",
                          config_format_bw(q->rate_bps, x, sizeof(x)),
                          config_format_bw(q->ceil_bps, y, sizeof(y)));
            return -1;
        }
        if (cfg->qos_enabled && q->ceil_bps > cfg->total_bandwidth_bps) {
            config_errorf(err, file, l->ceil, sec, "ceil", "%s is above [qos] total_bandwidth %s",
                          config_format_bw(q->ceil_bps, x, sizeof(x)),
                          config_format_bw(cfg->total_bandwidth_bps, y, sizeof(y)));
            return -1;
        }
        /* The brief's own example names its default class "normal" here (1:20, 3/6 Mbps, the
         * same as default_rate/default_ceil): then both describe one class and that is fine.
         * The same classid with other figures would leave tc to pick one silently. */
        if (q->major == cfg->default_major && q->minor == cfg->default_minor &&
            (q->rate_bps != cfg->default_rate_bps || q->ceil_bps != cfg->default_ceil_bps)) {
            config_errorf(err, file, l->classid, sec, "classid",
                          "%x:%x is [qos] default_class; use another classid, or give this "
                          "class default_rate and default_ceil (%s/%s)", q->major, q->minor,
                          config_format_bw(cfg->default_rate_bps, x, sizeof(x)),
                          config_format_bw(cfg->default_ceil_bps, y, sizeof(y)));
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (c->classes[j].major == q->major && c->classes[j].minor == q->minor) {
                config_errorf(err, file, l->classid, sec, "classid",
                              "%x:%x is already the classid of [class:%s] (line %d)", q->major,
                              q->minor, c->classes[j].name, c->cl[j].classid);
                return -1;
            }
        }
    }

    /* Each listed user is guaranteed its class's rate, on top of what the default class is
     * guaranteed; HTB cannot promise more than the link. */
    uint64_t guaranteed = cfg->default_rate_bps;
    config_tunnel_net_text(cfg, net, sizeof(net));
    for (int i = 0; i < c->n_users; i++) {
        struct qos_user *u = &c->users[i];
        const struct user_lines *l = &c->ul[i];
        const char *why;
        sec_name(sec, sizeof(sec), "user", u->name);

        const char *missing = !l->vpn_ip ? "vpn_ip" : !l->class_name ? "class" : NULL;
        if (missing) {
            config_errorf(err, file, l->header, sec, missing, "required key is missing");
            return -1;
        }
        for (int j = 0; j < c->n_classes && u->class_index < 0; j++)
            if (strcmp(c->classes[j].name, c->user_class[i]) == 0)
                u->class_index = j;
        if (u->class_index < 0) {
            config_errorf(err, file, l->class_name, sec, "class", "no [class:%s] in this file",
                          c->user_class[i]);
            return -1;
        }
        if ((why = config_tunnel_host_problem(cfg, u->vpn_ip))) {
            config_errorf(err, file, l->vpn_ip, sec, "vpn_ip", "%s %s %s",
                          format_ipv4(u->vpn_ip, a), why, net);
            return -1;
        }
        if (u->vpn_ip == cfg->tun_ip) {
            config_errorf(err, file, l->vpn_ip, sec, "vpn_ip", "%s is the server's own tun_ip",
                          format_ipv4(u->vpn_ip, a));
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (c->users[j].vpn_ip == u->vpn_ip) {
                config_errorf(err, file, l->vpn_ip, sec, "vpn_ip",
                              "%s is already the address of [user:%s] (line %d)",
                              format_ipv4(u->vpn_ip, a), c->users[j].name, c->ul[j].vpn_ip);
                return -1;
            }
        }
        guaranteed += c->classes[u->class_index].rate_bps;
        if (cfg->qos_enabled && guaranteed > cfg->total_bandwidth_bps) {
            config_errorf(err, file, l->class_name, sec, "class",
                          "guaranteed rates reach %s with this user (default_rate plus each "
                          "listed user's class rate), above [qos] total_bandwidth %s",
                          config_format_bw(guaranteed, x, sizeof(x)),
                          config_format_bw(cfg->total_bandwidth_bps, y, sizeof(y)));
            return -1;
        }
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
    if (ini_parse_file(path, on_classes_entry, c, err) == 0 && check_classes(c, path, err) == 0) {
        memcpy(cfg->classes, c->classes, sizeof(c->classes[0]) * (size_t)c->n_classes);
        memcpy(cfg->users, c->users, sizeof(c->users[0]) * (size_t)c->n_users);
        cfg->n_classes = c->n_classes;
        cfg->n_users = c->n_users;
        rc = 0;
    }
    free(c);
    return rc;
}

uint32_t server_config_user_ip(const struct server_config *cfg, const char *username)
{
    /* Linear: called once per handshake, over at most QOS_USER_MAX short names. */
    for (int i = 0; i < cfg->n_users; i++)
        if (strcmp(cfg->users[i].name, username) == 0)
            return cfg->users[i].vpn_ip;
    return 0;
}
