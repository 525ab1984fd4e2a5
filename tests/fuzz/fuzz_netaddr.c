/* Fuzzes the address parsers (core/lib/netaddr.c) on the input as a string: parse_ipv4,
 * parse_ipv4_net, parse_endpoint, ifname_valid. Accepted values survive a format/parse round
 * trip; an accepted network has no host bits. */
#include <arpa/inet.h>

#include "fuzz_util.h"

#include "vpn/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strdup(data, size);
    char buf[64];
    uint32_t a, a2;
    struct ipv4_net net;
    struct sockaddr_in6 sa, sa2;

    if (parse_ipv4(s, &a) == 0) {
        format_ipv4(a, buf);
        FUZZ_ASSERT(parse_ipv4(buf, &a2) == 0 && a2 == a);
    }
    if (parse_ipv4_net(s, &net) == 0) {
        FUZZ_ASSERT(net.prefix <= 32 && (net.addr & ~ipv4_mask(net.prefix)) == 0);
        FUZZ_ASSERT(ipv4_net_contains(&net, net.addr));
    }
    if (parse_endpoint(s, 51820, &sa) == 0) {
        FUZZ_ASSERT(sa.sin6_family == AF_INET6 && ntohs(sa.sin6_port) == 51820);
        /* format_endpoint writes "a.b.c.d:port" or "[v6]:port": parse the address back */
        format_endpoint(&sa, buf, sizeof(buf));
        char *end = strrchr(buf, ':');
        FUZZ_ASSERT(end);
        *end = '\0';
        char *host = buf[0] == '[' ? buf + 1 : buf;
        if (buf[0] == '[')
            host[strlen(host) - 1] = '\0';
        FUZZ_ASSERT(parse_endpoint(host, 51820, &sa2) == 0 && endpoint_equal(&sa, &sa2));
    }
    if (ifname_valid(s))
        FUZZ_ASSERT(strlen(s) >= 1 && strlen(s) < 16);
    free(s);
    return 0;
}
