/* The control thread's list of sessions and their life (see control.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "server.h"
#include "upload_policy.h"
#include "usage.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"

struct session *control_current_of(const struct control *c, const char *username,
                                   const uint8_t device[DEVICE_ID_LEN])
{
    for (int i = 0; i < c->n_all; i++) {
        const struct session *s = c->all[i];
        if (!s->retire_at_ms && strcmp(s->username, username) == 0 &&
            memcmp(s->device, device, DEVICE_ID_LEN) == 0)
            return c->all[i];
    }
    return NULL;
}

int control_devices_online(const struct control *c, const char *username)
{
    int n = 0;
    for (int i = 0; i < c->n_all; i++)
        n += !c->all[i]->retire_at_ms && strcmp(c->all[i]->username, username) == 0;
    return n;
}

struct session *control_find(const struct control *c, uint32_t id)
{
    for (int i = 0; i < c->n_all; i++)
        if (c->all[i]->id == id)
            return c->all[i];
    return NULL;
}

bool control_add_session(struct control *c, struct session *s)
{
    if (c->n_all == c->cap_all) {
        int cap = c->cap_all ? c->cap_all * 2 : 64;
        struct session **a = realloc(c->all, sizeof(*a) * (size_t)cap);
        if (!a)
            return false;
        c->all = a;
        c->cap_all = cap;
    }
    c->all[c->n_all++] = s;
    c->worker_sessions[s->worker]++;
    sessions_add(&c->srv->sessions, s);
    c->filters_dirty = true;
    return true;
}

uint64_t control_last_seen(const struct control *c, const char *username)
{
    for (int i = 0; i < c->n_seen; i++)
        if (strcmp(c->seen[i].user, username) == 0)
            return c->seen[i].wall_ms;
    return 0;
}

/* Keeps when s's user was last heard from (its last authenticated packet, in wall time). */
static void remember_seen(struct control *c, const struct session *s)
{
    uint64_t now = clock_monotonic_ms(), rx = __atomic_load_n(&s->last_rx_ms, __ATOMIC_RELAXED);
    uint64_t wall = clock_realtime_ms() - ms_since(now, rx);
    int slot = -1;
    for (int i = 0; i < c->n_seen && slot < 0; i++)
        if (strcmp(c->seen[i].user, s->username) == 0)
            slot = i;
    if (slot < 0 && c->n_seen < LAST_SEEN_MAX)
        slot = c->n_seen++;
    if (slot < 0) {                                     /* full: the oldest goes */
        slot = 0;
        for (int i = 1; i < c->n_seen; i++)
            if (c->seen[i].wall_ms < c->seen[slot].wall_ms)
                slot = i;
    }
    if (strcmp(c->seen[slot].user, s->username) == 0 && c->seen[slot].wall_ms > wall)
        return;     /* another device of the user was heard from later */
    snprintf(c->seen[slot].user, sizeof(c->seen[slot].user), "%s", s->username);
    c->seen[slot].wall_ms = wall;
}

void control_end_session(struct control *c, struct session *s, bool erase_keys, const char *why)
{
    remember_seen(c, s);
    char ip[16];
    log_info("Session of %s (%s) ended: %s", s->username, format_ipv4(s->vpn_ip, ip), why);
    usage_session_ended(c, s, why);
    if (!s->retire_at_ms)
        hooks_session(c, s, why);
    if (!s->retire_at_ms) {
        c->live_sessions--;
        /* The address goes back unless a newer session of the same user holds it. */
        pool_release(&c->pool, s->vpn_ip);
    }
    user_totals_session_ended(&c->totals, s);
    if (erase_keys)
        ctl_submit(&c->submit, s->worker, OP_ERASE, s->id, 0, NULL, 0, NULL, 0);
    c->worker_sessions[s->worker]--;
    for (int i = 0; i < c->n_all; i++)
        if (c->all[i] == s) {
            c->all[i] = c->all[--c->n_all];
            break;
        }
    sessions_remove(&c->srv->sessions, s);
    c->filters_dirty = true;
}

void control_disconnect_session(struct control *c, struct session *s, const char *why)
{
    static const uint8_t reason = 0;
    struct sockaddr_in6 ep;
    session_get_endpoint(s, &ep);
    if (!s->wireguard)  /* WireGuard has no DISCONNECT: its peer learns at its next handshake */
        ctl_submit(&c->submit, s->worker, OP_SEAL_CONTROL, s->id, MSG_DISCONNECT, &reason, 1,
                   &ep, 0);
    control_end_session(c, s, true, why);
}

