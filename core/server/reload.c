/* SIGHUP as one swap (see control.h): the whole configuration and a new address pool are
 * built from the files and checked first; on any error one line says why and nothing changes.
 * Then, in one place: settings that need a restart are kept (with a warning), sessions whose
 * address is no longer theirs end, the new configuration and pool replace the old, the tc tree
 * is rebuilt, and every session's upload policer is chosen again. The users file is the
 * enclave's: control.c asks it to reload that too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "server.h"
#include "usage.h"
#include "upload_policy.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"

/* Settings the running server cannot change: the running value stays, and the operator hears
 * that the new one waits for a restart. */
static void keep_restart_only(struct server_config *next, const struct server_config *cur)
{
#define KEEP(field, what)                                                                     \
    do {                                                                                      \
        if (memcmp(&next->field, &cur->field, sizeof(cur->field)) != 0) {                     \
            log_warn("Reload: %s changed; it takes effect after a restart", what);            \
            memcpy(&next->field, &cur->field, sizeof(cur->field));                            \
        }                                                                                     \
    } while (0)
    KEEP(listen_port, "[server] listen_port");
    KEEP(listen_address, "[server] listen_address");
    KEEP(tun_device, "[server] tun_device");
    KEEP(tun_ip, "[server] tun_ip");
    KEEP(tun_prefix, "[server] tun_netmask");
    KEEP(mtu, "[server] mtu");
    KEEP(nat_interface, "[network] nat_interface");
    KEEP(qos_enabled, "[qos] enabled");
    KEEP(private_key_file, "[security] private_key_file");
    KEEP(users_file, "[security] users_file");
    KEEP(control_socket, "[security] control_socket");
    KEEP(control_socket_group, "[metrics] control_socket_group");
    KEEP(user, "[security] user");
    KEEP(replay_window_ms, "[security] replay_window_ms");
    KEEP(rekey_interval_s, "[security] rekey_interval");
    KEEP(log_level, "[logging] level");
    KEEP(log_file, "[logging] file");
#undef KEEP
}

/* Rebuilds the tc tree for next (QoS on): false when tc refused it (QoS is then off, as at a
 * start where tc refuses). */
static bool apply_qos(struct control *c, const struct server_config *next)
{
    char why[512];
    if (!next->qos_enabled)
        return false;
    if (qos_setup(next, c->srv->tun_name, why, sizeof(why)) != 0) {
        log_warn("Failed to setup QoS: %s", why);
        return false;
    }
    log_info("QoS reloaded on %s", c->srv->tun_name);
    return true;
}

/* One clear line, logged and (for vpnctl) kept in why. */
static int refuse(struct control *c, char *why, size_t why_len, const char *reason)
{
    log_error("Reload failed, keeping the running configuration: %s", reason);
    if (why)
        snprintf(why, why_len, "%s", reason);
    c->reload_failures++;
    return -1;
}

int control_reload(struct control *c, char *why, size_t why_len)
{
    struct config_error err;
    struct server_config *next = calloc(1, sizeof(*next));
    struct pool pool;
    if (!next)
        return refuse(c, why, why_len, "out of memory");
    if (server_config_load(c->config_path, next, &err) != 0) {
        free(next);
        return refuse(c, why, why_len, err.msg);
    }
    keep_restart_only(next, c->cfg);
    if (pool_init(&pool, next) != 0) {
        free(next);
        return refuse(c, why, why_len, "out of memory");
    }
    /* Every current session keeps its address if the new pool gives it to its user; the
     * others end (before the swap: their address goes back to the old pool, which goes).
     * Sessions on their user's fixed address first: a user's other devices keep dynamic
     * addresses only beside it (pool_reserve). */
    int ended = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = c->n_all - 1; i >= 0; i--) {
            struct session *s = c->all[i];
            if (s->retire_at_ms || pool_is_fixed_of(&pool, s->vpn_ip, s->username) != !pass ||
                pool_reserve(&pool, s->vpn_ip, s->username, s->device))
                continue;
            char ip[16];
            log_info("Reload: %s no longer belongs to %s", format_ipv4(s->vpn_ip, ip),
                     s->username);
            control_disconnect_session(c, s, "its address changed with the reload");
            ended++;
        }
    }
    /* Retiring sessions whose device's current one ended go too (they only lingered for it). */
    for (int i = c->n_all - 1; i >= 0; i--) {
        struct session *s = c->all[i];
        if (s->retire_at_ms && !control_current_of(c, s->username, s->device))
            control_end_session(c, s, true, "its user's address changed with the reload");
    }

    /* The swap. */
    pool_uninit(&c->pool);
    c->pool = pool;
    c->cfg = next;
    free(c->cfg_owned);
    c->cfg_owned = next;
    c->reloads++;
    usage_config_changed(c);

    if (next->qos_enabled)
        c->srv->qos_active = apply_qos(c, next);
    /* A rebuilt tree has only the fixed addresses' filters: the devices' come again. */
    c->n_dyn_filters = 0;
    c->filters_dirty = true;
    struct upload_link_policy link;
    upload_link_policy_for(next, c->srv->qos_active, &link);
    upload_link_publish(&c->srv->upload_link_policy, &link);
    for (int i = 0; i < c->n_all; i++)
        control_choose_policy(c, c->all[i]);
    log_info("Configuration reloaded: %d QoS class(es), %d user address(es), %d session(s) "
             "kept, %d ended", next->n_classes, next->n_users, c->live_sessions, ended);
    return 0;
}
