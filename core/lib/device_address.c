/* A new WireGuard device's tunnel address (see device_address.h). */
#include "vpn/device_address.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "config_common.h"
#include "vpn/device_name.h"
#include "vpn/netaddr.h"
#include "vpn/server_config.h"

int device_address_check(const struct server_config *cfg, uint32_t addr,
                         const uint32_t *leased, int n_leased, char *why, size_t why_len)
{
    char a[16], net[32];
    const char *problem = config_tunnel_host_problem(cfg, addr);
    if (problem) {
        snprintf(why, why_len, "%s %s %s", format_ipv4(addr, a), problem,
                 config_tunnel_net_text(cfg, net, sizeof(net)));
        return -1;
    }
    if (addr == cfg->tun_ip) {
        snprintf(why, why_len, "%s is the server's own tun_ip", format_ipv4(addr, a));
        return -1;
    }
    for (int i = 0; i < cfg->n_users; i++) {
        if (cfg->users[i].vpn_ip == addr) {
            snprintf(why, why_len, "%s is already the address of [user:%s]",
                     format_ipv4(addr, a), cfg->users[i].name);
            return -1;
        }
    }
    for (int i = 0; i < cfg->n_devices; i++) {
        char name[DEVICE_NAME_MAX + 1];
        if (cfg->devices[i].vpn_ip == addr) {
            if (!device_name_of_id(cfg->devices[i].id, name))
                snprintf(name, sizeof(name), "?");
            snprintf(why, why_len, "%s is already the address of [device:%s:%s]",
                     format_ipv4(addr, a), cfg->devices[i].user, name);
            return -1;
        }
    }
    for (int i = 0; i < n_leased; i++) {
        if (leased[i] == addr) {
            snprintf(why, why_len, "%s is held by a session of the running server now (an "
                     "address of the pool)", format_ipv4(addr, a));
            return -1;
        }
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The lowest address of [from, to] not in taken[] (sorted), or 0 (never a host address). */
static uint32_t lowest_free(uint32_t from, uint32_t to, const uint32_t *taken, size_t n)
{
    for (uint64_t a = from; a <= to; a++) {
        uint32_t x = (uint32_t)a;
        if (!bsearch(&x, taken, n, sizeof(*taken), cmp_u32))
            return x;
    }
    return 0;
}

int device_address_pick(const struct server_config *cfg, const uint32_t *leased, int n_leased,
                        uint32_t *out)
{
    /* Sorted once, searched per candidate: a /16 has 65,534 candidates and the files may
     * hold thousands of fixed addresses. */
    size_t n = 0, cap = 1 + (size_t)cfg->n_users + (size_t)cfg->n_devices + (size_t)n_leased;
    uint32_t *taken = malloc(cap * sizeof(*taken));
    if (!taken)
        return -1;
    taken[n++] = cfg->tun_ip;
    for (int i = 0; i < cfg->n_users; i++)
        if (cfg->users[i].vpn_ip)
            taken[n++] = cfg->users[i].vpn_ip;
    for (int i = 0; i < cfg->n_devices; i++)
        taken[n++] = cfg->devices[i].vpn_ip;
    for (int i = 0; i < n_leased; i++)
        taken[n++] = leased[i];
    qsort(taken, n, sizeof(*taken), cmp_u32);

    uint32_t mask = ipv4_mask(cfg->tun_prefix);
    uint32_t first = (cfg->tun_ip & mask) + 1, last = (cfg->tun_ip | ~mask) - 1;
    uint32_t a = 0;
    /* Below the pool, above it, then inside it (server_config checks that the pool lies
     * inside the network). */
    if (cfg->pool_start > first)
        a = lowest_free(first, cfg->pool_start - 1, taken, n);
    if (!a && cfg->pool_end < last)
        a = lowest_free(cfg->pool_end + 1, last, taken, n);
    if (!a)
        a = lowest_free(cfg->pool_start, cfg->pool_end, taken, n);
    free(taken);
    if (!a)
        return -1;
    *out = a;
    return 0;
}
