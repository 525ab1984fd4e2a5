/* The control thread: handshake decisions (address, capacity), session life (rekey overlap,
 * idle timeout, DISCONNECT), signals, timers and the enclave's reports. It is the only writer
 * of the session tables, the pool and the in_ctl rings, so none of them needs a lock. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "control_socket.h"
#include "vpn/handshake.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"

enum { PENDING_MAX = 256, PENDING_TIMEOUT_MS = 5000, SWEEP_MS = 1000 };

/* A phase-2 request in flight: what the decision reserved, to be kept or given back. */
struct pending {
    bool used;
    uint16_t gen;
    char username[USERNAME_MAX + 1];
    uint32_t ip;
    bool acquired;          /* the address came from the pool for this request */
    uint64_t at_ms;
};

static struct pending pendings[PENDING_MAX];
/* Every session the control thread knows, current and retiring. */
static struct session **all;
static int n_all, cap_all;

static struct session *current_of(const char *username)
{
    for (int i = 0; i < n_all; i++)
        if (!all[i]->retire_at_ms && strcmp(all[i]->username, username) == 0)
            return all[i];
    return NULL;
}

static bool ctl_push(struct server *srv, int w, uint16_t op, uint32_t sid, uint16_t aux,
                     const uint8_t *data, size_t len, const struct sockaddr_in6 *peer,
                     uint32_t cookie)
{
    struct ring *r = &srv->enclave.rings[w].in_ctl;
    if (ring_free(r) == 0 || len > SLOT_DATA)
        return false;
    struct pkt_slot *s = ring_produce_slot(r, 0);
    memset(&s->meta, 0, sizeof(s->meta));
    s->meta.op = op;
    s->meta.aux = aux;
    s->meta.len = (uint16_t)len;
    s->meta.session_id = sid;
    s->meta.cookie = cookie;
    if (peer)
        s->meta.peer = *peer;
    if (len)
        memcpy(s->data, data, len);
    ring_produce_publish(r, 1);
    enclave_wake_worker(&srv->enclave, w);
    return true;
}

static size_t build_config(const struct server *srv, uint32_t ip, uint8_t *out)
{
    const struct server_config *c = srv->cfg;
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
    return hs_config_encode(out, &hc);
}

static int least_loaded_worker(const struct server *srv)
{
    int best = 0;
    for (int w = 1; w < srv->enclave.workers; w++)
        if (srv->worker_sessions[w] < srv->worker_sessions[best])
            best = w;
    return best;
}

static void release_pending(struct server *srv, struct pending *p)
{
    if (p->acquired && p->ip)
        pool_release(&srv->pool, p->ip);
    p->used = false;
}

static struct pending *pending_of(uint32_t cookie)
{
    uint32_t idx = cookie & 0xffff;
    if (idx >= PENDING_MAX || !pendings[idx].used || pendings[idx].gen != (cookie >> 16))
        return NULL;
    return &pendings[idx];
}

/* Phase 1 passed: the user is authentic and its request fresh. Decide steps 5-6. */
static void on_hello(struct server *srv, struct ctl_event *ev)
{
    char user[USERNAME_MAX + 1];
    size_t ulen = ev->len - CONNECT_REQ_LEN;
    if (ev->len <= CONNECT_REQ_LEN || ulen > USERNAME_MAX)
        return;
    memcpy(user, ev->data + CONNECT_REQ_LEN, ulen);
    user[ulen] = '\0';

    /* One request in flight per user: a newer one replaces it (its reservation is given back,
     * and a late result for it finds no pending entry and is erased), so one user
     * re-handshaking in a loop cannot take every pending entry. */
    int slot = -1;
    for (int i = 0; i < PENDING_MAX; i++)
        if (pendings[i].used && strcmp(pendings[i].username, user) == 0) {
            release_pending(srv, &pendings[i]);
            slot = i;
            break;
        }
    for (int i = 0; slot < 0 && i < PENDING_MAX; i++)
        if (!pendings[i].used)
            slot = i;
    if (slot < 0)
        return;     /* a burst of handshakes: the client retries */
    struct pending *p = &pendings[slot];
    memset(p->username, 0, sizeof(p->username));
    memcpy(p->username, user, ulen + 1);
    p->at_ms = clock_monotonic_ms();
    p->acquired = false;
    p->ip = 0;

    uint16_t status = STATUS_OK;
    struct session *existing = current_of(user);
    if (existing) {
        p->ip = existing->vpn_ip;   /* rekey or restarted client: same address */
    } else if (srv->live_sessions >= srv->cfg->max_clients) {
        status = STATUS_SERVER_FULL;
    } else if ((p->ip = pool_acquire(&srv->pool, user)) == 0) {
        status = STATUS_POOL_EXHAUSTED;
    } else {
        p->acquired = true;
    }
    uint8_t data[CONNECT_REQ_LEN + RESP_CONFIG_MAX];
    memcpy(data, ev->data, CONNECT_REQ_LEN);
    size_t n = CONNECT_REQ_LEN + build_config(srv, p->ip, data + CONNECT_REQ_LEN);
    int w = status == STATUS_OK ? least_loaded_worker(srv) : ev->meta.worker;
    p->used = true;
    p->gen++;
    uint32_t cookie = (uint32_t)p->gen << 16 | (uint32_t)slot;
    if (!ctl_push(srv, w, OP_ACCEPT, 0, status, data, n, &ev->meta.peer, cookie))
        release_pending(srv, p);
}

