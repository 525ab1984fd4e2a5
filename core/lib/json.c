/* JSON string escaping (see json.h). */
#include "vpn/json.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when the byte at p does not
 * start one. Ranges from RFC 3629 section 4: no overlong forms, no surrogates, nothing above
 * U+10FFFF. The string is NUL-terminated and NUL is never a continuation byte, so reading
 * p[1..3] stops at the terminator. */
static size_t utf8_sequence(const unsigned char *p)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;          /* overlong below U+0800 */
        else if (c == 0xed)
            hi = 0x9f;          /* U+D800..U+DFFF, surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;          /* overlong below U+10000 */
        else if (c == 0xf4)
            hi = 0x8f;          /* above U+10FFFF */
    } else {
        return 0;               /* 0x80..0xc1 (continuation, overlong lead), 0xf5..0xff */
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

void json_write_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    while (*p) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p++, out);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\u%04x", *p++);
        } else {
            size_t n = utf8_sequence(p);
            if (n == 0) {
                /* One replacement per bad byte: simple, and never swallows a good character
                 * that follows a broken one. */
                fputs("\\ufffd", out);
                p++;
            } else {
                fwrite(p, 1, n, out);
                p += n;
            }
        }
    }
    fputc('"', out);
}

/* Past "key": (and blanks) at or after text, or NULL. */
static const char *value_of(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = text; (p = strchr(p, '"')); p++) {
        if (strncmp(p + 1, key, n) != 0 || p[n + 1] != '"')
            continue;
        const char *v = p + n + 2;
        while (*v == ' ')
            v++;
        if (*v != ':')
            continue;
        for (v++; *v == ' '; v++)
            ;
        return v;
    }
    return NULL;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

bool json_get_string(const char *text, const char *key, char *out, size_t cap,
                     const char **end)
{
    const char *p = value_of(text, key);
    if (!p || *p != '"' || cap == 0)
        return false;
    size_t n = 0;
    for (p++; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = p[1] ? strchr(from, p[1]) : NULL;
            if (k) {
                c = to[k - from];
                p++;
            } else if (p[1] == 'u' && hex4(p + 2) >= 0) {
                int u = hex4(p + 2);
                c = u < 0x80 ? (char)u : '?';
                p += 5;
            } else {
                return false;
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (*p != '"')
        return false;
    out[n] = '\0';
    if (end)
        *end = p + 1;
    return true;
}

bool json_get_uint(const char *text, const char *key, unsigned long long *out,
                   const char **end)
{
    const char *p = value_of(text, key);
    if (!p || *p < '0' || *p > '9')
        return false;
    char *e;
    *out = strtoull(p, &e, 10);
    if (end)
        *end = e;
    return true;
}
