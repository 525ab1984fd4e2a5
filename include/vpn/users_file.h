/* The users file's format, the one reader of it: "[user:NAME]" sections, each with
 * "auth_token = <64 hex>" and optionally "disabled = true|false" (README, "users.conf").
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

/* Called once per user, in file order, the names unique and at most MAX_USERS (a duplicate or
 * one more is refused here); returns 0 to go on, or -1 after filling *err. */
typedef int (*users_file_fn)(void *ctx, const struct users_file_entry *e, const char *file,
                             struct config_error *err);

/* Parses len bytes of a users file named name (for messages). Returns 0, or -1 with *err
 * ("FILE:LINE: [user:NAME] key: what was expected"). */
int users_file_parse(const char *name, const char *buf, size_t len, users_file_fn fn, void *ctx,
                     struct config_error *err) __attribute__((warn_unused_result));

#endif
