/* The client's side of PROTOCOL.md, carried out: the state machine (state.c) decides, this
 * file does what it asks (builds and sends requests, opens responses and cookie replies,
 * configures the TUN, installs and drops sessions, sends PING and DISCONNECT) and logs. */
#include "conn.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "refusal.h"
#include "underlay.h"
#include "vpn/cookie.h"
#include "vpn/dns.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/tun.h"

/* An input for the state machine at the present moment. */
static struct sm_input input(enum sm_input_type type)
{
    struct sm_input in = { .type = type };
    in.mono_ms = clock_monotonic_ms();
    in.real_ms = clock_realtime_ms();
    in.jitter = randombytes_random();
    return in;
}

static void send_request(struct client *c, const struct sm_output *out)
{
    uint8_t e_priv[KEY_LEN];
    randombytes_buf(e_priv, sizeof(e_priv));
    hs_client_wipe(&c->hs);
    /* The device id (extension 5) as device.h's policy says; the WINDOW flag as the state
     * machine chose. */
    uint8_t flags = out->request_flags;
    const uint8_t *device = NULL;
    if (device_policy_send(&c->device, flags & REQ_FLAG_WINDOW)) {
        flags |= REQ_FLAG_DEVICE;
        device = c->device_id;
    }
    bool ok = hs_client_request_device(&c->hs, e_priv, c->s_pub, c->cfg->username,
                                       c->cfg->auth_token, out->request_ts, flags, device,
                                       c->request);
    sodium_memzero(e_priv, sizeof(e_priv));
    if (!ok) {
        log_error("The server public key is unusable");
        return;
    }
    if (out->with_cookie)
        cookie_mac2(c->request + HDR_LEN + REQ_MAC2_OFF, c->cookie, c->request);
    if (send(c->udp_fd, c->request, CONNECT_REQ_LEN, 0) < 0) {
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "Cannot reach %s: %s", c->server_text, strerror(errno));
    }
}

/* Adds net to the request unless it is there already (parts of two pushed routes may be the
 * same allowed network). */
static void add_route(struct helper_request *q, struct ipv4_net net)
{
    for (uint32_t i = 0; i < q->n_routes; i++)
        if (q->routes[i].addr == net.addr && q->routes[i].prefix == net.prefix)
            return;
    if (q->n_routes < ROUTES_MAX)
        q->routes[q->n_routes++] = net;
}

/* The pushed routes that pass the policy (push_policy.h), each refused or narrowed one named
 * once. */
static void choose_routes(struct client *c, struct helper_request *q)
{
    const struct hs_config *k = &c->config;
    char ip[16], part[16];
    int ignored = 0;
    for (int i = 0; i < k->route_count; i++) {
        struct ipv4_net parts[PUSH_ROUTE_PARTS_MAX];
        int n;
        uint8_t prefix = k->routes[i].prefix;
        uint32_t net = k->routes[i].net & ipv4_mask(prefix);
        switch (push_route_parts(&c->policy, net, prefix, parts, &n)) {
        case ROUTE_INSTALL:
            add_route(q, parts[0]);
            break;
        case ROUTE_INSTALL_PARTS:
            for (int j = 0; j < n; j++) {
                log_info("Pushed route %s/%u: installing its part %s/%u ([network] "
                         "allowed_routes)", format_ipv4(net, ip), prefix,
                         format_ipv4(parts[j].addr, part), parts[j].prefix);
                add_route(q, parts[j]);
            }
            break;
        case ROUTE_SKIP_NOT_PULLING:
            ignored++;
            break;
        case ROUTE_SKIP_NOT_ALLOWED:
            log_warn("Not installing pushed route %s/%u: outside [network] allowed_routes",
                     format_ipv4(net, ip), prefix);
            break;
        }
    }
    if (ignored)
        log_info("Ignoring %d pushed route(s): [network] pull_routes = false", ignored);
}

/* The pushed resolvers (extension 4) unless [network] pull_dns = false; one the rules refuse
 * (vpn/dns.h: 127.0.0.1 would be the client's own) is skipped with a warning. */
