/* The users file's reader (see users_file.h). */
#include "vpn/users_file.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/hex.h"
#include "vpn/units.h"
#include "vpn/username.h"

struct reader {
    users_file_fn fn;
    void *ctx;
    struct users_file_entry cur;
    bool in_section, have_token, have_disabled;
    char (*names)[USERNAME_MAX + 1];    /* the users so far: names are unique */
    int count;
};

/* Hands the finished section to the caller, then erases its token. */
static int finish(struct reader *r, const char *file, struct config_error *err)
{
    if (!r->in_section)
        return 0;
    r->in_section = false;
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
    int rc = r->fn(r->ctx, &r->cur, file, err);
    sodium_memzero(&r->cur, sizeof(r->cur));
    return rc;
}

static int on_entry(void *ctx, const char *file, int line, const char *section, const char *key,
                    const char *value, struct config_error *err)
{
    struct reader *r = ctx;
    if (!key) {
        if (finish(r, file, err))
            return -1;
        if (strncmp(section, "user:", 5) != 0) {
            config_errorf(err, file, line, section, NULL, "unknown section (expected [user:NAME])");
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
        r->in_section = true;
        r->have_token = r->have_disabled = false;
        return 0;
    }
    if (!r->in_section) {
        config_errorf(err, file, line, section, key, "key outside a [user:NAME] section");
        return -1;
    }
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

int users_file_parse(const char *name, const char *buf, size_t len, users_file_fn fn, void *ctx,
                     struct config_error *err)
{
    struct reader r = { .fn = fn, .ctx = ctx };
    r.names = malloc(sizeof(*r.names) * MAX_USERS);
    if (!r.names) {
        config_errorf(err, name, 0, NULL, NULL, "out of memory");
        return -1;
    }
    int rc = ini_parse_buffer(name, buf, len, on_entry, &r, err) != 0 || finish(&r, name, err)
                 ? -1 : 0;
    free(r.names);
    sodium_memzero(&r, sizeof(r));
    return rc;
}