static void add_to_all(struct session *s)
{
    if (n_all == cap_all) {
        int cap = cap_all ? cap_all * 2 : 64;
        struct session **a = realloc(all, sizeof(*a) * (size_t)cap);
        if (!a)
            abort();    /* at most SESSION_SLOTS pointers: failing here means no memory */
        all = a;
        cap_all = cap;
    }
    all[n_all++] = s;
}

static void end_session(struct server *srv, struct session *s, bool erase_keys, const char *why)
{
    char ip[16];
    log_info("Session of %s (%s) ended: %s", s->username, format_ipv4(s->vpn_ip, ip), why);
    if (!s->retire_at_ms) {
        srv->live_sessions--;
        /* The address goes back unless a newer session of the same user holds it. */
        pool_release(&srv->pool, s->vpn_ip);
    }
    if (erase_keys)
        ctl_push(srv, s->worker, OP_ERASE, s->id, 0, NULL, 0, NULL, 0);
    srv->worker_sessions[s->worker]--;
    for (int i = 0; i < n_all; i++)
        if (all[i] == s) {
            all[i] = all[--n_all];
            break;
        }
    sessions_remove(&srv->sessions, s);
}

/* The upload policer of a new session (REQUIREMENTS.md section 6): its user's class when it
 * has one, else the default class's bucket, shared by all its users as the tc class is. */
static void choose_upload_policer(struct server *srv, struct session *s, uint64_t now_ms)
{
    const struct server_config *cfg = srv->cfg;
    s->upload = &s->upload_own;
    if (!cfg->qos_enabled || !srv->qos_active) {    /* off, or tc refused: no QoS at all */
        qos_bucket_init_htb(&s->upload_own, NULL, 0, 0, now_ms * 1000);    /* unlimited */
        return;
    }
    for (int i = 0; i < cfg->n_users; i++) {
        const struct qos_user *u = &cfg->users[i];
        if (u->vpn_ip == s->vpn_ip && u->class_index >= 0) {
            const struct qos_class *c = &cfg->classes[u->class_index];
            qos_bucket_init_htb(&s->upload_own, &srv->upload_link, c->rate_bps, c->ceil_bps,
                                now_ms * 1000);
            qos_bucket_set_prio(&s->upload_own, c->priority);
            return;
        }
    }
    s->upload = &srv->default_upload;
}

static void on_accepted(struct server *srv, struct ctl_event *ev)
{
    struct pending *p = pending_of(ev->meta.cookie);
    if (!p) {
        /* We gave up on this request: the keys the worker made must not linger. */
        int w = enclave_worker_of(&srv->enclave, ev->meta.session_id);
        ctl_push(srv, w, OP_ERASE, ev->meta.session_id, 0, NULL, 0, NULL, 0);
        return;
    }
    struct session *s = calloc(1, sizeof(*s));
    if (!s) {
        release_pending(srv, p);
        return;
    }
    uint64_t now = clock_monotonic_ms();
    s->id = ev->meta.session_id;
    s->worker = enclave_worker_of(&srv->enclave, s->id);
    s->vpn_ip = p->ip;
    memcpy(s->username, p->username, sizeof(s->username));
    s->endpoint = ev->meta.peer;
    s->created_ms = now;
    s->last_rx_ms = now;
    choose_upload_policer(srv, s, now);

    struct session *old = current_of(s->username);
    if (old) {
        /* Rekey or a restarted client: send on the new session at once, keep receiving on the
         * old one for the overlap (PROTOCOL.md, session life). The address stays with the
         * user, so the old session no longer owns it. */
        old->retire_at_ms = now + REKEY_OVERLAP_MS;
        sessions_unroute(&srv->sessions, old);
        if (old->vpn_ip != s->vpn_ip)
            pool_release(&srv->pool, old->vpn_ip);
    } else {
        srv->live_sessions++;
    }
    p->used = false;
    add_to_all(s);
    srv->worker_sessions[s->worker]++;
    sessions_add(&srv->sessions, s);
    server_send_datagram(srv, ev->data, ev->len, &ev->meta.peer);
    srv->handshakes_ok++;
    char ep[64], ip[16];
    log_info("Client %s %s from %s, VPN IP %s (session %08x, worker %d)", s->username,
             old ? "rekeyed" : "connected", format_endpoint(&s->endpoint, ep, sizeof(ep)),
             format_ipv4(s->vpn_ip, ip), s->id, s->worker);
}

