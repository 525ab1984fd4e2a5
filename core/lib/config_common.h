/* Helpers shared by the server.conf checks (server_config.c) and the QoS classes checks
 * (qos_classes.c), which run once the schema engine has read a file. Private to core/lib. */
#ifndef CORE_LIB_CONFIG_COMMON_H
#define CORE_LIB_CONFIG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "vpn/server_config.h"

/* "5Mbps" when exact, else plain bps, into buf; returns buf. */
const char *config_format_bw(uint64_t bps, char *buf, size_t len);

/* NULL when addr is a usable host address of the tunnel network, else why not. */
const char *config_tunnel_host_problem(const struct server_config *cfg, uint32_t addr);

/* "10.8.0.0/24" of the tunnel network into buf; returns buf. */
const char *config_tunnel_net_text(const struct server_config *cfg, char *buf, size_t len);

#endif
