/* The wg-quick configuration text (see wg_quick.h). */
#include "wg_quick.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vpn/keyfile.h"
#include "vpn/server_config.h"

void wg_quick_allowed_ips(struct wg_quick *q, const struct server_config *cfg,
                          bool full_tunnel)
{
    q->n_allowed = 0;
    for (int i = 0; i < cfg->n_push_routes; i++)
        full_tunnel |= cfg->push_routes[i].prefix == 0;
    if (full_tunnel) {
        q->allowed[q->n_allowed++] = (struct ipv4_net){ 0, 0 };
        return;
    }
    q->allowed[q->n_allowed++] =
        (struct ipv4_net){ cfg->tun_ip & ipv4_mask(cfg->tun_prefix), cfg->tun_prefix };
    for (int i = 0; i < cfg->n_push_routes && q->n_allowed < WG_QUICK_ALLOWED_MAX; i++) {
        bool covered = false;
        for (int j = 0; j < q->n_allowed && !covered; j++)
            covered = ipv4_net_within(&cfg->push_routes[i], &q->allowed[j]);
        if (!covered)
            q->allowed[q->n_allowed++] = cfg->push_routes[i];
    }
}

/* Appends to buf at *at; false once it no longer fits. */
static bool put(char *buf, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at >= cap)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *at) {
        *at = cap;
        return false;
    }
    *at += (size_t)n;
    return true;
}

int wg_quick_text(const struct wg_quick *q, char *buf, size_t cap)
{
    char key[KEYFILE_B64_LEN + 1], a[16];
    size_t at = 0;
    bool ok;

    keyfile_encode(q->private_key, key);
    ok = put(buf, cap, &at, "[Interface]\nPrivateKey = %s\nAddress = %s/32\n", key,
             format_ipv4(q->address, a));
    sodium_memzero(key, sizeof(key));
    /* wg-quick takes resolvers and search domains in one list: what is not an address is a
     * search domain. */
    if (q->n_dns || q->dns_search[0]) {
        ok = ok && put(buf, cap, &at, "DNS = ");
        for (int i = 0; i < q->n_dns; i++)
            ok = ok && put(buf, cap, &at, "%s%s", i ? ", " : "", format_ipv4(q->dns[i], a));
        bool first = q->n_dns == 0;
        for (const char *p = q->dns_search; *p;) {
            size_t n = strcspn(p, " ");
            ok = ok && put(buf, cap, &at, "%s%.*s", first ? "" : ", ", (int)n, p);
            first = false;
            p += n + (p[n] == ' ');
        }
        ok = ok && put(buf, cap, &at, "\n");
    }
    if (q->mtu)
        ok = ok && put(buf, cap, &at, "MTU = %u\n", q->mtu);

    ok = ok && put(buf, cap, &at, "\n[Peer]\nPublicKey = %s\n", q->server_public_key);
    if (q->preshared_key) {
        keyfile_encode(q->preshared_key, key);
        ok = ok && put(buf, cap, &at, "PresharedKey = %s\n", key);
        sodium_memzero(key, sizeof(key));
    }
    bool v6 = strchr(q->endpoint_host, ':') != NULL;
    ok = ok && put(buf, cap, &at, "Endpoint = %s%s%s:%u\nAllowedIPs = ", v6 ? "[" : "",
                   q->endpoint_host, v6 ? "]" : "", (unsigned)q->endpoint_port);
    for (int i = 0; i < q->n_allowed; i++)
        ok = ok && put(buf, cap, &at, "%s%s/%u", i ? ", " : "",
                       format_ipv4(q->allowed[i].addr, a), (unsigned)q->allowed[i].prefix);
    ok = ok && put(buf, cap, &at, "\n");
    if (q->keepalive_s)
        ok = ok && put(buf, cap, &at, "PersistentKeepalive = %u\n", q->keepalive_s);
    return ok ? (int)at : -1;
}
