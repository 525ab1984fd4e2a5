/* Endpoints for the unit tests of what takes a datagram's source (kept out of testutil.h:
 * the socket headers declare names such as accept() that some tests use for their own). */
#ifndef TESTS_TESTADDR_H
#define TESTS_TESTADDR_H

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testutil.h"

/* An endpoint as the server's dual-stack socket reports it: an IPv6 literal as it is, an IPv4
 * one v4-mapped; port in host order. */
static inline struct sockaddr_in6 test_endpoint(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    if (strchr(ip, ':')) {
        cr_assert_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1, "%s", ip);
    } else {
        a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
        cr_assert_eq(inet_pton(AF_INET, ip, &a.sin6_addr.s6_addr[12]), 1, "%s", ip);
    }
    return a;
}

#endif