static void on_reply(struct server *srv, struct ctl_event *ev)
{
    struct pending *p = ev->meta.cookie ? pending_of(ev->meta.cookie) : NULL;
    if (p)
        release_pending(srv, p);
    server_send_datagram(srv, ev->data, ev->len, &ev->meta.peer);
    srv->handshakes_refused++;
    static struct log_limit lim;
    static const char *const names[] = { "OK", "AUTH_FAILED", "SERVER_FULL", "POOL_EXHAUSTED",
                                         "RATE_LIMITED", "STALE_TIMESTAMP" };
    char ep[64];
    log_limited(&lim, LOG_WARN, "Handshake from %s refused: %s",
                format_endpoint(&ev->meta.peer, ep, sizeof(ep)),
                ev->meta.aux < 6 ? names[ev->meta.aux] : "?");
}

static struct session *find_any(uint32_t id)
{
    for (int i = 0; i < n_all; i++)
        if (all[i]->id == id)
            return all[i];
    return NULL;
}

static void drain_events(struct server *srv)
{
    uint64_t v;
    ssize_t k = read(srv->event_fd, &v, sizeof(v));
    (void)k;
    struct cds_wfcq_node *node;
    while ((node = __cds_wfcq_dequeue_blocking(&srv->events_head, &srv->events_tail))) {
        struct ctl_event *ev = caa_container_of(node, struct ctl_event, node);
        struct session *s;
        switch (ev->meta.op) {
        case RES_HELLO:
            on_hello(srv, ev);
            break;
        case RES_ACCEPTED:
            on_accepted(srv, ev);
            break;
        case RES_REPLY:
            on_reply(srv, ev);
            break;
        case RES_DISCONNECT:
            if ((s = find_any(ev->meta.session_id)))
                end_session(srv, s, false, "client disconnected");
            break;
        default:
            break;
        }
        free(ev);
    }
}

static void sweep(struct server *srv)
{
    uint64_t now = clock_monotonic_ms();
    uint64_t idle_ms = (uint64_t)srv->cfg->session_timeout_s * 1000;
    for (int i = n_all - 1; i >= 0; i--) {
        struct session *s = all[i];
        /* Current rates for the status tool (the counters belong to the data threads; a
         * relaxed read of a 64-bit counter is at worst one batch old). */
        uint64_t rx = __atomic_load_n(&s->rx_bytes, __ATOMIC_RELAXED);
        uint64_t tx = __atomic_load_n(&s->tx_bytes, __ATOMIC_RELAXED);
        if (s->rate_at_ms && now > s->rate_at_ms) {
            s->rx_bps = (rx - s->rate_rx_bytes) * 8000 / (now - s->rate_at_ms);
            s->tx_bps = (tx - s->rate_tx_bytes) * 8000 / (now - s->rate_at_ms);
        }
        s->rate_rx_bytes = rx;
        s->rate_tx_bytes = tx;
        s->rate_at_ms = now;
        if (s->retire_at_ms && now >= s->retire_at_ms)
            end_session(srv, s, true, "replaced by a new handshake");
        else if (now - __atomic_load_n(&s->last_rx_ms, __ATOMIC_RELAXED) > idle_ms)
            end_session(srv, s, true, "idle timeout");
    }
    for (int i = 0; i < PENDING_MAX; i++)
        if (pendings[i].used && now - pendings[i].at_ms > PENDING_TIMEOUT_MS)
            release_pending(srv, &pendings[i]);
}

/* A user removed from the users file, or given a new token: its sessions end now (DISCONNECT
 * sealed first; the enclave has already made their keys unusable). */
