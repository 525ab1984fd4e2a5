/* Users file of the enclave: "[user:NAME]" / "auth_token = <64 hex>" (REQUIREMENTS.md
 * section 2). The file holds secrets, so it must belong to no group or world readers. */
#include "users.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

struct users_ctx {
    struct user_table *t;
    int current;            /* index of the section being read, -1 outside a user section */
    int section_line;
    bool have_token;
};

static int finish_section(struct users_ctx *c, const char *file, struct config_error *err)
{
    if (c->current >= 0 && !c->have_token) {
        config_errorf(err, file, c->section_line, "user", "auth_token",
                      "missing for user '%s'", c->t->users[c->current].name);
        return -1;
    }
    return 0;
}

static int on_entry(void *ctx, const char *file, int line, const char *section, const char *key,
                    const char *value, struct config_error *err)
{
    struct users_ctx *c = ctx;
    if (!key) {
        if (finish_section(c, file, err))
            return -1;
        if (strncmp(section, "user:", 5) != 0) {
            config_errorf(err, file, line, section, "", "unknown section (expected [user:NAME])");
            return -1;
        }
        const char *name = section + 5;
        size_t n = strlen(name);
        if (n == 0 || n > USERNAME_MAX) {
            config_errorf(err, file, line, section, "", "user name must be 1 to %d bytes",
                          USERNAME_MAX);
            return -1;
        }
        if (users_find(c->t, name) >= 0) {
            config_errorf(err, file, line, section, "", "duplicate user '%s'", name);
            return -1;
        }
        if (c->t->count >= MAX_USERS) {
            config_errorf(err, file, line, section, "", "more than %d users", MAX_USERS);
            return -1;
        }
        c->current = c->t->count++;
        memcpy(c->t->users[c->current].name, name, n + 1);
        c->section_line = line;
        c->have_token = false;
        return 0;
    }
    if (c->current < 0) {
        config_errorf(err, file, line, section, key, "key outside a [user:NAME] section");
        return -1;
    }
    if (strcmp(key, "auth_token") != 0) {
        config_errorf(err, file, line, section, key, "unknown key (expected auth_token)");
        return -1;
    }
    if (c->have_token) {
        config_errorf(err, file, line, section, key, "given twice");
        return -1;
    }
    size_t bin_len = 0;
    const char *end = NULL;
    if (strlen(value) != 2 * TOKEN_LEN ||
        sodium_hex2bin(c->t->users[c->current].token, TOKEN_LEN, value, strlen(value), NULL,
                       &bin_len, &end) != 0 ||
        bin_len != TOKEN_LEN || *end != '\0') {
        config_errorf(err, file, line, section, key,
                      "expected 64 hex characters (SHA-256 of \"user:password\", see vpn-token)");
        return -1;
    }
    c->have_token = true;
    return 0;
}

int users_load(const char *path, struct user_table *t, struct config_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        config_errorf(err, path, 0, "", "", "cannot read users file: %s", strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        config_errorf(err, path, 0, "", "",
                      "users file is readable by group or others (mode %03o); chmod 600 it",
                      (unsigned)(st.st_mode & 0777));
        return -1;
    }
    sodium_memzero(t, sizeof(*t));
    struct users_ctx c = { .t = t, .current = -1 };
    if (ini_parse_file(path, on_entry, &c, err) != 0 || finish_section(&c, path, err) != 0) {
        sodium_memzero(t, sizeof(*t));
        return -1;
    }
    return 0;
}

int users_find(const struct user_table *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->users[i].name, name) == 0)
            return i;
    return -1;
}

bool users_accept_ts(struct user_table *t, int index, uint64_t ts, uint64_t now_ms, bool commit,
                     uint64_t *min_ts)
{
    uint64_t *last = &t->users[index].last_request_ts;
    uint64_t seen = __atomic_load_n(last, __ATOMIC_ACQUIRE);
    for (;;) {
        if (ts <= seen) {
            *min_ts = now_ms > seen + 1 ? now_ms : seen + 1;
            return false;
        }
        if (!commit)
            return true;
        if (__atomic_compare_exchange_n(last, &seen, ts, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
    }
}
