/* What the client accepts of the session configuration a server pushes in CONNECT_RESP
 * (PROTOCOL.md, "CONNECT_RESP", config block): the tunnel address, prefix and MTU, and the
 * routes it would send into the tunnel. The response is authentic, but authentic only means
 * "from whoever holds the server key": a compromised or misconfigured server must not be able
 * to take over the client's routing (0.0.0.0/1 + 128.0.0.0/1), loop the tunnel's own UDP into
 * the tunnel, or hand out an address or MTU the client's buffers and the kernel cannot use.
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
    const struct ipv4_net *accept;      /* [network] accept_routes; none: any network */
    int n_accept;
    bool have_endpoint;                 /* the server's underlay address is IPv4 ... */
    uint32_t endpoint;                  /* ... and this is it */
    /* Seam for full tunnels: when a host route to the endpoint via the original gateway is in
     * place (a later feature adds it before installing the pushed routes), a route covering
     * the endpoint no longer captures the tunnel's own UDP. Nothing sets it yet. */
    bool endpoint_host_route;
};

/* The policy of cfg ([network] pull_routes, accept_routes) for the server at the underlay
 * address server (AF_INET, or AF_INET6 where only a v4-mapped address can be covered by an
 * IPv4 route). p keeps pointing into cfg. When a later feature resolves the server's name
 * again on reconnect, it calls this again with the new address. */
void push_policy_init(struct push_policy *p, const struct client_config *cfg,
                      const struct sockaddr *server);

/* Checks the tunnel address and prefix of an accepted response. Returns NULL when they are
 * usable, else why not; the whole response must then be refused (nothing configured). */
const char *push_check_tunnel(const struct hs_config *cfg);

/* The MTU to configure: mtu clamped into MTU_MIN..MTU_MAX (vpn/limits.h; the data path's
 * buffers hold MTU_MAX). The caller warns when it differs from what was pushed. */
uint16_t push_clamp_mtu(uint16_t mtu);

enum push_route_verdict {
    ROUTE_INSTALL,
    ROUTE_SKIP_NOT_PULLING,         /* pull_routes = false */
    ROUTE_SKIP_NOT_ACCEPTED,        /* inside none of the accept_routes networks */
    ROUTE_SKIP_COVERS_ENDPOINT,     /* would send the tunnel's own UDP into the tunnel */
};

/* Decides whether the pushed route net/prefix (prefix 0..32; host bits are ignored, as the
 * kernel ignores them) may be installed. */
enum push_route_verdict push_route_verdict(const struct push_policy *p, uint32_t net,
                                           uint8_t prefix);

/* true when installing net/prefix would route the server's own underlay address into the
 * tunnel, as things stand (see endpoint_host_route). */
bool push_route_endangers_endpoint(const struct push_policy *p, uint32_t net, uint8_t prefix);

#endif
