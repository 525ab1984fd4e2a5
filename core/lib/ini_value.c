/* The value types of the schema engine (see ini_value.h). Each refuses with "expected <what
 * the type takes>, got \"<value>\"", the value cut to 64 bytes and never quoted when it is a
 * secret; a key's spec may say more precisely what it takes (spec->expected). */
#include "ini_value.h"

#include <inttypes.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "vpn/hex.h"
#include "vpn/keyfile.h"
#include "vpn/netaddr.h"
#include "vpn/units.h"

enum { SUN_PATH_LEN = sizeof(((struct sockaddr_un *)0)->sun_path) };

/* What each type takes, for "expected ..."; KEY_UINT's is made from its range. */
static const char *const EXPECTED[] = {
    [KEY_BOOL] = "true or false (yes/no, on/off, 1/0)",
    [KEY_BANDWIDTH] = "a bandwidth like 5Mbps, 2.5Mbps, 500Kbps or 12mbit (bits per second, "
                      "1bps to 100Gbps)",
    [KEY_IPV4] = "a dotted IPv4 address like 10.8.0.1",
    [KEY_IP_LITERAL] = "a numeric IPv4 or IPv6 address (no host names)",
    [KEY_PREFIX] = "a prefix length from 1 to 30 or a contiguous dotted mask like 255.255.255.0",
    [KEY_IFNAME] = "an interface name of 1 to 15 characters from [A-Za-z0-9_.-]",
    [KEY_CIDR_LIST] = "a comma-separated list of networks like 192.168.100.0/24 (host bits "
                      "zero)",
    [KEY_CLASSID] = "a tc classid 1:MINOR, MINOR in hex from 2 to ffff",
    [KEY_LOG_LEVEL] = "DEBUG, INFO, WARN or ERROR",
    [KEY_KEY] = "a base64 key of 44 characters as vpn-keygen or wg pubkey print it",
};

/* "expected <what>, got \"<value>\"" */
static int refuse(const struct ini_at *at, const char *value, struct config_error *err)
{
    const struct key_spec *k = at->key;
    char range[64];
    const char *what = k->expected;

    if (!what && k->type == KEY_UINT) {
        snprintf(range, sizeof(range), "a whole number from %" PRIu64 " to %" PRIu64, k->min,
                 k->max);
        what = range;
    }
    if (!what && (size_t)k->type < sizeof(EXPECTED) / sizeof(EXPECTED[0]))
        what = EXPECTED[k->type];
    ini_schema_errorf(err, at, "expected %s, got \"%.64s\"", what ? what : "another value",
                      value);
    return -1;
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
        uint32_t x = (uint32_t)v;   /* also int fields: a range must fit in 31 bits for them */
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, sizeof(v));
    }
}

