/* The client's policy on what a server pushes (see push_policy.h). */
#include "push_policy.h"

#include <arpa/inet.h>
#include <string.h>

#include "vpn/limits.h"

void push_policy_init(struct push_policy *p, const struct client_config *cfg,
                      const struct sockaddr *server)
{
    memset(p, 0, sizeof(*p));
    p->pull_routes = cfg->pull_routes;
    p->accept = cfg->accept_routes;
    p->n_accept = cfg->n_accept_routes;
    if (server->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)server;
        p->endpoint = ntohl(sin->sin_addr.s_addr);
        p->have_endpoint = true;
    } else if (server->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)server;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            uint32_t a;
            memcpy(&a, &sin6->sin6_addr.s6_addr[12], 4);
            p->endpoint = ntohl(a);
            p->have_endpoint = true;
        }
    }
}

const char *push_check_tunnel(const struct hs_config *cfg)
{
    if (cfg->prefix_len < PUSH_PREFIX_MIN || cfg->prefix_len > PUSH_PREFIX_MAX)
        return "tunnel prefix length outside /8../30";
    uint32_t ip = cfg->client_ip, mask = ipv4_mask(cfg->prefix_len);
    struct ipv4_net tunnel = { cfg->server_ip & mask, cfg->prefix_len };
    /* Addresses no interface may carry as its own: the kernel would accept most of them and
     * then answer or route for the whole block (127/8, multicast) or for nobody (0.0.0.0). */
    if (ip == 0)
        return "client address 0.0.0.0";
    if ((ip >> 24) == 127)
        return "client address in loopback 127.0.0.0/8";
    if ((ip >> 28) == 0xe)
        return "client address in multicast 224.0.0.0/4";
    if (ip == 0xffffffffu)
        return "client address 255.255.255.255";
    if (!ipv4_net_contains(&tunnel, ip))
        return "client address outside the tunnel network (server address/prefix)";
    if (ip == tunnel.addr)
        return "client address is the tunnel network's network address";
    if (ip == (tunnel.addr | ~mask))
        return "client address is the tunnel network's broadcast address";
    if (ip == cfg->server_ip)
        return "client address is the server's tunnel address";
    return NULL;
}

uint16_t push_clamp_mtu(uint16_t mtu)
{
    if (mtu < MTU_MIN)
        return MTU_MIN;
    if (mtu > MTU_MAX)
        return MTU_MAX;
    return mtu;
}

bool push_route_endangers_endpoint(const struct push_policy *p, uint32_t net, uint8_t prefix)
{
    struct ipv4_net route = { net, prefix };
    /* With the endpoint routed outside the tunnel by a more specific host route, the kernel
     * prefers that /32 and the pushed route is harmless (the full-tunnel case). */
    return p->have_endpoint && !p->endpoint_host_route && ipv4_net_contains(&route, p->endpoint);
}

enum push_route_verdict push_route_verdict(const struct push_policy *p, uint32_t net,
                                           uint8_t prefix)
{
    struct ipv4_net route = { net & ipv4_mask(prefix), prefix };
    if (!p->pull_routes)
        return ROUTE_SKIP_NOT_PULLING;
    if (p->n_accept > 0) {
        bool inside = false;
        for (int i = 0; i < p->n_accept && !inside; i++)
            inside = ipv4_net_within(&route, &p->accept[i]);
        if (!inside)
            return ROUTE_SKIP_NOT_ACCEPTED;
    }
    if (push_route_endangers_endpoint(p, route.addr, route.prefix))
        return ROUTE_SKIP_COVERS_ENDPOINT;
    return ROUTE_INSTALL;
}
