/* The users file's reader (see users_file.h): users and their WireGuard devices. */
#include "vpn/users_file.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/hex.h"
#include "vpn/keyfile.h"
#include "vpn/units.h"
#include "vpn/username.h"

/* Devices in one file: MAX_USERS users of USER_DEVICES_MAX each (the enclave's table). */
enum { PEERS_MAX = MAX_USERS * USER_DEVICES_MAX };

enum section_kind { IN_NONE, IN_USER, IN_PEER };

struct reader {
    const struct users_file_handlers *h;
    void *ctx;
    enum section_kind in;
    struct users_file_entry cur;
    bool have_token, have_disabled;
    struct users_file_wg_entry peer;
    bool have_public, have_psk;
    char (*names)[USERNAME_MAX + 1];    /* the users so far: names are unique */
    int count;
    /* Every device, in file order, handed out once the whole file passed (a device may
     * come before its user). Erased at the end: it holds preshared keys. */
    struct users_file_wg_entry *peers;
    int n_peers, cap_peers;
};

/* Hands the finished user to the caller, then erases its token. */
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
    int rc = r->h->user ? r->h->user(r->ctx, &r->cur, file, err) : 0;
    sodium_memzero(&r->cur, sizeof(r->cur));
    return rc;
}

/* Keeps the finished device for the checks across the file. The array grows by copies so
 * that no preshared key is left behind in freed memory (realloc would). */
static int finish_peer(struct reader *r, const char *file, struct config_error *err)
{
    char section[USERNAME_MAX + DEVICE_NAME_MAX + 16];
    snprintf(section, sizeof(section), "wireguard:%s:%s", r->peer.user, r->peer.device);
    if (!r->have_public) {
        config_errorf(err, file, r->peer.line, section, "public_key", "missing (the device's "
                      "WireGuard public key, as `wg pubkey` prints it)");
        return -1;
    }
    if (r->n_peers >= PEERS_MAX) {
        config_errorf(err, file, r->peer.line, section, NULL, "more than %d WireGuard devices",
                      PEERS_MAX);
        return -1;
    }
    if (r->n_peers == r->cap_peers) {
        int cap = r->cap_peers ? r->cap_peers * 2 : 16;
        cap = cap < PEERS_MAX ? cap : PEERS_MAX;
        struct users_file_wg_entry *grown = malloc(sizeof(*grown) * (size_t)cap);
        if (!grown) {
            config_errorf(err, file, r->peer.line, section, NULL, "out of memory");
            return -1;
        }
        if (r->n_peers) {
            memcpy(grown, r->peers, sizeof(*grown) * (size_t)r->n_peers);
            sodium_memzero(r->peers, sizeof(*grown) * (size_t)r->n_peers);
        }
        free(r->peers);
        r->peers = grown;
        r->cap_peers = cap;
    }
    r->peers[r->n_peers++] = r->peer;
    sodium_memzero(&r->peer, sizeof(r->peer));
    return 0;
}

/* Ends the section being read, if any. */
static int finish(struct reader *r, const char *file, struct config_error *err)
{
    enum section_kind in = r->in;
    r->in = IN_NONE;
    return in == IN_USER ? finish_user(r, file, err)
           : in == IN_PEER ? finish_peer(r, file, err) : 0;
}

static int open_section(struct reader *r, const char *file, int line, const char *section,
                        struct config_error *err)
{
    if (strncmp(section, "wireguard:", 10) == 0) {
        memset(&r->peer, 0, sizeof(r->peer));
        const char *why = device_section_split(section + 10, r->peer.user, r->peer.device);
        if (why) {
            config_errorf(err, file, line, section, NULL, "%s", why);
            return -1;
        }
        r->peer.line = line;
        r->in = IN_PEER;
        r->have_public = r->have_psk = false;
        return 0;
    }
    if (strncmp(section, "user:", 5) != 0) {
        config_errorf(err, file, line, section, NULL,
                      "unknown section (expected [user:NAME] or [wireguard:USER:DEVICE])");
        return -1;
    }
    const char *name = section + 5;
    size_t n = strlen(name);
    /* The handshake applies the same rule to the name it receives (username.h). */
    const char *why = username_check(name, n);
    if (why) {
        config_errorf(err, file, line, section, NULL, "user name %s; expected " USERNAME_RULE,
                      why);
        return -1;
    }
    memset(&r->cur, 0, sizeof(r->cur));
    memcpy(r->cur.name, name, n + 1);
    r->cur.line = line;
    r->in = IN_USER;
    r->have_token = r->have_disabled = false;
    return 0;
}

/* A key of a [wireguard:USER:DEVICE]. */
static int peer_key(struct reader *r, const char *file, int line, const char *section,
                    const char *key, const char *value, struct config_error *err)
{
    bool psk = strcmp(key, "preshared_key") == 0;
    if (!psk && strcmp(key, "public_key") != 0) {
        config_errorf(err, file, line, section, key,
                      "unknown key (expected public_key or preshared_key)");
        return -1;
    }
    bool *have = psk ? &r->have_psk : &r->have_public;
    if (*have) {
        config_errorf(err, file, line, section, key, "given twice");
        return -1;
    }
    if (keyfile_decode(value, psk ? r->peer.preshared_key : r->peer.public_key) != 0) {
        config_errorf(err, file, line, section, key, "expected a 32-byte key in base64 (44 "
                      "characters, as `wg %s` prints it)", psk ? "genpsk" : "pubkey");
        return -1;
    }
    *have = true;
    r->peer.has_preshared_key |= psk;
    return 0;
}

