/* Helpers shared by the server.conf and QoS classes checks (config_common.h). */
#include "config_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vpn/units.h"

/* "5Mbps" when exact, else plain bps: messages should show numbers as the operator wrote them. */
const char *config_format_bw(uint64_t bps, char *buf, size_t len)
{
    if (bps >= 1000000000 && bps % 1000000000 == 0)
        snprintf(buf, len, "%" PRIu64 "Gbps", bps / 1000000000);
    else if (bps >= 1000000 && bps % 1000000 == 0)
        snprintf(buf, len, "%" PRIu64 "Mbps", bps / 1000000);
    else if (bps >= 1000 && bps % 1000 == 0)
        snprintf(buf, len, "%" PRIu64 "Kbps", bps / 1000);
    else
        snprintf(buf, len, "%" PRIu64 "bps", bps);
    return buf;
}

/* Where a tunnel address may not be: outside the network, or on its network or broadcast
 * address. Returns NULL when addr is a usable host address of the tunnel, else the reason. */
const char *config_tunnel_host_problem(const struct server_config *cfg, uint32_t addr)
{
    uint32_t mask = ipv4_mask(cfg->tun_prefix);
    struct ipv4_net net = { cfg->tun_ip & mask, cfg->tun_prefix };

    if (!ipv4_net_contains(&net, addr))
        return "is outside the tunnel network";
    if (addr == net.addr)
        return "is the network address of the tunnel network";
    if (addr == (net.addr | ~mask))
        return "is the broadcast address of the tunnel network";
    return NULL;
}

const char *config_tunnel_net_text(const struct server_config *cfg, char *buf, size_t len)
{
    char a[16];
    snprintf(buf, len, "%s/%u", format_ipv4(cfg->tun_ip & ipv4_mask(cfg->tun_prefix), a),
             cfg->tun_prefix);
    return buf;
}

