/* Helpers shared by the server.conf and QoS classes parsers (config_common.h). */
#include "config_common.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vpn/hex.h"
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

/* 1..4 hex digits, nothing else (tc reads both halves of a classid as hex). */
static int parse_hex16(const char *s, size_t n, uint16_t *out)
{
    unsigned v = 0;

    if (n < 1 || n > 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + (unsigned)d;
    }
    *out = (uint16_t)v;
    return 0;
}

/* tc classid "1:MINOR". The major must be 1 because the HTB root is "1:"; minor 0 is the root
 * itself and minor 1 the inner class every leaf hangs from (qos.h), so neither can be a leaf. */
int config_parse_classid(const char *s, uint16_t *major, uint16_t *minor)
{
    const char *colon = strchr(s, ':');

    if (!colon || parse_hex16(s, (size_t)(colon - s), major) < 0 ||
        parse_hex16(colon + 1, strlen(colon + 1), minor) < 0)
        return -1;
    return *major == 1 && *minor > 1 ? 0 : -1;
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

