/* Pushed DNS settings: the rules (see dns.h for what they are and why). */
#include "vpn/dns.h"

#include <stdbool.h>
#include <string.h>

static bool label_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* NULL when name[0..n) is one valid name. */
static const char *name_check(const char *name, size_t n)
{
    if (name[0] == '-')
        return "a name starts with '-'";
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '.') {
            if (label == 0)
                return "a name has an empty label (a dot at either end, or two in a row)";
            label = 0;
        } else if (!label_char(name[i])) {
            return "a name has a character other than letters, digits, '-', '_' and '.'";
        } else if (++label > 63) {
            return "a label is longer than 63 characters";
        }
    }
    return label == 0 ? "a name has an empty label (a dot at either end, or two in a row)"
                      : NULL;
}

const char *dns_search_check(const char *s, size_t n)
{
    if (n == 0)
        return "the search list is empty";
    if (n > DNS_SEARCH_MAX)
        return "the search list is longer than 64 bytes";
    int names = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ' ')
            continue;
        if (i == start)
            return "names must be separated by exactly one space, none at either end";
        const char *why = name_check(s + start, i - start);
        if (why)
            return why;
        if (++names > DNS_SEARCH_NAMES_MAX)
            return "more than 6 names";
        start = i + 1;
    }
    return NULL;
}

const char *dns_server_check(uint32_t addr)
{
    uint8_t top = (uint8_t)(addr >> 24);
    if (top == 0)
        return "an address in 0.0.0.0/8";
    if (top == 127)
        return "a loopback address (127.0.0.0/8: the client's own, not the server's)";
    if (top >= 224)
        return "a multicast, reserved or broadcast address (224.0.0.0/3)";
    return NULL;
}

const char *dns_search_from_text(const char *text, char out[DNS_SEARCH_MAX + 1])
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0)
            return "an empty item (the names are separated by commas)";
        for (size_t i = 0; i < len; i++)
            if (p[i] == ' ' || p[i] == '\t')
                return "a blank inside a name (the names are separated by commas)";
        if (n + (n > 0) + len > DNS_SEARCH_MAX)
            return "the search list is longer than 64 bytes";
        if (n > 0)
            out[n++] = ' ';
        memcpy(out + n, p, len);
        n += len;
        p += strcspn(p, ",");
        if (!*p)
            break;
        p++;
    }
    out[n] = '\0';
    return dns_search_check(out, n);
}
