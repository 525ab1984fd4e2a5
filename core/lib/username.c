/* The user name rule (see username.h for what it is and why). */
#include "vpn/username.h"

#include <stdbool.h>
#include <stdint.h>

#include "vpn/limits.h"

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), or 0. Shortest form only
 * (RFC 3629 section 4), no surrogates, nothing above U+10FFFF; *cp gets the code point. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t min;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, min = 0x80, *cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, min = 0x800, *cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, min = 0x10000, *cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

const char *username_check(const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name;

    if (len == 0)
        return "is empty";
    if (len > USERNAME_MAX)
        return "is longer than 63 bytes";
    if (p[0] == ' ' || p[len - 1] == ' ')
        return "begins or ends with a space (configuration files trim it away)";
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_seq(p + i, len - i, &cp);
        if (n == 0)
            return "is not well-formed UTF-8";
        /* C0 (NUL included), DEL and C1 (U+0080..U+009F) */
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
            return "contains a control character";
        if (cp == '[' || cp == ']')
            return "contains '[' or ']' (users are named in [user:NAME] headers)";
        if (cp == ':')
            return "contains ':' (the token is SHA-256 of \"name:password\")";
        i += n;
    }
    return NULL;
}