int ini_value_resolve_path(const char *dir, const char *value, char *out, size_t len)
{
    int n;
    if (value[0] == '/' || value[0] == '\0')
        n = snprintf(out, len, "%s", value);
    else
        n = snprintf(out, len, "%s%s", dir, value);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* "24" or "255.255.255.0" to a prefix length; 31 and 32 leave no room for clients. */
static int parse_prefix(const char *s, uint8_t *prefix)
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

/* 1..4 hex digits, nothing else (tc reads both halves of a classid as hex). */
static int parse_hex16(const char *s, size_t n, uint16_t *out)
{
    unsigned v = 0;

    if (n < 1 || n > 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = (uint16_t)v;
    return 0;
}

/* tc classid "1:MINOR". The major must be 1 because the HTB root is "1:"; minor 0 is the root
 * itself and minor 1 the inner class every leaf hangs from (qos.h), so neither can be a leaf. */
static int parse_classid(const char *s, uint16_t *major, uint16_t *minor)
{
    const char *colon = strchr(s, ':');

    if (!colon || parse_hex16(s, (size_t)(colon - s), major) < 0 ||
        parse_hex16(colon + 1, strlen(colon + 1), minor) < 0)
        return -1;
    return *major == 1 && *minor > 1 ? 0 : -1;
}

static int store_cidr_list(const struct ini_at *at, void *dst, const char *v,
                           struct config_error *err)
{
    const struct key_spec *k = at->key;
    int *count = (int *)((char *)at->obj + k->aux);
    char bad[65];   /* quoted as %.64s, like every value */

    if (*v == '\0') {       /* KEY_EMPTY_OK: none */
        *count = 0;
        return 0;
    }
    int n = parse_ipv4_net_list(v, dst, (int)k->max, bad, sizeof(bad));
    if (n == -2) {
        ini_schema_errorf(err, at, k->too_many ? k->too_many : "at most %d networks",
                          (int)k->max);
        return -1;
    }
    if (n < 0)
        return refuse(at, bad, err);
    *count = n;
    return 0;
}

static int store_path(const struct ini_at *at, char *dst, const char *v,
                      struct config_error *err)
{
    const struct key_spec *k = at->key;

    if (ini_value_resolve_path(at->dir, v, dst, k->size) < 0) {
        ini_schema_errorf(err, at, "path longer than %zu bytes", k->size - 1);
        return -1;
    }
    if (k->type == KEY_SOCKET_PATH && strlen(dst) >= SUN_PATH_LEN) {
        ini_schema_errorf(err, at, "socket path \"%.64s\" longer than %zu bytes, the limit of "
                          "a Unix socket", dst, (size_t)SUN_PATH_LEN - 1);
        return -1;
    }
    return 0;
}

int ini_value_store(const struct ini_at *at, const char *v, struct config_error *err)
{
    const struct key_spec *k = at->key;
    void *dst = (char *)at->obj + k->off;
    uint64_t n;

    switch (k->type) {
    case KEY_BOOL:
        return parse_bool(v, dst) == 0 ? 0 : refuse(at, v, err);
    case KEY_UINT:
        if (parse_uint(v, k->min, k->max, &n) < 0)
            return refuse(at, v, err);
        store_uint(dst, k->size, n);
        return 0;
    case KEY_BANDWIDTH:
        return parse_bandwidth(v, dst) == 0 ? 0 : refuse(at, v, err);
    case KEY_IPV4:
        return parse_ipv4(v, dst) == 0 ? 0 : refuse(at, v, err);
    case KEY_IP_LITERAL: {
        struct sockaddr_in6 sa;
        if (strlen(v) >= k->size || parse_endpoint(v, 0, &sa) < 0)
            return refuse(at, v, err);
        memcpy(dst, v, strlen(v) + 1);
        return 0;
    }
    case KEY_PREFIX:
        return parse_prefix(v, dst) == 0 ? 0 : refuse(at, v, err);
    case KEY_IFNAME:
        /* empty only when KEY_EMPTY_OK: no interface (the feature is off) */
        if ((*v && !ifname_valid(v)) || strlen(v) >= k->size)
            return refuse(at, v, err);
        memcpy(dst, v, strlen(v) + 1);
        return 0;
    case KEY_PATH:
    case KEY_SOCKET_PATH:
        return store_path(at, dst, v, err);
    case KEY_CIDR_LIST:
        return store_cidr_list(at, dst, v, err);
    case KEY_CLASSID:
        return parse_classid(v, dst, (uint16_t *)((char *)at->obj + k->aux)) == 0
                   ? 0 : refuse(at, v, err);
    case KEY_LOG_LEVEL:
        return parse_log_level(v, dst) == 0 ? 0 : refuse(at, v, err);
    case KEY_KEY:
        return keyfile_decode(v, dst) == 0 ? 0 : refuse(at, v, err);
    case KEY_TOKEN:
        /* Never quoted: it is the user's credential. hex_decode erased dst. */
        if (hex_decode(v, dst, k->size) == 0)
            return 0;
        if (k->expected)
            ini_schema_errorf(err, at, "expected %s", k->expected);
        else
            ini_schema_errorf(err, at, "expected %zu hex characters (the SHA-256 of "
                              "\"username:password\", see vpn-token)", 2 * k->size);
        return -1;
    case KEY_CUSTOM:
        return k->set(at, dst, v, err);
    }
    ini_schema_errorf(err, at, "no parser for this key (a bug)");
    return -1;
}
