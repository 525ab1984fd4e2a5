/* Handshake decisions of the control thread (PROTOCOL.md server steps 5-6; see control.h):
 * phase 1 passed in a worker (the user is authentic, the request fresh), so the control
 * thread chooses the address and checks capacity, and hands the same request to the least
 * loaded worker for phase 2, which makes the keys and the response. */
#include <stdlib.h>
#include <string.h>

#include "control.h"

enum { AUTH_PRESSURE_MS = 30000 };
#include "server.h"
#include "usage.h"
#include "vpn/handshake.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/proto.h"
#include "vpn/qos.h"

static size_t build_config(const struct server_config *c, uint32_t ip, uint8_t *out)
{
    struct hs_config hc;
    memset(&hc, 0, sizeof(hc));
    hc.prefix_len = c->tun_prefix;
    hc.mtu = c->mtu;
    hc.client_ip = ip;
    hc.server_ip = c->tun_ip;
    hc.keepalive_s = (uint16_t)c->keepalive_s;
    hc.idle_timeout_s = c->session_timeout_s;
    hc.rekey_s = c->rekey_interval_s;
    hc.route_count = (uint8_t)c->n_push_routes;
    for (int i = 0; i < c->n_push_routes; i++) {
        hc.routes[i].net = c->push_routes[i].addr;
        hc.routes[i].prefix = c->push_routes[i].prefix;
    }
    /* Extension 4: the enclave sends the DNS block only to a client that asked. */
    hc.dns_block = c->n_dns > 0 || c->dns_search[0];
    hc.dns_count = (uint8_t)c->n_dns;
    memcpy(hc.dns, c->dns, sizeof(hc.dns));
    memcpy(hc.dns_search, c->dns_search, sizeof(hc.dns_search));
    return hs_config_encode(out, &hc);
}

/* Sessions a worker holds (current and retiring) plus the accepts it has been handed. */
static int load_of(const struct control *c, int w)
{
    return c->worker_sessions[w] + c->worker_pending[w];
}

static int least_loaded_worker(const struct control *c)
{
    int best = 0;
    for (int w = 1; w < c->srv->enclave.workers; w++)
        if (load_of(c, w) < load_of(c, best))
            best = w;
    return best;
}

/* The entry is free again; its accept, if any, no longer counts as load. */
static void pending_done(struct control *c, struct pending *p)
{
    if (p->worker >= 0)
        c->worker_pending[p->worker]--;
    p->worker = -1;
    p->used = false;
}

static void release_pending(struct control *c, struct pending *p)
{
    if (p->acquired && p->ip)
        pool_release(&c->pool, p->ip);
    pending_done(c, p);
}

static struct pending *pending_of(struct control *c, uint32_t cookie)
{
    uint32_t idx = cookie & 0xffff;
    if (idx >= PENDING_MAX || !c->pendings[idx].used || c->pendings[idx].gen != (cookie >> 16))
        return NULL;
    return &c->pendings[idx];
}

void control_forget_pending(struct control *c)
{
    for (int i = 0; i < PENDING_MAX; i++)
        if (c->pendings[i].used)
            release_pending(c, &c->pendings[i]);
}

void control_expire_pending(struct control *c, uint64_t now_ms)
{
    for (int i = 0; i < PENDING_MAX; i++)
        if (c->pendings[i].used && now_ms - c->pendings[i].at_ms > PENDING_TIMEOUT_MS)
            release_pending(c, &c->pendings[i]);
}

/* The pending entry for this request of user's device: the device's own (a newer request
 * replaces it), else a free one; a user with USER_DEVICES_MAX entries gives up its oldest, so
 * that one user re-handshaking with ever new device ids cannot take the table. -1 when the
 * table is full. */
static int pending_slot(struct control *c, const char *user, const uint8_t device[DEVICE_ID_LEN])
{
    int free_slot = -1, oldest = -1, of_user = 0;
    for (int i = 0; i < PENDING_MAX; i++) {
        struct pending *p = &c->pendings[i];
        if (!p->used) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (strcmp(p->username, user) != 0)
            continue;
        if (memcmp(p->device, device, DEVICE_ID_LEN) == 0) {
            release_pending(c, p);
            return i;
        }
        of_user++;
        if (oldest < 0 || p->at_ms < c->pendings[oldest].at_ms)
            oldest = i;
    }
    if (of_user >= USER_DEVICES_MAX) {
        release_pending(c, &c->pendings[oldest]);
        return oldest;
    }
    return free_slot;
}

/* Other devices of user that hold or are about to hold a session. */
static int devices_in_use(const struct control *c, const char *user,
                          const uint8_t device[DEVICE_ID_LEN])
{
    int n = control_devices_online(c, user);
    for (int i = 0; i < PENDING_MAX; i++) {
        const struct pending *p = &c->pendings[i];
        if (p->used && p->worker >= 0 && strcmp(p->username, user) == 0 &&
            memcmp(p->device, device, DEVICE_ID_LEN) != 0 &&
            !control_current_of(c, user, p->device))
            n++;
    }
    return n;
}

