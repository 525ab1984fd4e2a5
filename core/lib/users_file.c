/* The users file's reader (see users_file.h). */
#include "vpn/users_file.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/hex.h"
#include "vpn/keyfile.h"
#include "vpn/limits.h"
#include "vpn/units.h"
#include "vpn/device_name.h"
#include "vpn/username.h"

static const char WG_PREFIX[] = "wireguard:";

/* What the checks at the end of the file need of a WireGuard section. */
struct wg_seen {
    char user[USERNAME_MAX + 1];
    char device[DEVICE_NAME_MAX + 1];
    uint8_t public_key[32];
    int line;
};

struct reader {
    const struct users_file_handlers *h;
    void *ctx;
    enum { IN_NOTHING, IN_USER, IN_WIREGUARD } in;
    struct users_file_entry cur;
    struct users_file_wg_entry wg;
    bool have_token, have_disabled, have_public_key;
    char (*names)[USERNAME_MAX + 1];    /* the users so far: names are unique */
    int count;
    struct wg_seen *peers;              /* the WireGuard sections so far */
    int n_peers, cap_peers;
};

static int finish_user(struct reader *r, const char *file, struct config_error *err)
{
    char section[USERNAME_MAX + 8];
    snprintf(section, sizeof(section), "user:%s", r->cur.name);
    if (!r->have_token) {
        config_errorf(err, file, r->cur.line, "user", "auth_token", "missing for user '%s'",
                      r->cur.name);
        return -1;
    }
    for (int i = 0; i < r->count; i++) {
        if (strcmp(r->names[i], r->cur.name) == 0) {
            config_errorf(err, file, r->cur.line, section, NULL, "duplicate user '%s'",
                          r->cur.name);
            return -1;
        }
    }
    if (r->count >= MAX_USERS) {
        config_errorf(err, file, r->cur.line, section, NULL, "more than %d users", MAX_USERS);
        return -1;
    }
    memcpy(r->names[r->count++], r->cur.name, sizeof(r->cur.name));
    return r->h->user ? r->h->user(r->ctx, &r->cur, file, err) : 0;
}

static int finish_wireguard(struct reader *r, const char *file, struct config_error *err)
{
    char section[sizeof(WG_PREFIX) + USERNAME_MAX + DEVICE_NAME_MAX + 2];
    snprintf(section, sizeof(section), "%s%s:%s", WG_PREFIX, r->wg.user, r->wg.device);
    if (!r->have_public_key) {
        config_errorf(err, file, r->wg.line, section, "public_key", "missing (the device's "
                      "WireGuard public key, base64, as `wg pubkey` prints it)");
        return -1;
    }
    if (r->n_peers >= WG_PEERS_MAX) {
        config_errorf(err, file, r->wg.line, section, NULL, "more than %d WireGuard peers",
                      WG_PEERS_MAX);
        return -1;
    }
    if (r->n_peers == r->cap_peers) {
        int cap = r->cap_peers ? 2 * r->cap_peers : 64;
        struct wg_seen *p = realloc(r->peers, sizeof(*p) * (size_t)cap);
        if (!p) {
            config_errorf(err, file, r->wg.line, section, NULL, "out of memory");
            return -1;
        }
        r->peers = p;
        r->cap_peers = cap;
    }
    struct wg_seen *s = &r->peers[r->n_peers++];
    memcpy(s->user, r->wg.user, sizeof(s->user));
    memcpy(s->device, r->wg.device, sizeof(s->device));
    memcpy(s->public_key, r->wg.public_key, sizeof(s->public_key));
    s->line = r->wg.line;
    return r->h->wireguard ? r->h->wireguard(r->ctx, &r->wg, file, err) : 0;
}

/* Hands the finished section to the caller, then erases it (tokens, preshared keys). */
static int finish(struct reader *r, const char *file, struct config_error *err)
{
    int rc = 0;
    if (r->in == IN_USER)
        rc = finish_user(r, file, err);
    else if (r->in == IN_WIREGUARD)
        rc = finish_wireguard(r, file, err);
    r->in = IN_NOTHING;
    sodium_memzero(&r->cur, sizeof(r->cur));
    sodium_memzero(&r->wg, sizeof(r->wg));
    return rc;
}

/* The user name of a header, by the rule the handshake applies to the name it receives
 * (username.h). 0, or -1 with *err. */
static int check_user_name(const char *name, size_t n, const char *file, int line,
                           const char *section, struct config_error *err)
{
    const char *why = username_check(name, n);
    if (!why)
        return 0;
    config_errorf(err, file, line, section, NULL, "user name %s; expected " USERNAME_RULE, why);
    return -1;
}

