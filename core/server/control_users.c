/* The control socket's "reload" and "users" requests (control_socket.h), for vpnctl user:
 * what SIGHUP does, with its outcome in the reply, and what the server knows of each user
 * (devices online, their addresses, when it was last heard from). Control thread only. */
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "control_socket.h"
#include "server.h"
#include "vpn/json.h"
#include "vpn/netaddr.h"

/* {"ok":true,"users_reloads":N,"users_reload_failures":M} with the counts from before the
 * enclave was asked (vpnctl waits for one of them to move), or {"ok":false,"error":WHY}. */
void control_users_reload(struct control *c, FILE *out)
{
    struct enclave_link *e = &c->srv->enclave;
    unsigned done = e->users_reloads, failed = e->users_reload_failures;
    char why[CONFIG_ERR_MAX];
    if (control_reload(c, why, sizeof(why)) != 0) {
        fprintf(out, "{\"ok\":false,\"error\":");
        json_write_string(out, why);
        fprintf(out, "}\n");
        return;
    }
    enclave_reload_users(e);
    fprintf(out, "{\"ok\":true,\"users_reloads\":%u,\"users_reload_failures\":%u}\n", done,
            failed);
}

/* One user's entry: its sessions' devices and addresses, seconds since it was heard from. */
static void one_user(const struct control *c, const char *user, FILE *out, bool first,
                     uint64_t now_mono, uint64_t now_wall)
{
    char ip[16];
    int devices = 0;
    uint64_t heard = 0;     /* realtime ms */
    fprintf(out, "%s{\"user\":", first ? "" : ",");
    json_write_string(out, user);
    fprintf(out, ",\"addresses\":[");
    for (int i = 0; i < c->n_all; i++) {
        const struct session *s = c->all[i];
        if (strcmp(s->username, user) != 0)
            continue;
        uint64_t rx = __atomic_load_n(&s->last_rx_ms, __ATOMIC_RELAXED);
        uint64_t wall = now_wall - ms_since(now_mono, rx);
        heard = wall > heard ? wall : heard;
        if (s->retire_at_ms)
            continue;
        fprintf(out, "%s\"%s\"", devices ? "," : "", format_ipv4(s->vpn_ip, ip));
        devices++;
    }
    uint64_t ended = control_last_seen(c, user);
    heard = ended > heard ? ended : heard;
    fprintf(out, "],\"devices\":%d,\"last_seen_unix\":%llu}", devices,
            (unsigned long long)(heard / 1000));
}

void control_users_show(const struct control *c, FILE *out)
{
    const struct enclave_link *e = &c->srv->enclave;
    fprintf(out, "{\"public_key\":");
    json_write_string(out, e->public_key);
    if (c->cfg->wg_enabled) {
        /* For `vpnctl device add --wireguard`'s wg-quick configuration. */
        fprintf(out, ",\"wireguard_public_key\":");
        json_write_string(out, e->wg_public_key);
        fprintf(out, ",\"wireguard_port\":%u", c->cfg->wg_listen_port);
    }
    fprintf(out, ",\"port\":%u,\"users_reloads\":%u,\"users_reload_failures\":%u,"
                 "\"users_reload_error\":", c->cfg->listen_port, e->users_reloads,
            e->users_reload_failures);
    json_write_string(out, e->users_reload_error);
    fprintf(out, ",\"users\":[");
    uint64_t now_mono = clock_monotonic_ms(), now_wall = clock_realtime_ms();
    int n = 0;
    /* Every user with a session, then those only remembered: each name once. */
    for (int i = 0; i < c->n_all; i++) {
        bool seen_before = false;
        for (int j = 0; j < i && !seen_before; j++)
            seen_before = strcmp(c->all[j]->username, c->all[i]->username) == 0;
        if (!seen_before)
            one_user(c, c->all[i]->username, out, n++ == 0, now_mono, now_wall);
    }
    for (int i = 0; i < c->n_seen; i++) {
        bool online = false;
        for (int j = 0; j < c->n_all && !online; j++)
            online = strcmp(c->all[j]->username, c->seen[i].user) == 0;
        if (!online)
            one_user(c, c->seen[i].user, out, n++ == 0, now_mono, now_wall);
    }
    fprintf(out, "]}\n");
}
