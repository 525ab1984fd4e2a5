/* The Internet checksum (RFC 1071), and an ICMP echo reply made in place from an IPv4 echo
 * request: the answer of the test tools that stand in for a host behind a WireGuard responder
 * (wg-echo.c, wg-enclave-echo.c); vpn-garbage.c's headers use the checksum too. */
#ifndef TESTS_TOOLS_ICMP_ECHO_H
#define TESTS_TOOLS_ICMP_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Turns an IPv4 ICMP echo request (in place) into its reply; false if it is not one. */
static inline bool make_echo_reply(uint8_t *pkt, size_t *len)
{
    if (*len < 28 || pkt[0] >> 4 != 4 || pkt[9] != 1)
        return false;
    size_t ihl = (size_t)(pkt[0] & 15) * 4, total = (size_t)(pkt[2] << 8 | pkt[3]);
    if (total > *len || total < ihl + 8 || pkt[ihl] != 8)
        return false;
    uint8_t tmp[4];
    memcpy(tmp, pkt + 12, 4);
    memcpy(pkt + 12, pkt + 16, 4);
    memcpy(pkt + 16, tmp, 4);
    pkt[ihl] = 0;
    pkt[ihl + 2] = pkt[ihl + 3] = 0;
    uint16_t c = ip_checksum(pkt + ihl, total - ihl);
    pkt[ihl + 2] = (uint8_t)(c >> 8);
    pkt[ihl + 3] = (uint8_t)c;
    pkt[10] = pkt[11] = 0;
    c = ip_checksum(pkt, ihl);
    pkt[10] = (uint8_t)(c >> 8);
    pkt[11] = (uint8_t)c;
    *len = total;
    return true;
}

#endif
