/* Users file of the enclave: "[user:NAME]" / "auth_token = <64 hex>" (REQUIREMENTS.md
 * section 2) / optionally "disabled = true" (vpnctl user disable), and the WireGuard peers'
 * sections (core/lib/users_file.c reads them all; wg_peers.c keeps the peers). The file holds
 * secrets, so it must belong to no group or world readers. */
#include "users.h"
#include "wg_peers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "vpn/secret_file.h"
#include "vpn/users_file.h"

struct load {
    struct user_table *users;
    struct wg_peer_list *peers;     /* NULL: not kept */
};

/* One user of the file into the table (users_file_parse saw to unique names and the bound). */
static int add_user(void *ctx, const struct users_file_entry *e, const char *file,
                    struct config_error *err)
{
    struct user_table *t = ((struct load *)ctx)->users;
    struct enclave_user *u = &t->users[t->count++];
    memcpy(u->name, e->name, sizeof(u->name));
    memcpy(u->token, e->token, TOKEN_LEN);
    u->disabled = e->disabled;
    return 0;
}

static int add_peer(void *ctx, const struct users_file_wg_entry *e, const char *file,
                    struct config_error *err)
{
    struct wg_peer_list *l = ((struct load *)ctx)->peers;
    if (l && wg_peers_list_add(l, e) != 0) {
        config_errorf(err, file, e->line, NULL, NULL, "more than %d WireGuard peers",
                      WG_PEERS_MAX);
        return -1;
    }
    return 0;
}

int users_open(const char *path, struct config_error *err)
{
    char why[400];
    int fd = secret_file_open(path, "tokens", why, sizeof(why));
    if (fd < 0)
        config_errorf(err, path, 0, NULL, NULL, "users file %s", why);
    return fd;
}

int users_load(const char *path, struct user_table *t, struct config_error *err)
{
    return users_load_all(path, t, NULL, err);
}

int users_load_all(const char *path, struct user_table *t, struct wg_peer_list *peers,
                   struct config_error *err)
{
    int fd = users_open(path, err);
    if (fd < 0)
        return -1;
    int rc = users_load_fd_all(fd, path, t, peers, err);
    close(fd);
    return rc;
}

int users_load_fd(int fd, const char *path, struct user_table *t, struct config_error *err)
{
    return users_load_fd_all(fd, path, t, NULL, err);
}

int users_load_fd_all(int fd, const char *path, struct user_table *t, struct wg_peer_list *peers,
                      struct config_error *err)
{
    /* The launcher opened it (SIGHUP) by the same rule; the descriptor is checked again. */
    char why[400];
    struct stat st;
    if (secret_file_check(fd, path, "tokens", why, sizeof(why)) != 0 || fstat(fd, &st) != 0) {
        config_errorf(err, path, 0, NULL, NULL, "users file %s", why);
        return -1;
    }
    if (st.st_size > USERS_FILE_MAX) {
        config_errorf(err, path, 0, NULL, NULL, "users file larger than %d bytes", USERS_FILE_MAX);
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        config_errorf(err, path, 0, NULL, NULL, "out of memory");
        return -1;
    }
    size_t len = 0;
    ssize_t n;
    while (len < cap && (n = pread(fd, buf + len, cap - len, (off_t)len)) > 0)
        len += (size_t)n;
    sodium_memzero(t, sizeof(*t));
    if (peers)
        sodium_memzero(peers, sizeof(*peers));
    struct load ctx = { t, peers };
    static const struct users_file_handlers handlers = { add_user, add_peer };
    int rc = 0;
    if (users_file_parse_all(path, buf, len, &handlers, &ctx, err) != 0) {
        sodium_memzero(t, sizeof(*t));
        if (peers)
            sodium_memzero(peers, sizeof(*peers));
        rc = -1;
    }
    sodium_memzero(buf, cap);
    free(buf);
    return rc;
}