static void choose_dns(struct client *c, struct helper_request *q)
{
    const struct hs_config *k = &c->config;
    char ip[16];
    if (!c->cfg->pull_dns || !k->dns_block)
        return;
    for (int i = 0; i < k->dns_count; i++) {
        const char *why = dns_server_check(k->dns[i]);
        if (why)
            log_warn("Not using pushed resolver %s: %s", format_ipv4(k->dns[i], ip), why);
        else
            q->dns[q->n_dns++] = k->dns[i];
    }
    memcpy(q->dns_search, k->dns_search, sizeof(q->dns_search));
}

/* The session's routes and resolvers to the helper, when they differ from what it has.
 * Returns true when a request went (its answer comes to conn_helper). */
static bool apply_routes_and_dns(struct client *c)
{
    struct helper_request q;
    char list[ROUTES_MAX * 20 + 1], ip[16];
    memset(&q, 0, sizeof(q));
    q.op = HELPER_APPLY;
    choose_routes(c, &q);
    choose_dns(c, &q);
    if (memcmp(&q, &c->applied, sizeof(q)) == 0)
        return false;
    size_t n = 0;
    list[0] = '\0';
    for (uint32_t i = 0; i < q.n_routes && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s/%u", i ? ", " : "",
                              format_ipv4(q.routes[i].addr, ip), q.routes[i].prefix);
    if (q.n_routes)
        log_info("Routing into the tunnel: %s (table %u)", list, c->cfg->route_table);
    n = 0;
    list[0] = '\0';
    for (uint32_t i = 0; i < q.n_dns && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                              format_ipv4(q.dns[i], ip));
    if (q.n_dns || q.dns_search[0])
        log_info("Using the pushed resolvers: %s%s%s", q.n_dns ? list : "(none)",
                 q.dns_search[0] ? ", search " : "", q.dns_search);
    int rc = helper_send(&c->helper, &q);
    if (rc != 0) {
        log_error("Cannot reach the helper for routes and resolvers: %s", strerror(-rc));
        return false;
    }
    c->applied = q;
    return true;
}

/* The lines that say the tunnel is usable, once its routes are in place. */
static void announce(struct client *c)
{
    if (c->announce == NOTE_CONNECTED) {
        log_info("TUN interface configured");
        log_info("Connected! You can now access internal network.");
    } else if (c->announce == NOTE_RECONNECTED) {
        log_info("Reconnected");
    }
    c->announce = NOTE_NONE;
}

static int configure_tun(struct client *c)
{
    const struct hs_config *k = &c->config;
    if (c->tun_configured && c->tun_ip == k->client_ip)
        return 0;
    const char *step;
    int rc = tun_configure(c->tun_name, k->client_ip, k->prefix_len, k->mtu, &step);
    if (rc != 0) {
        log_error("Failed to configure %s (%s): %s", c->tun_name, step, strerror(-rc));
        return -1;
    }
    c->tun_configured = true;
    c->tun_ip = k->client_ip;
    /* The kernel removed every route through the device with its old address (all tables):
     * the helper must install them again. */
    memset(&c->applied, 0, sizeof(c->applied));
    return 0;
}

/* The parts of an accepted response we use as they are must pass push_check_tunnel; the MTU
 * is clamped. Returns false when the response must be refused. */
static bool accept_config(struct client *c, struct hs_config *cfg)
{
    char ip[16], gw[16];
    const char *bad = push_check_tunnel(cfg);
    if (bad) {
        /* Only the holder of the server key can send this, and at most once per request we
         * send (backoff), but a broken server would repeat it: limited all the same. */
        static struct log_limit lim;
        log_limited(&lim, LOG_ERROR, "Refused the server's session configuration: %s "
                    "(address %s, server %s/%u); retrying later", bad,
                    format_ipv4(cfg->client_ip, ip), format_ipv4(cfg->server_ip, gw),
                    cfg->prefix_len);
        c->refused_why = bad;
        return false;
    }
    uint16_t mtu = push_clamp_mtu(cfg->mtu);
    if (mtu != cfg->mtu) {
        log_warn("The server pushed MTU %u, outside %d..%d: using %u", cfg->mtu, MTU_MIN,
                 MTU_MAX, mtu);
        cfg->mtu = mtu;
    }
    return true;
}

