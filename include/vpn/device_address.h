/* The tunnel address of a new WireGuard device (vpnctl device add). WireGuard pushes nothing,
 * so the device's address is fixed: in its own wg-quick configuration and in the classes
 * file's [device:USER:DEVICE] (docs/WIREGUARD.md, phase 2). It must be a host address of the
 * tunnel network, not the server's, nobody's fixed address (users' and devices', as the
 * classes file's reader checks them), and not an address a session holds now ("leased": the
 * addresses of the running server's sessions). A picked address lies outside the dynamic pool
 * (client_ip_pool_start..end) while there is room there, so that the pool keeps all its
 * addresses for our own clients; inside it only when the rest of the network is taken. */
#ifndef VPN_DEVICE_ADDRESS_H
#define VPN_DEVICE_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

struct server_config;

/* Whether addr (host order) may be the new device's address. Returns 0, or -1 with why in
 * words ("10.8.0.10 is already the address of [user:alice]"). */
int device_address_check(const struct server_config *cfg, uint32_t addr,
                         const uint32_t *leased, int n_leased, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* The lowest free address outside the pool, else the lowest free one inside it. Returns 0
 * with *out, or -1 when the network has none left. */
int device_address_pick(const struct server_config *cfg, const uint32_t *leased, int n_leased,
                        uint32_t *out) __attribute__((warn_unused_result));

#endif