void users_set_ts_floor(struct user_table *t, uint64_t now_ms)
{
    for (int i = 0; i < t->count; i++)
        if (t->users[i].last_request_ts < now_ms)
            __atomic_store_n(&t->users[i].last_request_ts, now_ms, __ATOMIC_RELEASE);
}

/* Kills every key made for entry u (workers compare generations on every use). */
static void next_generation(struct enclave_user *u)
{
    for (int d = 0; d < USER_DEVICES_MAX; d++)
        __atomic_store_n(&u->devices[d].sids, 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&u->gen, 1, __ATOMIC_ACQ_REL);
}

int users_merge(struct user_table *live, const struct user_table *next, uint64_t now_ms,
                void (*ended)(const char *name, enum user_end why, void *ctx), void *ctx)
{
    int changes = 0;
    /* Users gone from the file: token first, then the name, so a worker comparing names
     * concurrently can at worst fail one handshake. */
    for (int i = 0; i < live->count; i++) {
        struct enclave_user *u = &live->users[i];
        if (!u->name[0] || users_find(next, u->name) >= 0)
            continue;
        if (ended)
            ended(u->name, USER_END_REMOVED, ctx);
        next_generation(u);
        sodium_memzero(u->token, sizeof(u->token));
        __atomic_store_n(&u->name[0], '\0', __ATOMIC_RELEASE);
        changes++;
    }
    for (int j = 0; j < next->count; j++) {
        const struct enclave_user *nu = &next->users[j];
        int i = users_find(live, nu->name);
        if (i >= 0) {
            struct enclave_user *u = &live->users[i];
            bool was_disabled = __atomic_load_n(&u->disabled, __ATOMIC_ACQUIRE);
            /* Disabled first, so that no handshake succeeds between the generation's move
             * and the flag. */
            __atomic_store_n(&u->disabled, nu->disabled, __ATOMIC_RELEASE);
            if (sodium_memcmp(u->token, nu->token, TOKEN_LEN) != 0) {
                if (ended)
                    ended(nu->name, USER_END_TOKEN_CHANGED, ctx);
                next_generation(u);
                memcpy(u->token, nu->token, TOKEN_LEN);
                changes++;
            } else if (nu->disabled && !was_disabled) {
                if (ended)
                    ended(nu->name, USER_END_DISABLED, ctx);
                next_generation(u);
                changes++;
            } else if (!nu->disabled && was_disabled) {
                changes++;
            }
            continue;
        }
        /* A new user: a free entry (a removed user's) or the end of the table. */
        for (i = 0; i < live->count && live->users[i].name[0]; i++)
            ;
        if (i == MAX_USERS)
            return -1;
        struct enclave_user *u = &live->users[i];
        next_generation(u);     /* an erased entry reused: its old keys stay dead */
        memcpy(u->token, nu->token, TOKEN_LEN);
        __atomic_store_n(&u->last_request_ts, now_ms, __ATOMIC_RELAXED);
        __atomic_store_n(&u->auth_fail_tat[0], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&u->auth_fail_tat[1], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&u->disabled, nu->disabled, __ATOMIC_RELEASE);
        memcpy(u->name + 1, nu->name + 1, sizeof(u->name) - 1);
        __atomic_store_n(&u->name[0], nu->name[0], __ATOMIC_RELEASE);
        if (i == live->count)
            __atomic_store_n(&live->count, live->count + 1, __ATOMIC_RELEASE);
        changes++;
    }
    return changes;
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
        uint64_t next_ok = seen == UINT64_MAX ? UINT64_MAX : seen + 1;     /* saturate */
        if (ts <= seen || ts > now_ms + REQUEST_TS_MAX_AHEAD_MS) {
            *min_ts = now_ms > next_ok ? now_ms : next_ok;
            return false;
        }
        if (!commit)
            return true;
        if (__atomic_compare_exchange_n(last, &seen, ts, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return true;
    }
}
