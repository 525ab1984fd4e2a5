/* The users file (secrets): "[user:NAME]" sections with "auth_token = <64 hex>" and optionally
 * "disabled = true", and WireGuard peers (wg_peers.h). Read by the enclave only, from a file that must not be group- or
 * world-readable. The table lives in the enclave's locked shared memory so that every worker
 * sees the same last-accepted request timestamps (PROTOCOL.md step 4). */
#ifndef ENCLAVE_USERS_H
#define ENCLAVE_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/ini.h"
#include "vpn/limits.h"

/* One device's sessions. id is written only by the worker that claimed the record (devices.c,
 * byte by byte under the CLAIMING mark); sids packs current << 32 | previous so that both move
 * in one compare-and-swap. */
struct user_device {
    uint8_t id[DEVICE_ID_LEN];      /* all zero: the implicit device of requests without one */
    uint64_t sids;
};

struct enclave_user {
    char name[USERNAME_MAX + 1];
    uint8_t token[TOKEN_LEN];
    uint64_t last_request_ts;   /* shared by all workers: updated with compare-and-swap */
    /* Failure budgets (auth_limit.h), compare-and-swap: one for requests whose source address
     * the main process proved with a cookie, one for the others (which may be forged). */
    uint64_t auth_fail_tat[2];
    /* Bumped whenever the token changes, the user is disabled, or the entry is removed or
     * reused: a key slot made under another generation is dead (the enclave ends sessions
     * itself, not on request). */
    uint32_t gen;
    /* "disabled = true" in the users file: authenticated requests are refused (AUTH_FAILED)
     * without spending a failure budget. Atomic: a reload writes it while workers read. */
    uint32_t disabled;
    /* The user's devices (docs/PROTOCOL.md, extension 5; devices.h): for each, its live
     * session and the one in its rekey overlap. A key slot of this user whose id is neither
     * in its device's record is dead, so re-handshaking cannot pile up slots. */
    struct user_device devices[USER_DEVICES_MAX];
};

struct user_table {
    int count;
    struct enclave_user users[MAX_USERS];
};

struct wg_peer_list;

/* Opens the users file for users_load_fd: a symbolic link is refused, not followed.
 * Returns the descriptor, or -1 with *err. */
int users_open(const char *path, struct config_error *err) __attribute__((warn_unused_result));

/* Reads path into t (t zeroed first). The file must be a regular file owned by root or our
 * effective uid, with no group or other access. Returns 0 or -1 with *err. */
int users_load(const char *path, struct user_table *t, struct config_error *err)
    __attribute__((warn_unused_result));

enum { USERS_FILE_MAX = 1 << 20 };

/* Same, from an open descriptor (the supervisor keeps the file open to re-read it on SIGHUP
 * after it has given up the right to open it). path is for messages. */
int users_load_fd(int fd, const char *path, struct user_table *t, struct config_error *err)
    __attribute__((warn_unused_result));

/* users_load and users_load_fd that also keep the file's WireGuard peers in *peers (zeroed
 * first; wg_peers.h). The plain ones check those sections all the same. */
int users_load_all(const char *path, struct user_table *t, struct wg_peer_list *peers,
                   struct config_error *err) __attribute__((warn_unused_result));
int users_load_fd_all(int fd, const char *path, struct user_table *t, struct wg_peer_list *peers,
                      struct config_error *err) __attribute__((warn_unused_result));

/* Every user's last accepted request timestamp becomes at least now_ms (the enclave's start):
 * a request recorded before a restart cannot be replayed after it (PROTOCOL.md step 4). */
void users_set_ts_floor(struct user_table *t, uint64_t now_ms);

/* Why a user's sessions end at a reload. */
enum user_end { USER_END_REMOVED, USER_END_TOKEN_CHANGED, USER_END_DISABLED };

/* SIGHUP: brings the live table (shared with running workers) in line with next, in place:
 * changed tokens are replaced, new users added (their timestamp floor now_ms), removed users'
 * entries erased, disabled flags copied; ended() is called for each user removed, given a new
 * token or newly disabled, so that its sessions can be ended. Such a user's generation moves
 * on, so keys made for it die in the workers. Indexes of remaining users never move. Returns
 * the number of changes (enabling a user is one), or -1 when the table is full. */
int users_merge(struct user_table *live, const struct user_table *next, uint64_t now_ms,
                void (*ended)(const char *name, enum user_end why, void *ctx), void *ctx);

/* Index of name, or -1. Constant time is not needed here: the name is not secret, and an
 * unknown name is answered after the same amount of cryptography as a known one. */
int users_find(const struct user_table *t, const char *name);

/* Step 4 of PROTOCOL.md, atomically across workers: if ts > last accepted, record it and
 * return true; otherwise false and *min_ts = the smallest timestamp that would be accepted
 * given now_ms, max(now, last + 1). A ts more than REQUEST_TS_MAX_AHEAD_MS ahead of now_ms is
 * refused too (it would lock the user out until the clock caught up). With commit false,
 * only checks. */
bool users_accept_ts(struct user_table *t, int index, uint64_t ts, uint64_t now_ms, bool commit,
                     uint64_t *min_ts);

#endif
