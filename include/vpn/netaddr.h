/* IPv4/IPv6 address helpers shared by server, client and tools. IPv4 addresses are kept in
 * host byte order as uint32_t; endpoints as sockaddr_in6 (IPv4 as v4-mapped) so that one
 * dual-stack socket serves both families. */
#ifndef VPN_NETADDR_H
#define VPN_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipv4_net {
    uint32_t addr;      /* host order, network address (host bits zero) */
    uint8_t prefix;     /* 0..32 */
};

/* Dotted quad to host-order uint32. Returns 0 or -1. */
int parse_ipv4(const char *s, uint32_t *out) __attribute__((warn_unused_result));

/* "a.b.c.d/p"; host bits must be zero. Returns 0 or -1. */
int parse_ipv4_net(const char *s, struct ipv4_net *out) __attribute__((warn_unused_result));

/* Host-order mask of a prefix length (0..32). */
uint32_t ipv4_mask(uint8_t prefix);

/* Formats a host-order IPv4 into buf (>= 16 bytes); returns buf. */
char *format_ipv4(uint32_t addr, char *buf);

/* Numeric IPv4 or IPv6 literal plus port into a sockaddr_in6 (IPv4 becomes v4-mapped). No DNS.
 * Returns 0 or -1. */
int parse_endpoint(const char *host, uint16_t port, struct sockaddr_in6 *out)
    __attribute__((warn_unused_result));

/* "a.b.c.d:port" or "[v6]:port" (numeric, port 1..65535) into a sockaddr_in6 as
 * parse_endpoint makes it. Returns 0 or -1. */
int parse_host_port(const char *s, struct sockaddr_in6 *out) __attribute__((warn_unused_result));

/* "addr:port" or "[v6]:port" text of an endpoint into buf (>= 64 bytes); returns buf. */
char *format_endpoint(const struct sockaddr_in6 *sa, char *buf, unsigned len);

bool endpoint_equal(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b);

/* Comma-separated "a.b.c.d/p" networks (each as parse_ipv4_net takes it; blanks around an
 * item are ignored) into out[0..max). Returns how many (at least one); -1 when an item is
 * malformed or empty, with that item copied into bad (bad_len bytes) for the message; -2 when
 * there are more than max. */
int parse_ipv4_net_list(const char *s, struct ipv4_net *out, int max, char *bad, size_t bad_len)
    __attribute__((warn_unused_result));

/* "host", "host:port", "[v6]" or "[v6]:port" (an IPv6 literal without brackets has no port):
 * host (1..255 bytes, no blanks, control characters, brackets or '/') into host[host_len],
 * and the port, 0 when none was given. Not resolved. Returns 0 or -1. */
int split_host_port(const char *s, char *host, size_t host_len, uint16_t *port)
    __attribute__((warn_unused_result));

/* true when addr (host order) lies inside net. */
bool ipv4_net_contains(const struct ipv4_net *net, uint32_t addr);

/* true when every address of inner lies inside outer (inner is outer or a subnet of it). */
bool ipv4_net_within(const struct ipv4_net *inner, const struct ipv4_net *outer);

/* true when s can name a network interface: 1..IFNAMSIZ-1 bytes of [A-Za-z0-9_.-], and not
 * "." or ".." (the kernel's dev_valid_name, narrowed to characters safe to pass to ip(8)). */
bool ifname_valid(const char *s);

#endif