static int open_user(struct reader *r, const char *file, int line, const char *section,
                     struct config_error *err)
{
    const char *name = section + 5;
    size_t n = strlen(name);
    if (check_user_name(name, n, file, line, section, err))
        return -1;
    memcpy(r->cur.name, name, n + 1);
    r->cur.line = line;
    r->in = IN_USER;
    r->have_token = r->have_disabled = false;
    return 0;
}

/* "[wireguard:USER:DEVICE]": a user name holds no ':' (username.h), so the first one after
 * the prefix ends it. */
static int open_wireguard(struct reader *r, const char *file, int line, const char *section,
                          struct config_error *err)
{
    const char *user = section + strlen(WG_PREFIX);
    const char *colon = strchr(user, ':');
    if (!colon) {
        config_errorf(err, file, line, section, NULL,
                      "expected [wireguard:USER:DEVICE] (a device of a user)");
        return -1;
    }
    size_t ulen = (size_t)(colon - user);
    const char *device = colon + 1;
    size_t dlen = strlen(device);
    if (check_user_name(user, ulen, file, line, section, err))
        return -1;
    const char *why = device_name_check(device, dlen);
    if (why) {
        config_errorf(err, file, line, section, NULL,
                      "device name %s; expected " DEVICE_NAME_RULE, why);
        return -1;
    }
    memcpy(r->wg.user, user, ulen);
    r->wg.user[ulen] = '\0';
    memcpy(r->wg.device, device, dlen + 1);
    r->wg.line = line;
    r->in = IN_WIREGUARD;
    r->have_public_key = false;
    return 0;
}

static int user_key(struct reader *r, const char *file, int line, const char *section,
                    const char *key, const char *value, struct config_error *err)
{
    if (strcmp(key, "disabled") == 0) {
        if (r->have_disabled) {
            config_errorf(err, file, line, section, key, "given twice");
            return -1;
        }
        if (parse_bool(value, &r->cur.disabled) != 0) {
            config_errorf(err, file, line, section, key, "expected true or false");
            return -1;
        }
        r->have_disabled = true;
        return 0;
    }
    if (strcmp(key, "auth_token") != 0) {
        config_errorf(err, file, line, section, key,
                      "unknown key (expected auth_token or disabled)");
        return -1;
    }
    if (r->have_token) {
        config_errorf(err, file, line, section, key, "given twice");
        return -1;
    }
    if (hex_decode(value, r->cur.token, TOKEN_LEN) != 0) {
        config_errorf(err, file, line, section, key,
                      "expected 64 hex characters (SHA-256 of \"user:password\", see vpn-token)");
        return -1;
    }
    r->have_token = true;
    return 0;
}

static int wireguard_key(struct reader *r, const char *file, int line, const char *section,
                         const char *key, const char *value, struct config_error *err)
{
    bool is_public = strcmp(key, "public_key") == 0;
    if (!is_public && strcmp(key, "preshared_key") != 0) {
        config_errorf(err, file, line, section, key,
                      "unknown key (expected public_key or preshared_key)");
        return -1;
    }
    if (is_public ? r->have_public_key : r->wg.has_preshared_key) {
        config_errorf(err, file, line, section, key, "given twice");
        return -1;
    }
    uint8_t *dst = is_public ? r->wg.public_key : r->wg.preshared_key;
    /* The value is never quoted: a preshared key is a secret. */
    if (keyfile_decode(value, dst) != 0) {
        config_errorf(err, file, line, section, key,
                      "expected the base64 of 32 bytes (44 characters, as `wg %s` prints)",
                      is_public ? "pubkey" : "genpsk");
        return -1;
    }
    /* The all-zero point: every Diffie-Hellman with it fails; surely a mistake. */
    if (is_public && sodium_is_zero(dst, 32)) {
        config_errorf(err, file, line, section, key, "the all-zero key is no device's key");
        return -1;
    }
    if (is_public)
        r->have_public_key = true;
    else
        r->wg.has_preshared_key = true;
    return 0;
}