static const char *status_text(const struct client *c, uint8_t status)
{
    const char *why = refusal_text(status, c->refusal);
    if (why)
        return why;
    switch (status) {
    case STATUS_AUTH_FAILED: return "Authentication failed: wrong username or auth_token";
    case STATUS_SERVER_FULL:
        return "Connection refused: the server is full (max_clients), or this user has as "
               "many devices online as it may (max_devices)";
    case STATUS_POOL_EXHAUSTED: return "Connection refused: no free VPN address on the server";
    case STATUS_RATE_LIMITED: return "Connection refused: too many handshakes, try later";
    case STATUS_STALE_TIMESTAMP: return "Connection refused: request timestamp too old";
    default: return "Connection refused";
    }
}

static void log_note(struct client *c, const struct sm_output *out)
{
    char ip[16];
    switch (out->note) {
    case NOTE_NONE:
        break;
    case NOTE_NO_ANSWER_YET:
        log_warn("No response from %s yet, retrying", c->server_text);
        break;
    case NOTE_TIMEOUT_UNUSABLE:
        log_error("Connection timeout: the session configuration %s sent was refused: %s",
                  c->server_text, c->refused_why ? c->refused_why : "?");
        break;
    case NOTE_TIMEOUT:
        log_error("Connection timeout: no answer from %s (firewall? wrong server_public_key?)",
                  c->server_text);
        break;
    case NOTE_CONNECTED:
    case NOTE_RECONNECTED:
        log_info("Authentication successful");
        log_info("VPN IP assigned: %s", format_ipv4(c->config.client_ip, ip));
        break;
    case NOTE_REKEYED:
        log_debug("Rekeyed: session %08x", c->config.session_id);
        break;
    case NOTE_DEAD_PEER:
        log_warn("No answer from the server for %llu s: reconnecting",
                 (unsigned long long)(out->quiet_ms / 1000));
        break;
    case NOTE_SERVER_ENDED:
        log_warn("The server ended the session: reconnecting");
        break;
    case NOTE_HINT:
        log_warn("The server no longer knows our session (it or its enclave restarted): "
                 "handshaking again");
        break;
    case NOTE_COOKIE:
        log_debug("The server is under load: handshaking again with its cookie");
        break;
    case NOTE_REFUSED_EXIT:
        if (c->sm.ever_connected)
            log_error("%s (%u times in a row): giving up", status_text(c, out->status),
                      out->in_a_row);
        else
            log_error("%s", status_text(c, out->status));
        break;
    case NOTE_REFUSED_RETRY_WARN:
        log_warn("%s (%u in a row, giving up at %d): retrying", status_text(c, out->status),
                 out->in_a_row, REFUSALS_IN_A_ROW_MAX);
        break;
    case NOTE_REFUSED_RETRY:
        log_warn("%s: retrying", status_text(c, out->status));
        break;
    }
}

/* The accepted session becomes current: keys into a slot, the TUN configured for it. */
static int install(struct client *c, const struct sm_output *out, const struct hs_config *cfg,
                   const struct session_keys *keys)
{
    /* Receiver step 6: the server's window, pushed when we asked for it (extension 1's WINDOW
     * flag), else the default every server uses unless configured otherwise; plus our
     * estimate's error (vpn/limits.h). */
    c->window_pushed = cfg->replay_window_ms != 0;
    c->server_window_ms = c->window_pushed ? cfg->replay_window_ms : REPLAY_WINDOW_MS_DEFAULT;
    slots_install(&c->slots, cfg->session_id, keys, c->server_window_ms + CLIENT_CLOCK_SLACK_MS,
                  cfg->mtu);     /* a slot is free: on_response checked */
    c->config = *cfg;
    c->refused_why = NULL;
    __atomic_store_n(&c->clock_offset, out->clock_offset, __ATOMIC_RELAXED);
    __atomic_store_n(&c->last_tx_mono, clock_monotonic_ms(), __ATOMIC_RELAXED);
    log_note(c, out);
    if (configure_tun(c) != 0)
        return -1;
    /* "Connected!" means what it says: when routes or resolvers change, it waits for the
     * helper's answer (conn_helper), a few milliseconds. */
    c->announce = out->note;
    if (!apply_routes_and_dns(c))
        announce(c);
    return 0;
}