/* The user's device session that has been silent longest, if silent for so long that its
 * client has given up on it (DEVICE_GONE_KEEPALIVES), else NULL. */
static struct session *gone_device(const struct control *c, const char *user, uint64_t now)
{
    struct session *quietest = NULL;
    uint64_t limit = (uint64_t)c->cfg->keepalive_s * 1000 * DEVICE_GONE_KEEPALIVES;
    for (int i = 0; i < c->n_all; i++) {
        struct session *s = c->all[i];
        if (s->retire_at_ms || strcmp(s->username, user) != 0)
            continue;
        if (!quietest || __atomic_load_n(&s->last_rx_ms, __ATOMIC_RELAXED) <
                             __atomic_load_n(&quietest->last_rx_ms, __ATOMIC_RELAXED))
            quietest = s;
    }
    if (quietest &&
        ms_since(now, __atomic_load_n(&quietest->last_rx_ms, __ATOMIC_RELAXED)) > limit)
        return quietest;
    return NULL;
}

/* Whether a new device of user may come online: the user has fewer than max_devices, or
 * one of them is gone (its session is ended here to make room). Otherwise it is refused
 * rather than the oldest evicted: two devices cannot then take the place from each other in
 * turns, and a stolen token cannot push its owner's devices off (docs/PROTOCOL.md,
 * extension 5). */
static bool device_room(struct control *c, const char *user, const uint8_t device[DEVICE_ID_LEN],
                        uint64_t now)
{
    int most = server_config_max_devices(c->cfg, user);
    if (devices_in_use(c, user, device) < most)
        return true;
    struct session *gone = gone_device(c, user, now);
    if (gone) {
        control_disconnect_session(c, gone, "silent, and another device of its user needs "
                                   "the place");
        return true;
    }
    static struct log_limit lim;
    log_limited(&lim, LOG_WARN, "Handshake of %s refused: %d device(s) online, the most it "
                "may have (max_devices)", user, most);
    return false;
}

void control_on_hello(struct control *c, const struct ctl_event *ev)
{
    char user[USERNAME_MAX + 1];
    uint8_t device[DEVICE_ID_LEN];
    size_t ulen = ev->len - HELLO_USER_OFF;
    if (ev->len <= HELLO_USER_OFF || ulen > USERNAME_MAX)
        return;
    memcpy(device, ev->data + CONNECT_REQ_LEN, DEVICE_ID_LEN);
    memcpy(user, ev->data + HELLO_USER_OFF, ulen);
    user[ulen] = '\0';

    bool wireguard = ev->meta.aux & HELLO_WIREGUARD;
    int slot = pending_slot(c, user, device);
    if (slot < 0) {
        /* Cannot happen while users and sessions stay within their limits (see
         * PENDING_MAX); counted if it ever does. The client retries. */
        c->handshakes_dropped++;
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "Handshake of %s dropped: %d handshakes in flight", user,
                    PENDING_MAX);
        return;
    }
    struct pending *p = &c->pendings[slot];
    memset(p->username, 0, sizeof(p->username));
    memcpy(p->username, user, ulen + 1);
    memcpy(p->device, device, DEVICE_ID_LEN);
    p->wireguard = wireguard;
    p->at_us = clock_monotonic_us();
    p->at_ms = p->at_us / 1000;
    p->acquired = false;
    p->ip = 0;
    p->worker = -1;

    uint16_t status = usage_admission(c, user);
    struct session *existing = control_current_of(c, user, device);
    if (status != STATUS_OK) {
        /* quota or expiry (usage.h): refused with its reason */
    } else if (existing) {
        p->ip = existing->vpn_ip;   /* rekey or restarted client: same address */
    } else if (wireguard && server_config_device_index(c->cfg, user, device) < 0) {
        /* Its client is configured with an address we cannot know. */
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "WireGuard handshake of %s refused: no [device:%s:%.15s] "
                    "with a vpn_ip in the classes file", user, user, (const char *)device);
        status = STATUS_POOL_EXHAUSTED;
    } else if (!device_room(c, user, device, p->at_ms)) {
        status = STATUS_SERVER_FULL;
    } else if (c->live_sessions >= c->cfg->max_clients) {
        status = STATUS_SERVER_FULL;
    } else if ((p->ip = pool_acquire(&c->pool, user, device)) == 0) {
        status = STATUS_POOL_EXHAUSTED;
    } else {
        p->acquired = true;
    }
    uint8_t data[CONNECT_REQ_LEN + RESP_CONFIG_MAX];
    memcpy(data, ev->data, CONNECT_REQ_LEN);
    size_t n = CONNECT_REQ_LEN + build_config(c->cfg, p->ip, data + CONNECT_REQ_LEN);
    int w = status == STATUS_OK ? least_loaded_worker(c) : ev->meta.worker;
    if (w < 0 || w >= c->srv->enclave.workers)
        w = 0;
    p->used = true;
    p->gen++;
    if (status == STATUS_OK) {
        p->worker = w;
        c->worker_pending[w]++;
    }
    uint32_t cookie = (uint32_t)p->gen << 16 | (uint32_t)slot;
    if (!ctl_submit(&c->submit, w, wireguard ? OP_WG_ACCEPT : OP_ACCEPT, 0, status, data,
                    (uint16_t)n, &ev->meta.peer, cookie))
        release_pending(c, p);
}

