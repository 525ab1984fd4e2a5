/* The device name rule, in one place. A WireGuard peer is a device of a user, named
 * USER:DEVICE (docs/WIREGUARD.md, phase 2): "[wireguard:USER:DEVICE]" in the users file (its
 * key), "[device:USER:DEVICE]" in the classes file (its address), `vpnctl device add --name`.
 * Its 16-byte device id is the name NUL-padded, so a name has at most DEVICE_ID_LEN - 1 bytes;
 * the characters are those that need no quoting anywhere a name goes (INI headers, log lines,
 * JSON, shells, file names of wg-quick configurations): A-Z a-z 0-9 _ . -.
 * USER follows username.h's rule, which has no ':', so the first ':' ends it. */
#ifndef VPN_DEVICE_NAME_H
#define VPN_DEVICE_NAME_H

#include <stddef.h>

#include "vpn/limits.h"

enum { DEVICE_NAME_MAX = DEVICE_ID_LEN - 1 };

/* The rule in words, for "expected ..." messages. */
#define DEVICE_NAME_RULE "1 to 15 of the characters A-Z a-z 0-9 _ . -"

/* NULL when the len bytes at name are an acceptable device name, else why not, as a phrase
 * that follows the word "name" ("is longer than 15 bytes"). Pure; any thread. */
const char *device_name_check(const char *name, size_t len) __attribute__((warn_unused_result));

/* Splits "USER:DEVICE" (a section's name after its kind) into user and device, each checked
 * by its rule. Returns 0, or -1 with why not in why, as a phrase that follows the section's
 * name ("has no ':DEVICE' after the user name", "has a device name that is longer than 15
 * bytes; expected ..."). */
int device_section_split(const char *name, char user[USERNAME_MAX + 1],
                         char device[DEVICE_NAME_MAX + 1], char *why, size_t why_len)
    __attribute__((warn_unused_result));

#endif
