/* The users file's format, the one reader of it: "[user:NAME]" sections, each with
 * "auth_token = <64 hex>" and optionally "disabled = true|false" (README, "users.conf"), and
 * WireGuard peers, "[wireguard:USER:DEVICE]" sections with "public_key = <base64>" and
 * optionally "preshared_key = <base64>" (docs/WIREGUARD.md, "Where peers are written").
 * The enclave loads it (enclave/users.c) and vpnctl edits it; both read it here, so that what
 * vpnctl writes is what the enclave accepts. The file holds tokens: the caller opens it by the
 * secret-file rule (secret_file.h), and every entry handed out is erased after the callback. */
#ifndef VPN_USERS_FILE_H
#define VPN_USERS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/ini.h"
#include "vpn/limits.h"

/* One user, complete (its section ended). */
struct users_file_entry {
    char name[USERNAME_MAX + 1];    /* follows username.h's rule */
    uint8_t token[TOKEN_LEN];
    bool disabled;
    int line;                       /* of its header */
};

/* One WireGuard peer, a device of a user, complete (its section ended). */
struct users_file_wg_entry {
    char user[USERNAME_MAX + 1];        /* follows username.h's rule */
    char device[DEVICE_NAME_MAX + 1];   /* follows device_name_check's */
    uint8_t public_key[32];
    uint8_t preshared_key[32];          /* all zero when the section has none (WireGuard's
                                           own meaning of a zero key) */
    bool has_preshared_key;
    int line;                           /* of its header */
};

/* Called once per user, in file order, the names unique and at most MAX_USERS (a duplicate or
 * one more is refused here); returns 0 to go on, or -1 after filling *err. */
typedef int (*users_file_fn)(void *ctx, const struct users_file_entry *e, const char *file,
                             struct config_error *err);

/* Called once per WireGuard peer, in file order, at most WG_PEERS_MAX; same return rule. The
 * rules that involve the whole file (the user exists, each public key and each USER:DEVICE
 * appears once) are checked when the file ends: a caller keeps nothing of a parse that
 * failed. */
typedef int (*users_file_wg_fn)(void *ctx, const struct users_file_wg_entry *e,
                                const char *file, struct config_error *err);

struct users_file_handlers {
    users_file_fn user;             /* may be NULL */
    users_file_wg_fn wireguard;     /* may be NULL: the sections are still checked */
};

/* Parses len bytes of a users file named name (for messages). Returns 0, or -1 with *err
 * ("FILE:LINE: [user:NAME] key: what was expected"). Every entry is erased after its call. */
int users_file_parse_all(const char *name, const char *buf, size_t len,
                         const struct users_file_handlers *h, void *ctx,
                         struct config_error *err) __attribute__((warn_unused_result));

/* The same for a caller that wants the users only (the WireGuard sections checked all the
 * same). */
int users_file_parse(const char *name, const char *buf, size_t len, users_file_fn fn, void *ctx,
                     struct config_error *err) __attribute__((warn_unused_result));

#endif