void control_on_accepted(struct control *c, const struct ctl_event *ev)
{
    struct server *srv = c->srv;
    struct pending *p = pending_of(c, ev->meta.cookie);
    int w = enclave_worker_of(&srv->enclave, ev->meta.session_id);
    if (!p) {
        /* We gave up on this request: the keys the worker made must not linger. */
        ctl_submit(&c->submit, w, OP_ERASE, ev->meta.session_id, 0, NULL, 0, NULL, 0);
        return;
    }
    struct session *s = calloc(1, sizeof(*s));
    if (!s) {
        release_pending(c, p);
        ctl_submit(&c->submit, w, OP_ERASE, ev->meta.session_id, 0, NULL, 0, NULL, 0);
        return;
    }
    uint64_t now = clock_monotonic_ms();
    s->id = ev->meta.session_id;
    s->worker = w;
    s->vpn_ip = p->ip;
    memcpy(s->username, p->username, sizeof(s->username));
    memcpy(s->device, p->device, DEVICE_ID_LEN);
    s->wireguard = p->wireguard;
    s->endpoint = ev->meta.peer;
    s->created_ms = now;
    s->last_rx_ms = now;
    control_choose_policy(c, s);
    if (!control_add_session(c, s)) {
        free(s);
        release_pending(c, p);
        ctl_submit(&c->submit, w, OP_ERASE, ev->meta.session_id, 0, NULL, 0, NULL, 0);
        return;
    }
    /* The new session is in by_ip now; a rekeyed or restarted client's old session is the
     * other current one of the same device. */
    struct session *old = NULL;
    for (int i = 0; i < c->n_all; i++)
        if (c->all[i] != s && !c->all[i]->retire_at_ms &&
            strcmp(c->all[i]->username, s->username) == 0 &&
            memcmp(c->all[i]->device, s->device, DEVICE_ID_LEN) == 0)
            old = c->all[i];
    if (old) {
        /* Send on the new session at once, keep receiving on the old one for the overlap
         * (PROTOCOL.md, session life). The address stays with the user, so the old session
         * no longer owns it. */
        old->retire_at_ms = now + REKEY_OVERLAP_MS;
        c->filters_dirty = true;
        if (old->vpn_ip != s->vpn_ip) {
            sessions_unroute(&srv->sessions, old);
            pool_release(&c->pool, old->vpn_ip);
        }
    } else {
        c->live_sessions++;
    }
    usage_session_started(c, s, old);
    if (!old)
        hooks_session(c, s, NULL);
    uint64_t started_us = p->at_us;
    pending_done(c, p);
    server_send_datagram(srv, s->wireguard, ev->data, ev->len, &ev->meta.peer);
    c->handshakes_ok++;
    handshake_latency_observe(&c->handshake_latency, clock_monotonic_us() - started_us);
    user_totals_session_made(&c->totals, s, qos_class_name_for(c->cfg, s->vpn_ip));
    char ep[64], ip[16];
    log_info("Client %s%s%.15s %s from %s, VPN IP %s (session %08x, worker %d)", s->username,
             s->wireguard ? " WireGuard device " : "", s->wireguard ? (const char *)s->device : "",
             old ? "rekeyed" : "connected", format_endpoint(&s->endpoint, ep, sizeof(ep)),
             format_ipv4(s->vpn_ip, ip), s->id, s->worker);
}

void control_on_reply(struct control *c, const struct ctl_event *ev)
{
    struct pending *p = ev->meta.cookie ? pending_of(c, ev->meta.cookie) : NULL;
    if (p)
        release_pending(c, p);
    /* A WireGuard refusal has nothing to send (len 0): WireGuard has no refusal message. */
    if (ev->len)
        server_send_datagram(c->srv, false, ev->data, ev->len, &ev->meta.peer);
    c->handshakes_refused++;
    c->refused_by_status[ev->meta.aux < HANDSHAKE_STATUS_SLOTS ? ev->meta.aux
                                                               : HANDSHAKE_STATUS_SLOTS - 1]++;
    /* A user's failure budget is spent: someone is guessing, maybe from forged addresses.
     * For a while every request must prove its source (a cookie), which lets the real client
     * draw on the budget for proven requests. */
    if (ev->meta.aux == STATUS_RATE_LIMITED)
        __atomic_store_n(&c->srv->auth_pressure_until_ms,
                         clock_monotonic_ms() + AUTH_PRESSURE_MS, __ATOMIC_RELAXED);
    static struct log_limit lim;
    const char *name = proto_status_name(ev->meta.aux);
    char ep[64];
    log_limited(&lim, LOG_WARN, "Handshake from %s refused: %s",
                format_endpoint(&ev->meta.peer, ep, sizeof(ep)), name ? name : "?");
}
