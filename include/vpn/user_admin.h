/* The operator's changes to users, in one place (vpnctl user ..., and vpnctl device ... through
 * device_admin.h): the users file (tokens and the disabled flag, WireGuard devices' keys: the
 * enclave's) and the user's lines of the classes file (class, fixed address, max_devices,
 * WireGuard devices' addresses: the main process's). A change is made under an exclusive lock (a
 * lock file beside the users file, flock), so that two vpnctl runs never interleave, and each
 * file is replaced whole (atomic_file.h), after the new content was read back by the same
 * rules as the server's: the users file by users_file.h, the classes file by
 * server_config_load_classes against the running server.conf. A refused change leaves both
 * files as they were, and a change lands in both files or in neither (each new file is written
 * and checked before either replaces its old one). The users file stays mode 0600 and root's; the classes file keeps its
 * mode (0644 when vpnctl creates it: the server, no longer root, reads it on reload).
 *
 * The tokens are kept in the users file, so that `vpnctl user config` can print a user's
 * client bundle again: whoever can read that file (root) can act as any user, as whoever can
 * read a WireGuard server's configuration can. */
#ifndef VPN_USER_ADMIN_H
#define VPN_USER_ADMIN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vpn/device_name.h"
#include "vpn/limits.h"

struct server_config;

struct user_admin_user {
    char name[USERNAME_MAX + 1];
    uint8_t token[TOKEN_LEN];
    bool disabled;
};

/* A WireGuard device of the users file (its preshared key, a secret, is not kept here). */
struct user_admin_device {
    char user[USERNAME_MAX + 1];
    char name[DEVICE_NAME_MAX + 1];
    uint8_t public_key[KEY_LEN];
    bool has_preshared_key;
};

/* How long user_admin_open waits for another vpnctl to let go of the lock. */
enum { USER_ADMIN_LOCK_WAIT_MS = 10000 };

struct user_admin {
    const struct server_config *cfg;
    char users_path[PATH_MAX], classes_path[PATH_MAX + 32], lock_path[PATH_MAX + 8];
    int lock_fd;
    char *users_text;               /* the users file (holds tokens: erased at close) */
    char *classes_text;
    char *classes_before;           /* as read: put back if the users file cannot follow */
    mode_t classes_mode;
    bool users_changed, classes_changed;
    struct user_admin_user *users;  /* what users_text holds, in file order */
    int n_users;
    struct user_admin_device *devices;  /* its WireGuard devices, in file order */
    int n_devices;
};

/* Locks (unless lock is false: reading only), then reads both files (a missing one is empty,
 * and created by the first commit). Returns 0, or -1 with why. Close it in any case. */
int user_admin_open(struct user_admin *a, const struct server_config *cfg, bool lock, char *why,
                    size_t why_len) __attribute__((warn_unused_result));
void user_admin_close(struct user_admin *a);

const struct user_admin_user *user_admin_find(const struct user_admin *a, const char *name);

/* A new user with this token; class (a [class:NAME] of the classes file), ip (a dotted
 * address) and devices (1..USER_DEVICES_MAX) go to its classes-file section when given
 * (NULL, NULL, 0: none, and no section). Refuses a name outside username.h's rule or one that
 * exists. Returns 0 or -1 with why; nothing is written before user_admin_commit. */
int user_admin_add(struct user_admin *a, const char *name, const uint8_t token[TOKEN_LEN],
                   const char *class_name, const char *ip, int devices, char *why,
                   size_t why_len) __attribute__((warn_unused_result));
int user_admin_set_disabled(struct user_admin *a, const char *name, bool disabled, char *why,
                            size_t why_len) __attribute__((warn_unused_result));
/* Removes the user's sections from both files, its devices' too. */
int user_admin_remove(struct user_admin *a, const char *name, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* Reads users_text again into users[] and devices[] by the users file's rules, after an edit
 * of it (device_admin.c). Returns 0, or -1 with the reader's message in why. */
int user_admin_reparse(struct user_admin *a, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* Writes what changed: each file checked, then replaced whole. Returns 0 or -1 with why (a
 * file's own reader's message when it refused the new content). */
int user_admin_commit(struct user_admin *a, char *why, size_t why_len)
    __attribute__((warn_unused_result));

#endif
