/* The wg-quick configuration of a WireGuard device (wg-quick(8): an [Interface] and its one
 * [Peer], the server), as the WireGuard apps import it from a file or a QR code. Pure: text
 * from values, so that a unit test can read it back. */
#ifndef VPNCTL_WG_QUICK_H
#define VPNCTL_WG_QUICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"
#include "vpn/netaddr.h"

struct server_config;

/* AllowedIPs: the tunnel network and [network] push_routes, each route once (one inside
 * another listed is left out); 0.0.0.0/0 alone with full_tunnel or when the server pushes a
 * default route. */
enum { WG_QUICK_ALLOWED_MAX = MAX_ROUTES + 1 };

struct wg_quick {
    const uint8_t *private_key;         /* the device's, KEY_LEN bytes */
    uint32_t address;                   /* host order: Address = A/32 */
    const uint32_t *dns;                /* DNS = resolvers, then the search domains */
    int n_dns;
    const char *dns_search;             /* "a.lan b.lan" (server_config's form), "" none */
    unsigned mtu;                       /* 0: none (wg-quick's default) */
    const char *server_public_key;      /* base64 */
    const uint8_t *preshared_key;       /* KEY_LEN bytes, NULL: none */
    const char *endpoint_host;          /* a name, an IPv4 or an IPv6 literal (bracketed here) */
    uint16_t endpoint_port;
    struct ipv4_net allowed[WG_QUICK_ALLOWED_MAX];
    int n_allowed;
    unsigned keepalive_s;               /* PersistentKeepalive; 0: none */
};

/* Fills q->allowed from cfg as said above. */
void wg_quick_allowed_ips(struct wg_quick *q, const struct server_config *cfg,
                          bool full_tunnel);

/* The configuration text into buf (cap bytes, NUL-terminated). Returns its length, or -1
 * when it does not fit. buf then holds the private key: the caller wipes it. */
int wg_quick_text(const struct wg_quick *q, char *buf, size_t cap)
    __attribute__((warn_unused_result));

#endif
