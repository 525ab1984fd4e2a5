/* The user name rule, in one place. A name enters through five doors: client.conf's username,
 * vpn-token's argument, the users file's "[user:NAME]" headers, the QoS classes file's
 * "[user:NAME]" headers, and the handshake's sealed identity. Each of them asks
 * username_check, so a name one of them takes is taken by all, and a name the files cannot
 * hold is refused by every one of them, the handshake included (it answers AUTH_FAILED after
 * the same work as for an unknown user).
 *
 * A name is 1 to USERNAME_MAX (63) bytes of well-formed UTF-8 without:
 *   - NUL: the identity is the name zero-padded to 64 bytes (PROTOCOL.md, CONNECT_REQ), so
 *     the first zero ends it; 63 leaves room for at least one;
 *   - other control characters (C0, DEL, C1): the INI reader refuses C0 and DEL in a line, and
 *     names go into log lines and `vpnctl show`, where C1 and escape sequences would lie;
 *   - '[' or ']': the users and classes files name a user in a "[user:NAME]" header, which
 *     the INI reader ends at ']' and refuses to hold '[';
 *   - ':': the token is SHA-256("name:password") (PROTOCOL.md, keys and credentials); with a
 *     ':' in names, user "a" with password "b:c" and user "a:b" with password "c" would share
 *     a token;
 *   - a space at either end: the INI reader trims blanks around values and section names, so
 *     such a name could be written in no file. Spaces inside are fine ("Alice Smith").
 * Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) because the
 * protocol says names are UTF-8 and `vpnctl show --json` must stay valid JSON.
 * Not checked: Unicode look-alikes, other whitespace and bidirectional controls; names are
 * compared byte for byte, so "alice" and a look-alike are simply two users. */
#ifndef VPN_USERNAME_H
#define VPN_USERNAME_H

#include <stddef.h>

/* The rule in words, for "expected ..." messages. */
#define USERNAME_RULE                                                                        \
    "1 to 63 bytes of UTF-8 without control characters, '[', ']', ':' or a space at either end"

/* NULL when the len bytes at name are an acceptable user name (they need not be
 * NUL-terminated; a NUL among them is refused), else why not, as a phrase that follows the
 * word "name": "is longer than 63 bytes", "contains ':' (...)". Pure; any thread. */
const char *username_check(const char *name, size_t len) __attribute__((warn_unused_result));

/* The device name rule of WireGuard peers ("[wireguard:USER:DEVICE]" in the users file,
 * "[device:USER:DEVICE]" in the classes file, vpnctl device): 1 to DEVICE_NAME_MAX (15) bytes
 * of ASCII letters, digits, '_', '.' and '-', so that the name, NUL-padded, is the device's
 * 16-byte id (docs/WIREGUARD.md) and can be written in a file name or a section header. */
#define DEVICE_NAME_RULE "1 to 15 bytes of A-Z, a-z, 0-9, '_', '.' or '-'"

/* NULL when the len bytes at name are an acceptable device name, else why not (a phrase that
 * follows the word "name", as username_check's). Pure; any thread. */
const char *device_name_check(const char *name, size_t len) __attribute__((warn_unused_result));

#endif
