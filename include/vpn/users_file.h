/* The users file's format, the one reader of it: "[user:NAME]" sections, each with
 * "auth_token = <64 hex>" and optionally "disabled = true|false" (README, "users.conf"), and
 * the users' WireGuard devices, "[wireguard:USER:DEVICE]" with "public_key = <base64>" and
 * optionally "preshared_key = <base64>" (docs/WIREGUARD.md, phase 2; keyfile.h's base64).
 * The enclave loads it (enclave/users.c) and vpnctl edits it; both read it here, so that what
 * vpnctl writes is what the enclave accepts. The file holds tokens: the caller opens it by the
 * secret-file rule (secret_file.h), and every entry handed out is erased after the callback. */
#ifndef VPN_USERS_FILE_H
#define VPN_USERS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/device_name.h"
#include "vpn/ini.h"
#include "vpn/limits.h"

/* One user, complete (its section ended). */
struct users_file_entry {
    char name[USERNAME_MAX + 1];    /* follows username.h's rule */
    uint8_t token[TOKEN_LEN];
    bool disabled;
    int line;                       /* of its header */
};

/* Called once per user, in file order, the names unique and at most MAX_USERS (a duplicate or
 * one more is refused here); returns 0 to go on, or -1 after filling *err. */
typedef int (*users_file_fn)(void *ctx, const struct users_file_entry *e, const char *file,
                             struct config_error *err);

/* Parses len bytes of a users file named name (for messages). Returns 0, or -1 with *err
 * ("FILE:LINE: [user:NAME] key: what was expected"). The WireGuard sections are checked as
 * users_file_parse_all checks them, and not handed out. */
int users_file_parse(const char *name, const char *buf, size_t len, users_file_fn fn, void *ctx,
                     struct config_error *err) __attribute__((warn_unused_result));

/* One WireGuard device of a user, complete (its section ended). */
struct users_file_wg_entry {
    char user[USERNAME_MAX + 1];        /* a [user:USER] of the same file */
    char device[DEVICE_NAME_MAX + 1];   /* device_name.h's rule; unique per user */
    uint8_t public_key[KEY_LEN];        /* unique in the file */
    uint8_t preshared_key[KEY_LEN];     /* all zero when has_preshared_key is false */
    bool has_preshared_key;
    int line;                           /* of its header */
};

/* Called once per device, as users_file_fn is per user. */
typedef int (*users_file_wg_fn)(void *ctx, const struct users_file_wg_entry *e,
                                const char *file, struct config_error *err);

struct users_file_handlers {
    users_file_fn user;                 /* may be NULL */
    users_file_wg_fn wireguard;         /* may be NULL: the sections are still checked */
};

/* users_file_parse, and the devices too: h->wireguard is called once per
 * "[wireguard:USER:DEVICE]", in file order, after h->user has had every user and only when
 * the whole file passed: public_key given (once), preshared_key at most once, no other key;
 * its user in the file (before or after it); at most USER_DEVICES_MAX devices per user; a
 * USER:DEVICE once; a public key once in the file. Each entry is erased after its callback
 * (the preshared key is a secret). */
int users_file_parse_all(const char *name, const char *buf, size_t len,
                         const struct users_file_handlers *h, void *ctx,
                         struct config_error *err) __attribute__((warn_unused_result));

#endif