/* Carries out one step's actions, in the order state.h lists them. cfg and keys: the
 * accepted response's, for SM_DO_INSTALL. Returns -1 when the client must exit. */
static int apply(struct client *c, const struct sm_output *out, const struct hs_config *cfg,
                 const struct session_keys *keys)
{
    static const uint8_t reason = DISCONNECT_REASON_NORMAL;
    if (out->todo & SM_DO_DROP_SESSIONS) {
        slots_drop(&c->slots);
        /* A reconnect: the server may have a new address (dynamic DNS), we a new network. */
        underlay_want_lookup(c, clock_monotonic_ms());
    }
    if (out->todo & SM_DO_RETIRE_PREVIOUS)
        slots_retire_previous(&c->slots);
    if (out->todo & SM_DO_FORGET_REQUEST)
        hs_client_wipe(&c->hs);
    if (out->todo & SM_DO_INSTALL) {
        if (install(c, out, cfg, keys) != 0)
            return -1;
    } else {
        log_note(c, out);
    }
    if (out->todo & SM_DO_REQUEST)
        send_request(c, out);
    if (out->todo & SM_DO_PING)
        datapath_send(c, MSG_PING, NULL, 0);
    if (out->todo & SM_DO_DISCONNECT)
        datapath_send(c, MSG_DISCONNECT, &reason, 1);
    return out->todo & SM_DO_EXIT ? -1 : 0;
}

static int step(struct client *c, const struct sm_input *in)
{
    struct sm_output out;
    client_sm_step(&c->sm, in, &out);
    return apply(c, &out, NULL, NULL);
}

void conn_start(struct client *c)
{
    struct sm_input in = input(SM_START);
    step(c, &in);
}

int conn_tick(struct client *c)
{
    slots_tick(&c->slots);
    struct sm_input in = input(SM_TICK);
    underlay_tick(c, in.mono_ms, in.jitter);
    in.last_tx_ms = __atomic_load_n(&c->last_tx_mono, __ATOMIC_RELAXED);
    return step(c, &in);
}

void conn_stop(struct client *c)
{
    struct sm_input in = input(SM_STOP);
    step(c, &in);
}

void conn_wipe(struct client *c)
{
    slots_wipe(&c->slots);
    hs_client_wipe(&c->hs);
    sodium_memzero(c->cookie, sizeof(c->cookie));
    sodium_memzero(c->cfg->auth_token, sizeof(c->cfg->auth_token));
}

/* A CONNECT_RESP: opened against the pending request, then judged by the state machine. */
static int on_response(struct client *c, const struct client_event *ev)
{
    struct hs_config cfg;
    struct session_keys keys;
    if (!c->sm.pending || c->hs.request_ts == 0)
        return EV_DROPPED;  /* no request pending: a late or duplicated answer */
    enum hs_client_verdict v = hs_client_response(&c->hs, ev->buf, ev->len, c->cfg->auth_token,
                                                  &cfg, &keys);
    if (v == HSC_INVALID)
        return EV_DROPPED;
    device_policy_answered(&c->device, true);
    struct sm_input in = input(SM_REFUSED);
    in.server_ts = get_be64(ev->buf + 8);
    int rc;
    if (v == HSC_REJECTED) {
        in.status = cfg.status;
        c->refusal = cfg.refusal;
        rc = step(c, &in);
    } else if (!accept_config(c, &cfg)) {
        in.type = SM_UNUSABLE;
        rc = step(c, &in);
    } else if (!slots_available(&c->slots)) {
        /* The TUN thread is still inside a batch on a session two handshakes old (slots.h):
         * as if unanswered, the next attempt comes after the backoff. */
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "No free session slot yet: the new session is dropped");
        c->refused_why = "no free session slot";
        in.type = SM_UNUSABLE;
        rc = step(c, &in);
    } else {
        struct sm_output out;
        in.type = SM_ACCEPTED;
        in.sid = cfg.session_id;
        in.keepalive_s = cfg.keepalive_s;
        in.rekey_s = cfg.rekey_s;
        client_sm_step(&c->sm, &in, &out);
        rc = apply(c, &out, &cfg, &keys);
    }
    sodium_memzero(&keys, sizeof(keys));
    return rc < 0 ? EV_EXIT : EV_TAKEN;
}

