/* IPv4/IPv6 address helpers (see netaddr.h). Only numeric forms are accepted: a configuration
 * value that silently went through DNS, or through inet_aton's "10.1" shorthand, would put the
 * server on an address the operator did not write. */
#include "vpn/netaddr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "vpn/units.h"

#include "vpn/units.h"

int parse_ipv4(const char *s, uint32_t *out)
{
    struct in_addr a;

    /* inet_pton takes exactly four decimal parts, and glibc's refuses leading zeros, which
     * other tools would read as octal. */
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

uint32_t ipv4_mask(uint8_t prefix)
{
    if (prefix == 0)
        return 0;
    if (prefix >= 32)
        return 0xffffffffu;
    return 0xffffffffu << (32 - prefix);
}

int parse_ipv4_net(const char *s, struct ipv4_net *out)
{
    char buf[INET_ADDRSTRLEN];
    const char *slash = s ? strchr(s, '/') : NULL;
    uint64_t prefix;
    uint32_t addr;

    if (!slash || (size_t)(slash - s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    if (parse_ipv4(buf, &addr) < 0 || parse_uint(slash + 1, 0, 32, &prefix) < 0)
        return -1;
    /* "10.8.0.1/24" is most likely a host address written where a network was meant. */
    if (addr & ~ipv4_mask((uint8_t)prefix))
        return -1;
    out->addr = addr;
    out->prefix = (uint8_t)prefix;
    return 0;
}

int parse_ipv4_net_list(const char *s, struct ipv4_net *out, int max, char *bad, size_t bad_len)
{
    char buf[1024];
    int n = 0;

    if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf)) {
        snprintf(bad, bad_len, "%.32s...", s);
        return -1;
    }
    for (char *item = buf, *next; item; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        while (*item == ' ' || *item == '\t')
            item++;
        size_t len = strlen(item);
        while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            item[--len] = '\0';
        struct ipv4_net net;
        if (parse_ipv4_net(item, &net) < 0) {
            snprintf(bad, bad_len, "%s", item);
            return -1;
        }
        if (n == max)
            return -2;
        out[n++] = net;
    }
    return n;
}

bool ipv4_net_contains(const struct ipv4_net *net, uint32_t addr)
{
    uint32_t mask = ipv4_mask(net->prefix);
    return (addr & mask) == (net->addr & mask);
}

bool ipv4_net_within(const struct ipv4_net *inner, const struct ipv4_net *outer)
{
    return inner->prefix >= outer->prefix && ipv4_net_contains(outer, inner->addr);
}

char *format_ipv4(uint32_t addr, char *buf)
{
    snprintf(buf, 16, "%u.%u.%u.%u", (addr >> 24) & 0xff, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
             addr & 0xff);
    return buf;
}

int parse_endpoint(const char *host, uint16_t port, struct sockaddr_in6 *out)
{
    struct in_addr a4;

    if (!host)
        return -1;
    memset(out, 0, sizeof(*out));
    out->sin6_family = AF_INET6;
    out->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host, &out->sin6_addr) == 1)
        return 0;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        /* ::ffff:a.b.c.d, so one AF_INET6 socket with IPV6_V6ONLY off serves both families. */
        out->sin6_addr.s6_addr[10] = 0xff;
        out->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&out->sin6_addr.s6_addr[12], &a4, 4);
        return 0;
    }
    return -1;
}

int parse_host_port(const char *s, struct sockaddr_in6 *out)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
        return -1;
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (s[0] == '[') {
        /* "[v6]:port": the brackets must enclose exactly the address. */
        if (hlen < 3 || s[hlen - 1] != ']')
            return -1;
        h = s + 1;
        hlen -= 2;
    } else if (memchr(s, ':', hlen)) {
        return -1;      /* an IPv6 address without brackets: its port is ambiguous */
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    unsigned long port = 0;
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port == 0 || port > 65535)
        return -1;
    return parse_endpoint(host, (uint16_t)port, out);
}

char *format_endpoint(const struct sockaddr_in6 *sa, char *buf, unsigned len)
{
    char addr[INET6_ADDRSTRLEN];
    unsigned port = ntohs(sa->sin6_port);

    if (!len)
        return buf;
    if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr)) {
        /* Operators think of IPv4 peers as a.b.c.d, not ::ffff:a.b.c.d. */
        inet_ntop(AF_INET, &sa->sin6_addr.s6_addr[12], addr, sizeof(addr));
        snprintf(buf, len, "%s:%u", addr, port);
    } else {
        inet_ntop(AF_INET6, &sa->sin6_addr, addr, sizeof(addr));
        snprintf(buf, len, "[%s]:%u", addr, port);
    }
    return buf;
}

bool endpoint_equal(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b)
{
    /* Field by field: padding and sin6_flowinfo differ between recvmmsg results and say
     * nothing about who the peer is. */
    return a->sin6_family == b->sin6_family && a->sin6_port == b->sin6_port &&
           a->sin6_scope_id == b->sin6_scope_id &&
           memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
}

bool ifname_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

int split_host_port(const char *s, char *host, size_t host_len, uint16_t *port)
{
    const char *h = s, *end, *colon;
    *port = 0;
    if (*s == '[') {
        /* "[v6]" or "[v6]:port": the brackets keep the port apart from the address. */
        h = s + 1;
        if (!(end = strchr(h, ']')))
            return -1;
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] && !colon)
            return -1;
    } else {
        colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL;       /* an IPv6 literal without brackets: no port */
        end = colon ? colon : s + strlen(s);
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n > 255 || n >= host_len)
        return -1;
    for (const char *p = h; p < end; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '[' || *p == ']' || *p == '/')
            return -1;
    if (colon) {
        uint64_t v;
        if (parse_uint(colon + 1, 1, 65535, &v) != 0)
            return -1;
        *port = (uint16_t)v;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    return 0;
}