static int on_entry(void *ctx, const char *file, int line, const char *section, const char *key,
                    const char *value, struct config_error *err)
{
    struct reader *r = ctx;
    if (!key)
        return finish(r, file, err) ? -1 : open_section(r, file, line, section, err);
    if (r->in == IN_NONE) {
        config_errorf(err, file, line, section, key, "key outside a [user:NAME] section");
        return -1;
    }
    if (r->in == IN_PEER)
        return peer_key(r, file, line, section, key, value, err);
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

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Devices ordered by user, device, then line: the same USER:DEVICE twice sit side by side,
 * the later one second. */
static int cmp_peer_names(const void *a, const void *b)
{
    const struct users_file_wg_entry *x = *(const struct users_file_wg_entry *const *)a;
    const struct users_file_wg_entry *y = *(const struct users_file_wg_entry *const *)b;
    int c = strcmp(x->user, y->user);
    c = c ? c : strcmp(x->device, y->device);
    return c ? c : x->line - y->line;
}

static int cmp_peer_keys(const void *a, const void *b)
{
    const struct users_file_wg_entry *x = *(const struct users_file_wg_entry *const *)a;
    const struct users_file_wg_entry *y = *(const struct users_file_wg_entry *const *)b;
    int c = memcmp(x->public_key, y->public_key, KEY_LEN);
    return c ? c : x->line - y->line;
}

/* The checks across the file (users_file.h), sorted rather than pairwise: a file may hold
 * PEERS_MAX devices. */
static int check_peers(struct reader *r, const char *file, const struct users_file_wg_entry **idx,
                       struct config_error *err)
{
    char section[USERNAME_MAX + DEVICE_NAME_MAX + 16];
    qsort(r->names, (size_t)r->count, sizeof(r->names[0]), cmp_names);
    for (int i = 0; i < r->n_peers; i++) {
        const struct users_file_wg_entry *p = &r->peers[i];
        idx[i] = p;
        if (!bsearch(p->user, r->names, (size_t)r->count, sizeof(r->names[0]), cmp_names)) {
            snprintf(section, sizeof(section), "wireguard:%s:%s", p->user, p->device);
            config_errorf(err, file, p->line, section, NULL, "no [user:%s] in this file",
                          p->user);
            return -1;
        }
    }
    qsort(idx, (size_t)r->n_peers, sizeof(*idx), cmp_peer_names);
    for (int i = 0, run = 0; i < r->n_peers; i++) {
        const struct users_file_wg_entry *p = idx[i], *prev = i ? idx[i - 1] : NULL;
        bool same_user = prev && strcmp(prev->user, p->user) == 0;
        snprintf(section, sizeof(section), "wireguard:%s:%s", p->user, p->device);
        if (same_user && strcmp(prev->device, p->device) == 0) {
            config_errorf(err, file, p->line, section, NULL, "duplicate device (first at "
                          "line %d)", prev->line);
            return -1;
        }
        run = same_user ? run + 1 : 1;
        if (run > USER_DEVICES_MAX) {
            config_errorf(err, file, p->line, section, NULL, "user '%s' has more than %d "
                          "WireGuard devices", p->user, USER_DEVICES_MAX);
            return -1;
        }
    }
    qsort(idx, (size_t)r->n_peers, sizeof(*idx), cmp_peer_keys);
    for (int i = 1; i < r->n_peers; i++) {
        const struct users_file_wg_entry *p = idx[i], *prev = idx[i - 1];
        if (memcmp(prev->public_key, p->public_key, KEY_LEN) == 0) {
            snprintf(section, sizeof(section), "wireguard:%s:%s", p->user, p->device);
            config_errorf(err, file, p->line, section, "public_key", "the key of "
                          "[wireguard:%s:%s] (line %d) already: a key names one device",
                          prev->user, prev->device, prev->line);
            return -1;
        }
    }
    return 0;
}

static int hand_out_peers(struct reader *r, const char *file, struct config_error *err)
{
    if (!r->n_peers)
        return 0;
    const struct users_file_wg_entry **idx = malloc(sizeof(*idx) * (size_t)r->n_peers);
    if (!idx) {
        config_errorf(err, file, 0, NULL, NULL, "out of memory");
        return -1;
    }
    int rc = check_peers(r, file, idx, err);
    free(idx);
    for (int i = 0; rc == 0 && r->h->wireguard && i < r->n_peers; i++)
        rc = r->h->wireguard(r->ctx, &r->peers[i], file, err);
    return rc;
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
                     finish(&r, name, err) != 0 || hand_out_peers(&r, name, err) != 0
                 ? -1 : 0;
    free(r.names);
    if (r.peers) {
        sodium_memzero(r.peers, sizeof(*r.peers) * (size_t)r.cap_peers);
        free(r.peers);
    }
    sodium_memzero(&r, sizeof(r));
    return rc;
}

int users_file_parse(const char *name, const char *buf, size_t len, users_file_fn fn, void *ctx,
                     struct config_error *err)
{
    const struct users_file_handlers h = { .user = fn };
    return users_file_parse_all(name, buf, len, &h, ctx, err);
}
