/* What the client accepts of the session configuration a server pushes in CONNECT_RESP
 * (PROTOCOL.md, "CONNECT_RESP", config block): the tunnel address, prefix and MTU, and the
 * routes it would send into the tunnel. The response is authentic, but authentic only means
 * "from whoever holds the server key": a compromised or misconfigured server must not be able
 * to hand out an address or MTU the client's buffers and the kernel cannot use, and what it
 * routes into the tunnel is the client's to narrow (pull_routes, allowed_routes). That the
 * tunnel's own UDP never goes into the tunnel is the routing helper's job (routes.h).
 *
 * Pure functions of their arguments: no logging, no system calls (tests/unit/test_push_policy.c).
 * Addresses and networks are IPv4 in host order. */
#ifndef CLIENT_PUSH_POLICY_H
#define CLIENT_PUSH_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vpn/client_config.h"
#include "vpn/handshake.h"
#include "vpn/netaddr.h"

enum push_limits {
    /* A tunnel network smaller than /30 has no room for server and client besides its network
     * and broadcast addresses; one larger than /8 is no VPN's address pool but a takeover of
     * a whole class of the address space. */
    PUSH_PREFIX_MIN = 8,
    PUSH_PREFIX_MAX = 30,
};

struct push_policy {
    bool pull_routes;                   /* [network] pull_routes */
    const struct ipv4_net *allowed;     /* [network] allowed_routes; none: any network */
    int n_allowed;
};

/* The policy of cfg ([network] pull_routes, allowed_routes). p keeps pointing into cfg. A
 * pushed route that covers the server's own address needs no rule here any more: the
 * client's helper keeps the server's address out of the tunnel's routes (client/routes.h). */
void push_policy_init(struct push_policy *p, const struct client_config *cfg);

/* Checks the tunnel address and prefix of an accepted response. Returns NULL when they are
 * usable, else why not; the whole response must then be refused (nothing configured). */
const char *push_check_tunnel(const struct hs_config *cfg);

/* The MTU to configure: mtu clamped into MTU_MIN..MTU_MAX (vpn/limits.h; the data path's
 * buffers hold MTU_MAX). The caller warns when it differs from what was pushed. */
uint16_t push_clamp_mtu(uint16_t mtu);

enum push_route_verdict {
    ROUTE_INSTALL,                  /* the route as pushed */
    ROUTE_INSTALL_PARTS,            /* only the allowed_routes networks inside it */
    ROUTE_SKIP_NOT_PULLING,         /* pull_routes = false */
    ROUTE_SKIP_NOT_ALLOWED,         /* it and allowed_routes do not overlap */
};

enum { PUSH_ROUTE_PARTS_MAX = ALLOWED_ROUTES_MAX };

/* What of the pushed route net/prefix (prefix 0..32; host bits are ignored, as the kernel
 * ignores them) may be installed: with no allowed_routes, the route; else its overlap with
 * them. Two networks overlap only as one inside the other, so that is the route itself when
 * an allowed network holds it, else the allowed networks inside it (a pushed 0.0.0.0/0 with
 * allowed_routes = 192.168.100.0/24 installs 192.168.100.0/24: a client can take a split
 * tunnel from a server that pushes a full one). The networks to install go to parts
 * (*n_parts of them, 0 for a skip). */
enum push_route_verdict push_route_parts(const struct push_policy *p, uint32_t net,
                                         uint8_t prefix,
                                         struct ipv4_net parts[PUSH_ROUTE_PARTS_MAX],
                                         int *n_parts);

#endif
