/* The download filters that follow a classed user's devices (see control.h and qos.h): the
 * tree filters each user's fixed address from the start; an address one of its other devices
 * gets from the pool is filtered into the same leaf while that device is online, so that all
 * of a user's devices are shaped together by its class. Control thread only. */
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "server.h"
#include "vpn/log.h"

/* The filter s needs, or false: its user has a class and s's address is not its fixed one. */
static bool wanted(const struct control *c, const struct session *s,
                   struct qos_filter_change *out)
{
    int i = server_config_user_index(c->cfg, s->username);
    if (s->retire_at_ms || i < 0 || c->cfg->users[i].class_index < 0 ||
        c->cfg->users[i].vpn_ip == s->vpn_ip)
        return false;
    out->addr = s->vpn_ip;
    out->minor = qos_user_minor(c->cfg, i);
    return true;
}

static bool has(const struct qos_filter_change *set, int n, const struct qos_filter_change *f)
{
    for (int i = 0; i < n; i++)
        if (set[i].addr == f->addr && set[i].minor == f->minor)
            return true;
    return false;
}

void control_sync_filters(struct control *c)
{
    if (!c->filters_dirty)
        return;
    c->filters_dirty = false;
    /* Without QoS there is no tree; a rebuilt tree (reload) has none of them. */
    int most = c->n_all;
    struct qos_filter_change *want = malloc(sizeof(*want) * (size_t)(most ? most : 1));
    struct qos_filter_change *ops = malloc(sizeof(*ops) * (size_t)(most + c->n_dyn_filters + 1));
    if (!want || !ops) {
        free(want);
        free(ops);
        c->filters_dirty = true;    /* try again at the next turn */
        return;
    }
    int n_want = 0, n_ops = 0;
    if (c->srv->qos_active)
        for (int i = 0; i < c->n_all; i++)
            if (wanted(c, c->all[i], &want[n_want]) && !has(want, n_want, &want[n_want]))
                n_want++;
    for (int i = 0; i < c->n_dyn_filters; i++)
        if (!has(want, n_want, &c->dyn_filters[i]))
            ops[n_ops++] = (struct qos_filter_change){ .addr = c->dyn_filters[i].addr };
    for (int i = 0; i < n_want; i++)
        if (!has(c->dyn_filters, c->n_dyn_filters, &want[i]))
            ops[n_ops++] = want[i];
    char why[512];
    if (n_ops && qos_filters_apply(c->srv->tun_name, ops, n_ops, why, sizeof(why)) != 0) {
        /* The device's download is shaped by the default class meanwhile; the next change
         * tries again what is still missing. */
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "QoS: cannot update a device's download filter: %s", why);
    }
    free(c->dyn_filters);
    free(ops);
    c->dyn_filters = want;
    c->n_dyn_filters = n_want;
}