static int on_entry(void *ctx, const char *file, int line, const char *section, const char *key,
                    const char *value, struct config_error *err)
{
    struct reader *r = ctx;
    if (!key) {
        if (finish(r, file, err))
            return -1;
        if (strncmp(section, "user:", 5) == 0)
            return open_user(r, file, line, section, err);
        if (strncmp(section, WG_PREFIX, strlen(WG_PREFIX)) == 0)
            return open_wireguard(r, file, line, section, err);
        config_errorf(err, file, line, section, NULL,
                      "unknown section (expected [user:NAME] or [wireguard:USER:DEVICE])");
        return -1;
    }
    switch (r->in) {
    case IN_USER:
        return user_key(r, file, line, section, key, value, err);
    case IN_WIREGUARD:
        return wireguard_key(r, file, line, section, key, value, err);
    default:
        config_errorf(err, file, line, section, key,
                      "key outside a [user:NAME] or [wireguard:USER:DEVICE] section");
        return -1;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int by_user_device(const void *a, const void *b)
{
    const struct wg_seen *x = a, *y = b;
    int c = strcmp(x->user, y->user);
    if (!c)
        c = strcmp(x->device, y->device);
    return c ? c : x->line - y->line;
}

static int by_public_key(const void *a, const void *b)
{
    const struct wg_seen *x = a, *y = b;
    int c = memcmp(x->public_key, y->public_key, sizeof(x->public_key));
    return c ? c : x->line - y->line;
}

/* The rules of the whole file (docs/WIREGUARD.md): each peer's user is in the file, a device
 * is named once, a user has at most USER_DEVICES_MAX devices (the enclave's per-user table, as
 * vpnctl device add keeps it), a public key belongs to one device. Sorting keeps this O(n log n) for the
 * largest file (WG_PEERS_MAX peers, MAX_USERS users); the names are not needed in file order
 * any more. */
static int check_peers(struct reader *r, const char *file, struct config_error *err)
{
    char section[sizeof(WG_PREFIX) + USERNAME_MAX + DEVICE_NAME_MAX + 2];
    if (r->n_peers == 0)
        return 0;
    qsort(r->names, (size_t)r->count, sizeof(*r->names), by_name);
    qsort(r->peers, (size_t)r->n_peers, sizeof(*r->peers), by_user_device);
    for (int i = 0; i < r->n_peers; i++) {
        const struct wg_seen *p = &r->peers[i];
        snprintf(section, sizeof(section), "%s%s:%s", WG_PREFIX, p->user, p->device);
        if (!bsearch(p->user, r->names, (size_t)r->count, sizeof(*r->names), by_name)) {
            config_errorf(err, file, p->line, section, NULL,
                          "no [user:%s] in this file (a WireGuard peer is a device of a user)",
                          p->user);
            return -1;
        }
        if (i > 0 && strcmp(p->user, p[-1].user) == 0 && strcmp(p->device, p[-1].device) == 0) {
            config_errorf(err, file, p->line, section, NULL, "duplicate device (first at line %d)",
                          p[-1].line);
            return -1;
        }
        if (i >= USER_DEVICES_MAX && strcmp(p->user, p[-USER_DEVICES_MAX].user) == 0) {
            config_errorf(err, file, p->line, section, NULL,
                          "user '%s' has more than %d WireGuard devices", p->user,
                          USER_DEVICES_MAX);
            return -1;
        }
    }
    qsort(r->peers, (size_t)r->n_peers, sizeof(*r->peers), by_public_key);
    for (int i = 1; i < r->n_peers; i++) {
        const struct wg_seen *p = &r->peers[i];
        if (memcmp(p->public_key, p[-1].public_key, sizeof(p->public_key)) == 0) {
            snprintf(section, sizeof(section), "%s%s:%s", WG_PREFIX, p->user, p->device);
            config_errorf(err, file, p->line, section, "public_key",
                          "also the key of [%s%s:%s] (line %d); a key belongs to one device",
                          WG_PREFIX, p[-1].user, p[-1].device, p[-1].line);
            return -1;
        }
    }
    return 0;
}

int users_file_parse_all(const char *name, const char *buf, size_t len,
                         const struct users_file_handlers *h, void *ctx,
                         struct config_error *err)
{
    struct reader r = { .h = h, .ctx = ctx };
    r.names = malloc(sizeof(*r.names) * MAX_USERS);
    if (!r.names) {
        config_errorf(err, name, 0, NULL, NULL, "out of memory");
        return -1;
    }
    int rc = ini_parse_buffer(name, buf, len, on_entry, &r, err) != 0 ||
                     finish(&r, name, err) != 0 || check_peers(&r, name, err) != 0
                 ? -1 : 0;
    free(r.names);
    free(r.peers);
    sodium_memzero(&r, sizeof(r));
    return rc;
}

int users_file_parse(const char *name, const char *buf, size_t len, users_file_fn fn, void *ctx,
                     struct config_error *err)
{
    const struct users_file_handlers h = { .user = fn };
    return users_file_parse_all(name, buf, len, &h, ctx, err);
}