/* A SESSION_UNKNOWN hint: taken only when the state machine believes it (state.c). */
static int on_hint(struct client *c, const struct sm_input *in)
{
    struct sm_output out;
    client_sm_step(&c->sm, in, &out);
    if (apply(c, &out, NULL, NULL) < 0)
        return EV_EXIT;
    return out.note == NOTE_HINT ? EV_TAKEN : EV_DROPPED;
}

/* A COOKIE_REPLY (docs/PROTOCOL.md, extension 3): the server is under load. It is believed
 * only when it opens with the key from the server's public key and our pending request's
 * mac1; the state machine decides whether the request goes again at once. */
static int on_cookie(struct client *c, const struct client_event *ev)
{
    uint8_t key[32], cookie[COOKIE_LEN];
    if (!c->sm.pending || !c->hs.request_ts)
        return EV_DROPPED;
    cookie_key(key, c->s_pub);
    if (!cookie_reply_open(ev->buf, ev->len, key, c->request + HDR_LEN + REQ_MAC1_OFF, cookie))
        return EV_DROPPED;
    memcpy(c->cookie, cookie, sizeof(c->cookie));
    sodium_memzero(cookie, sizeof(cookie));
    device_policy_answered(&c->device, false);
    struct sm_input in = input(SM_COOKIE);
    return step(c, &in) < 0 ? EV_EXIT : EV_TAKEN;
}

int conn_helper(struct client *c)
{
    struct helper_reply rep;
    int rc;
    while ((rc = helper_recv(&c->helper, &rep)) == 0) {
        struct sm_input in = input(SM_TICK);
        switch (rep.op) {
        case HELPER_RESOLVE:
            if (underlay_on_lookup(c, &rep, in.mono_ms, in.jitter))
                conn_start(c);
            break;
        case HELPER_APPLY:
            if (rep.status != 0) {
                log_error("Routes or resolvers of the session not in place: %s", rep.why);
                /* Not what the helper has: the next session's apply goes again. */
                memset(&c->applied, 0, sizeof(c->applied));
            }
            announce(c);
            break;
        default:
            break;
        }
    }
    if (rc == -EAGAIN)
        return 0;
    log_error("The client's helper has gone: routes, resolvers and lookups are out of reach");
    c->helper.fd = -1;
    return -1;
}

int conn_event(struct client *c, const struct client_event *ev)
{
    /* Neither kind below can start a request at once but a hint, whose backoff needs the
     * jitter; traffic, reported once per batch, costs no random number. */
    struct sm_input in = { .type = SM_TRAFFIC, .mono_ms = ev->now_ms };
    if (ev->type == CEV_SESSION_UNKNOWN) {
        in = input(SM_HINT);
        in.mono_ms = ev->now_ms;
    }
    switch (ev->type) {
    case CEV_RESPONSE:
        return on_response(c, ev);
    case CEV_COOKIE_REPLY:
        return on_cookie(c, ev);
    case CEV_SESSION_UNKNOWN:
        in.type = SM_HINT;
        in.sid = ev->sid;
        in.counter = ev->counter;
        in.sent = c->slots.cur ? __atomic_load_n(&c->slots.cur->send_counter, __ATOMIC_RELAXED)
                               : 0;
        return on_hint(c, &in);
    case CEV_DISCONNECT:
        in.type = SM_DISCONNECT;
        in.sid = ev->sid;
        return step(c, &in) < 0 ? EV_EXIT : EV_TAKEN;
    case CEV_TRAFFIC:
        return step(c, &in) < 0 ? EV_EXIT : EV_TAKEN;
    }
    return EV_TAKEN;
}
