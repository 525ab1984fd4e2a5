/* The client's policy on what a server pushes (see push_policy.h). */
#include "push_policy.h"

#include <string.h>

#include "vpn/limits.h"

void push_policy_init(struct push_policy *p, const struct client_config *cfg)
{
    memset(p, 0, sizeof(*p));
    p->pull_routes = cfg->pull_routes;
    p->allowed = cfg->allowed_routes;
    p->n_allowed = cfg->n_allowed_routes;
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

enum push_route_verdict push_route_parts(const struct push_policy *p, uint32_t net,
                                         uint8_t prefix,
                                         struct ipv4_net parts[PUSH_ROUTE_PARTS_MAX],
                                         int *n_parts)
{
    struct ipv4_net route = { net & ipv4_mask(prefix), prefix };
    *n_parts = 0;
    if (!p->pull_routes)
        return ROUTE_SKIP_NOT_PULLING;
    if (p->n_allowed == 0) {
        parts[(*n_parts)++] = route;
        return ROUTE_INSTALL;
    }
    for (int i = 0; i < p->n_allowed; i++) {
        if (ipv4_net_within(&route, &p->allowed[i])) {
            parts[0] = route;
            *n_parts = 1;
            return ROUTE_INSTALL;
        }
    }
    for (int i = 0; i < p->n_allowed && *n_parts < PUSH_ROUTE_PARTS_MAX; i++) {
        struct ipv4_net a = { p->allowed[i].addr & ipv4_mask(p->allowed[i].prefix),
                              p->allowed[i].prefix };
        if (ipv4_net_within(&a, &route))
            parts[(*n_parts)++] = a;
    }
    return *n_parts ? ROUTE_INSTALL_PARTS : ROUTE_SKIP_NOT_ALLOWED;
}