static void end_sessions_of(const char *user, bool removed, void *arg)
{
    struct server *srv = arg;
    static const uint8_t reason = 0;
    for (int i = n_all - 1; i >= 0; i--) {
        struct session *s = all[i];
        if (strcmp(s->username, user) != 0)
            continue;
        struct sockaddr_in6 ep;
        session_get_endpoint(s, &ep);
        ctl_push(srv, s->worker, OP_SEAL_CONTROL, s->id, MSG_DISCONNECT, &reason, 1, &ep, 0);
        end_session(srv, s, true, removed ? "user removed" : "user's token changed");
    }
}

/* The enclave died: every key died with it. The sessions end here too (their clients notice
 * and handshake with the new enclave), and handshakes in flight are forgotten. */
static void enclave_lost(void *arg)
{
    struct server *srv = arg;
    int n = 0;
    for (int i = n_all - 1; i >= 0; i--, n++)
        end_session(srv, all[i], false, "the enclave restarted");
    for (int i = 0; i < PENDING_MAX; i++)
        if (pendings[i].used)
            release_pending(srv, &pendings[i]);
    if (n)
        log_warn("%d session(s) ended with the enclave", n);
}

void control_disconnect_all(struct server *srv)
{
    static const uint8_t reason = 0;
    for (int i = 0; i < n_all; i++) {
        struct sockaddr_in6 ep;
        if (all[i]->retire_at_ms)
            continue;
        session_get_endpoint(all[i], &ep);
        /* More sessions than the control ring holds: let the worker catch up (bounded). */
        for (int tries = 0; tries < 100; tries++) {
            if (ctl_push(srv, all[i]->worker, OP_SEAL_CONTROL, all[i]->id, MSG_DISCONNECT,
                         &reason, 1, &ep, 0))
                break;
            usleep(1000);
        }
    }
    /* Let the workers seal and the TX thread send (a few ms); give up after 500 ms. */
    for (int t = 0; t < 50; t++) {
        bool busy = false;
        for (int w = 0; w < srv->enclave.workers; w++)
            busy |= ring_available(&srv->enclave.rings[w].in_ctl) ||
                    ring_available(&srv->enclave.rings[w].out_enc);
        if (!busy)
            break;
        usleep(10000);
    }
    if (n_all)
        log_info("Sent DISCONNECT to %d client(s)", srv->live_sessions);
}

void control_foreach_session(void (*fn)(const struct session *s, void *ctx), void *ctx)
{
    for (int i = 0; i < n_all; i++)
        fn(all[i], ctx);
}

int control_run(struct server *srv)
{
    uint64_t next_sweep = clock_monotonic_ms() + SWEEP_MS;
    const struct enclave_events ev = { .user_ended = end_sessions_of, .lost = enclave_lost,
                                       .ctx = srv };
    rcu_register_thread();
    for (;;) {
        struct pollfd p[5] = {
            { .fd = srv->signal_fd, .events = POLLIN },
            { .fd = srv->event_fd, .events = POLLIN },
            { .fd = srv->enclave.ctl_fd, .events = POLLIN },
            { .fd = srv->control_fd, .events = POLLIN },
            { .fd = srv->enclave.launcher.fd, .events = POLLIN },
        };
        uint64_t before = clock_monotonic_ms();
        int timeout = SWEEP_MS;
        if (srv->enclave.state == ENCLAVE_DOWN && !srv->enclave.awaiting_exit)
            timeout = srv->enclave.retry_at_ms > before ? (int)(srv->enclave.retry_at_ms - before)
                                                        : 0;
        rcu_thread_offline();
        int n = poll(p, 5, timeout < SWEEP_MS ? timeout : SWEEP_MS);
        rcu_thread_online();
        if (n < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(srv->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP) {
                    log_info("SIGHUP: reloading users and QoS classes");
                    enclave_reload_users(&srv->enclave);
                    control_reload(srv);
                } else {
                    log_info("Received %s, shutting down...",
                             si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                    break;
                }
            }
        }
        if (p[1].revents & POLLIN)
            drain_events(srv);
        if (p[2].revents & (POLLIN | POLLHUP))
            enclave_handle_report(&srv->enclave, &ev);
        if (p[4].revents & (POLLIN | POLLHUP) && !enclave_handle_launcher(&srv->enclave, &ev)) {
            log_error("Stopping: without its launcher the enclave cannot come back");
            rcu_unregister_thread();
            return 1;
        }
        enclave_tick(&srv->enclave, clock_monotonic_ms());
        if (srv->control_fd >= 0 && (p[3].revents & POLLIN))
            control_socket_serve(srv);
        uint64_t now = clock_monotonic_ms();
        if (now >= next_sweep) {
            sweep(srv);
            rcu_quiescent_state();
            next_sweep = now + SWEEP_MS;
        }
    }
    rcu_unregister_thread();
    return 0;
}
