/* The rules of pushed DNS settings (docs/PROTOCOL.md, Extension 4), in one place. A resolver
 * address or a search list enters through three doors: the server's [network] dns and
 * dns_search, the DNS block of a CONNECT_RESP that the client decodes, and the client's
 * privileged helper, which writes them into resolv.conf or hands them to resolvectl or
 * resolvconf as arguments. Each door asks the functions below, so what one takes all take.
 *
 * A search list is 1 to DNS_SEARCH_MAX bytes: names separated by exactly one space, no space
 * at either end, at most DNS_SEARCH_NAMES_MAX names. A name is labels of 1 to 63 characters
 * of [A-Za-z0-9_-] joined by single dots (no empty label, so no dot at either end), and does
 * not start with '-'. Why so narrow: the list ends up in a resolv.conf line (a newline or
 * '#' would add lines or cut it), and each name becomes one argument of resolvectl or one
 * word of resolvconf's input (a leading '-' would be read as an option). '_' is allowed as
 * internal zones use it (RFC 2181 section 11 allows any octet; we take what a search line
 * can carry safely).
 *
 * A resolver is a unicast IPv4 address outside 0.0.0.0/8, 127.0.0.0/8 (the client's own
 * loopback, not the server's) and 224.0.0.0/3 (multicast, reserved, broadcast). */
#ifndef VPN_DNS_H
#define VPN_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

enum { DNS_SEARCH_NAMES_MAX = 6 };  /* a resolv.conf search line held six before glibc 2.26 */

/* The rules in words, for "expected ..." messages. */
#define DNS_SEARCH_RULE                                                                      \
    "domain names of letters, digits, '-' and '_' in dot-separated labels (none starting "   \
    "with '-'), at most 6 names and 64 bytes in all"
#define DNS_SERVER_RULE "a unicast IPv4 address outside 0/8, 127/8 and 224/3"

/* NULL when s (n bytes, no NUL needed) is a valid search list, else why not. */
const char *dns_search_check(const char *s, size_t n);

/* NULL when addr (host order) may be pushed as a resolver, else why not. */
const char *dns_server_check(uint32_t addr);

/* A list as an operator writes it ("home.lan, corp.example": comma-separated, blanks around
 * a name ignored) into the wire form (one space between names) in out (DNS_SEARCH_MAX + 1
 * bytes). Returns NULL or why not; an empty list or item is refused. */
const char *dns_search_from_text(const char *text, char out[DNS_SEARCH_MAX + 1]);

#endif