void control_choose_policy(struct control *c, struct session *s)
{
    struct upload_policy p;
    upload_policy_for(c->cfg, c->srv->qos_active, s->username, &p);
    int over = usage_class_override(c, s->username);
    if (over >= 0 && p.limited) {
        /* Over its quota: policed as its over_quota_class until the next period. */
        const struct qos_class *k = &c->cfg->classes[over];
        p.shared_default = false;
        p.rate_bps = k->rate_bps;
        p.ceil_bps = k->ceil_bps;
        p.prio = (uint8_t)k->priority;
    }
    upload_policy_publish(&s->policy, &p);
}

/* A WireGuard peer's keys are refused after REJECT_AFTER_TIME (whitepaper 6.1; the enclave
 * enforces it); its initiator rekeys before that while it has traffic, and an idle one
 * handshakes again when it next sends. */
enum { WG_SESSION_MAX_MS = (WG_REJECT_AFTER_TIME_S + 5) * 1000 };
/* The responder's keys are confirmed by the initiator's first transport message, which
 * follows the handshake at once (data or a keepalive, whitepaper 6.5). A session with none
 * after two REKEY_TIMEOUTs has keys its peer could not open (a wrong preshared key, a
 * response lost while the peer moved on): it ends rather than hold an address and a slot. */
enum { WG_UNCONFIRMED_MS = 2 * WG_REKEY_TIMEOUT_S * 1000 };

/* Passive keepalive (whitepaper 6.5): a peer that sent us data and has had nothing back for
 * KEEPALIVE_TIMEOUT gets an empty message, or its initiator would take the silence for a dead
 * responder and handshake again. The data counters are sampled once a sweep, so the data path
 * does nothing for it; a received keepalive is no data, so two peers never keep each other
 * talking. Within one sweep's second the order of what came and went is unknown: data both
 * ways restarts the wait (steady traffic never owes one; its end may cost one keepalive too
 * many), data in alone starts it, data out alone cancels it. */
static void wg_passive_keepalive(struct control *c, struct session *s, uint64_t now)
{
    static const uint8_t nothing[1];
    uint64_t rx = counter_read(&s->rx_packets), tx = counter_read(&s->tx_packets);
    bool data_in = rx != s->ka_rx_seen, data_out = tx != s->ka_tx_seen;
    s->ka_rx_seen = rx;
    s->ka_tx_seen = tx;
    if (data_in && data_out)
        s->ka_due_ms = now + WG_KEEPALIVE_TIMEOUT_S * 1000;
    else if (data_in && !s->ka_due_ms)
        s->ka_due_ms = now + WG_KEEPALIVE_TIMEOUT_S * 1000;
    else if (data_out)
        s->ka_due_ms = 0;
    if (s->ka_due_ms && now >= s->ka_due_ms) {
        struct sockaddr_in6 ep;
        session_get_endpoint(s, &ep);
        if (ctl_submit(&c->submit, s->worker, OP_WG_KEEPALIVE, s->id, 0, nothing, 0, &ep, 0))
            c->wg_keepalives_sent++;
        s->ka_due_ms = 0;
    }
}

void control_sweep(struct control *c, uint64_t now)
{
    uint64_t idle_ms = (uint64_t)c->cfg->session_timeout_s * 1000;
    for (int i = c->n_all - 1; i >= 0; i--) {
        struct session *s = c->all[i];
        /* Current rates for the status tool (the counters belong to the data threads and are
         * read whole, see counter.h). */
        uint64_t rx = counter_read(&s->rx_bytes);
        uint64_t tx = counter_read(&s->tx_bytes);
        if (s->rate_at_ms && now > s->rate_at_ms) {
            s->rx_bps = (rx - s->rate_rx_bytes) * 8000 / (now - s->rate_at_ms);
            s->tx_bps = (tx - s->rate_tx_bytes) * 8000 / (now - s->rate_at_ms);
        }
        s->rate_rx_bytes = rx;
        s->rate_tx_bytes = tx;
        s->rate_at_ms = now;
        if (s->retire_at_ms && now >= s->retire_at_ms)
            control_end_session(c, s, true, "replaced by a new handshake");
        else if (ms_since(now, __atomic_load_n(&s->last_rx_ms, __ATOMIC_RELAXED)) > idle_ms)
            control_end_session(c, s, true, "idle timeout");
        else if (s->wireguard && now - s->created_ms > WG_UNCONFIRMED_MS &&
                 counter_read(&s->rx_packets) == 0)
            control_end_session(c, s, true, "WireGuard handshake never confirmed by its peer");
        else if (s->wireguard && now - s->created_ms > WG_SESSION_MAX_MS)
            control_end_session(c, s, true, "WireGuard keys expired without a new handshake");
        else if (s->wireguard && !s->retire_at_ms)
            wg_passive_keepalive(c, s, now);
    }
    usage_tick(c, now);
    hooks_tick(c, now);
}
