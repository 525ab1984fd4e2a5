/* The client's side of PROTOCOL.md: handshake with retries and backoff, clock offset,
 * keepalive, dead-peer detection, rekey with overlap, DISCONNECT. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "vpn/cookie.h"
#include "refusal.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/proto.h"
#include "vpn/tun.h"

enum {
    HANDSHAKE_TIMEOUT_MS = 1000,    /* first retry; doubles per attempt */
    BACKOFF_MAX_MS = 30000,
    FIRST_CONNECT_TIMEOUT_MS = 30000,
};

uint64_t conn_server_time(const struct client *c)
{
    return (uint64_t)((int64_t)clock_realtime_ms() +
                      __atomic_load_n(&c->clock_offset, __ATOMIC_RELAXED));
}

static uint64_t backoff_ms(unsigned attempt)
{
    uint64_t ms = HANDSHAKE_TIMEOUT_MS;
    for (unsigned i = 1; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    /* Jitter, so that many clients of a restarted server do not come back in lockstep. */
    return ms + randombytes_uniform((uint32_t)(ms / 4) + 1);
}

static void send_request(struct client *c, uint64_t ts)
{
    uint8_t e_priv[KEY_LEN];
    randombytes_buf(e_priv, sizeof(e_priv));
    hs_client_wipe(&c->hs);
    bool ok = hs_client_request(&c->hs, e_priv, c->s_pub, c->cfg->username, c->cfg->auth_token,
                                ts, c->request);
    sodium_memzero(e_priv, sizeof(e_priv));
    if (!ok) {
        log_error("The server public key is unusable");
        return;
    }
    c->last_request_ts = ts;
    c->request_sent_ms = clock_realtime_ms();
    c->request_sent_mono = clock_monotonic_ms();
    /* A server under load asked for proof that we receive at our address (extension 3). */
    if (c->cookie_at_mono && c->request_sent_mono - c->cookie_at_mono < COOKIE_USE_MS)
        cookie_mac2(c->request + HDR_LEN + REQ_MAC2_OFF, c->cookie, c->request);
    if (send(c->udp_fd, c->request, CONNECT_REQ_LEN, 0) < 0) {
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "Cannot reach %s: %s", c->server_text, strerror(errno));
    }
}

/* Sends the next request of the current handshake sequence. */
static void retry_handshake(struct client *c)
{
    uint64_t now = clock_monotonic_ms();
    c->attempt++;
    c->stale_retry_used = false;
    c->retry_due = false;
    /* Request timestamps strictly increase, whatever the local clock does (PROTOCOL.md). */
    uint64_t ts = (uint64_t)((int64_t)clock_realtime_ms() + c->request_ts_shift);
    if (ts <= c->last_request_ts)
        ts = c->last_request_ts + 1;
    send_request(c, ts);
    c->next_attempt_mono = now + backoff_ms(c->attempt);
}

void conn_start_handshake(struct client *c)
{
    if (c->state == CLIENT_IDLE)
        c->state = CLIENT_HANDSHAKE;
    c->attempt = 0;
    c->first_attempt_mono = clock_monotonic_ms();
    retry_handshake(c);
}

static void wipe_session(struct client_session *s)
{
    sodium_memzero(s, sizeof(*s));
}

/* The pushed routes that pass the policy (push_policy.h); each refused one is named once. */
static void install_routes(struct client *c)
{
    const struct hs_config *k = &c->config;
    char ip[16], ep[16];
    int ignored = 0;
    for (int i = 0; i < k->route_count; i++) {
        uint32_t net = k->routes[i].net & ipv4_mask(k->routes[i].prefix);
        uint8_t prefix = k->routes[i].prefix;
        int rc;
        switch (push_route_verdict(&c->policy, net, prefix)) {
        case ROUTE_INSTALL:
            rc = tun_add_route(c->tun_name, net, prefix);
            if (rc != 0)
                log_warn("Cannot add route %s/%u: %s", format_ipv4(net, ip), prefix,
                         strerror(-rc));
            break;
        case ROUTE_SKIP_NOT_PULLING:
            ignored++;
            break;
        case ROUTE_SKIP_NOT_ACCEPTED:
            log_warn("Not installing pushed route %s/%u: outside [network] accept_routes",
                     format_ipv4(net, ip), prefix);
            break;
        case ROUTE_SKIP_COVERS_ENDPOINT:
            /* Full tunnels need a host route to the server via the original gateway first
             * (push_policy.h, endpoint_host_route); until then such a route would send the
             * tunnel's own datagrams into the tunnel and cut it. */
            log_warn("Not installing pushed route %s/%u: it covers the server's address %s, "
                     "so the tunnel's own packets would go into the tunnel",
                     format_ipv4(net, ip), prefix, format_ipv4(c->policy.endpoint, ep));
            break;
        }
    }
    if (ignored)
        log_info("Ignoring %d pushed route(s): [network] pull_routes = false", ignored);
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
    install_routes(c);
    c->tun_configured = true;
    c->tun_ip = k->client_ip;
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

static const char *status_text(uint8_t status)
{
    switch (status) {
    case STATUS_AUTH_FAILED: return "Authentication failed: wrong username or auth_token";
    case STATUS_SERVER_FULL: return "Connection refused: the server is full (max_clients)";
    case STATUS_POOL_EXHAUSTED: return "Connection refused: no free VPN address on the server";
    case STATUS_RATE_LIMITED: return "Connection refused: too many handshakes, try later";
    case STATUS_STALE_TIMESTAMP: return "Connection refused: request timestamp too old";
    default: return "Connection refused";
    }
}

int conn_on_response(struct client *c, const uint8_t *buf, size_t len)
{
    struct hs_config cfg;
    struct session_keys keys;
    if (c->hs.request_ts == 0)
        return 0;   /* no request pending: a late or duplicated answer */
    enum hs_client_verdict v = hs_client_response(&c->hs, buf, len, c->cfg->auth_token, &cfg, &keys);
    if (v == HSC_INVALID)
        return 0;
    uint64_t recv_ms = clock_realtime_ms();
    uint64_t resp_ts = get_be64(buf + 8);
    if (v == HSC_REJECTED) {
        if (cfg.status == STATUS_STALE_TIMESTAMP && !c->stale_retry_used) {
            /* Our clock is behind the server's record (no RTC, or a restarted client that
             * was faster before): retry once with the server's minimum, and stamp later
             * requests relative to it. */
            int64_t shift = (int64_t)resp_ts - (int64_t)recv_ms;
            if (shift > c->request_ts_shift)
                c->request_ts_shift = shift;
            c->stale_retry_used = true;
            send_request(c, resp_ts > c->last_request_ts ? resp_ts : c->last_request_ts + 1);
            return 0;
        }
        /* Answered: a replay of this answer now finds no request pending. */
        hs_client_wipe(&c->hs);
        switch (refusal_decide(cfg.status, c->ever_connected, &c->refusals_in_a_row)) {
        case REFUSAL_EXIT:
            if (c->ever_connected)
                log_error("%s (%u times in a row): giving up", status_text(cfg.status),
                          c->refusals_in_a_row);
            else
                log_error("%s", status_text(cfg.status));
            return -1;
        case REFUSAL_RETRY_WARN:
            log_warn("%s (%u in a row, giving up at %d): retrying", status_text(cfg.status),
                     c->refusals_in_a_row, REFUSALS_IN_A_ROW_MAX);
            break;
        case REFUSAL_RETRY:
            log_warn("%s: retrying", status_text(cfg.status));
            break;
        }
        c->retry_due = true;    /* conn_tick sends the next request after the backoff */
        return 0;
    }
    if (!accept_config(c, &cfg)) {
        /* As if unanswered: the request stays pending and is retried after its backoff. */
        sodium_memzero(&keys, sizeof(keys));
        return 0;
    }
    /* Accepted: the new session replaces the current one, which keeps receiving for the
     * overlap (the server may still have packets in flight on it). */
    uint64_t now = clock_monotonic_ms();
    struct client_session *fresh = &c->slots[c->next_slot++ % 4];
    /* The slot two handshakes old: not current, not in its overlap, unused for a while. */
    wipe_session(fresh);
    if (c->cur) {
        if (c->prev && c->prev != c->cur)
            wipe_session(c->prev);
        c->prev = c->cur;
        c->prev->retire_at_ms = now + REKEY_OVERLAP_MS;
    }
    fresh->live = true;
    fresh->id = cfg.session_id;
    memcpy(fresh->k_c2s, keys.k_c2s, KEY_LEN);
    memcpy(fresh->k_s2c, keys.k_s2c, KEY_LEN);
    sodium_memzero(&keys, sizeof(keys));
    replay_init(&fresh->rx);
    fresh->started_ms = now;
    c->cur = fresh;
    hs_client_wipe(&c->hs);
    __atomic_store_n(&c->clock_offset,
                     (int64_t)resp_ts - (int64_t)((c->request_sent_ms + recv_ms) / 2),
                     __ATOMIC_RELAXED);
    c->config = cfg;
    c->last_rx_mono = now;
    c->last_tx_mono = now;
    bool first = !c->ever_connected;
    bool was_connected = c->state == CLIENT_CONNECTED;
    c->state = CLIENT_CONNECTED;
    c->attempt = 0;
    c->retry_due = false;
    c->refusals_in_a_row = 0;
    c->refused_why = NULL;
    char ip[16];
    if (first || !was_connected) {
        log_info("Authentication successful");
        log_info("VPN IP assigned: %s", format_ipv4(cfg.client_ip, ip));
    } else {
        log_debug("Rekeyed: session %08x", cfg.session_id);
    }
    if (configure_tun(c) != 0)
        return -1;
    __atomic_store_n(&c->tx, c->cur, __ATOMIC_RELEASE);   /* the TUN thread sends on it now */
    if (first) {
        log_info("TUN interface configured");
        log_info("Connected! You can now access internal network.");
    } else if (!was_connected) {
        log_info("Reconnected");
    }
    c->ever_connected = true;
    return 0;
}

int conn_tick(struct client *c)
{
    uint64_t now = clock_monotonic_ms();
    if (c->prev && now >= c->prev->retire_at_ms) {
        wipe_session(c->prev);
        c->prev = NULL;
    }
    /* A handshake in progress (first, reconnect or rekey) is retried with backoff. */
    if (c->state == CLIENT_HANDSHAKE || c->hs.request_ts || c->retry_due) {
        if (now >= c->next_attempt_mono) {
            if (!c->ever_connected && now - c->first_attempt_mono >= FIRST_CONNECT_TIMEOUT_MS) {
                if (c->refused_why)
                    log_error("Connection timeout: the session configuration %s sent was "
                              "refused: %s", c->server_text, c->refused_why);
                else
                    log_error("Connection timeout: no answer from %s (firewall? wrong "
                              "server_public_key?)", c->server_text);
                return -1;
            }
            if (c->attempt == 1 && !c->ever_connected && !c->refused_why)
                log_warn("No response from %s yet, retrying", c->server_text);
            retry_handshake(c);
        }
    }
    if (c->state != CLIENT_CONNECTED)
        return 0;
    uint64_t ka = (uint64_t)c->config.keepalive_s * 1000;
    if (ka && now - c->last_rx_mono > 3 * ka) {
        log_warn("No answer from the server for %llu s: reconnecting",
                 (unsigned long long)((now - c->last_rx_mono) / 1000));
        c->state = CLIENT_HANDSHAKE;
        conn_drop_sessions(c);
        conn_start_handshake(c);
        return 0;
    }
    if (ka && now - __atomic_load_n(&c->last_tx_mono, __ATOMIC_RELAXED) >= ka)
        datapath_send(c, MSG_PING, NULL, 0);
    if (c->config.rekey_s && !c->hs.request_ts && !c->retry_due && c->cur &&
        now - c->cur->started_ms >= (uint64_t)c->config.rekey_s * 1000)
        conn_start_handshake(c);
    return 0;
}

void conn_send_disconnect(struct client *c)
{
    static const uint8_t reason = 0;
    if (c->state == CLIENT_CONNECTED && c->cur)
        datapath_send(c, MSG_DISCONNECT, &reason, 1);
}

void conn_drop_sessions(struct client *c)
{
    __atomic_store_n(&c->tx, NULL, __ATOMIC_RELEASE);
    /* Slots are wiped when reused (see conn_on_response), not here: the TUN thread may be in
     * the middle of a batch on the current one. */
    c->cur = c->prev = NULL;
}

void conn_wipe(struct client *c)
{
    __atomic_store_n(&c->tx, NULL, __ATOMIC_RELEASE);
    for (int i = 0; i < 4; i++)
        wipe_session(&c->slots[i]);
    hs_client_wipe(&c->hs);
    sodium_memzero(c->cfg->auth_token, sizeof(c->cfg->auth_token));
}

/* SESSION_UNKNOWN (docs/PROTOCOL.md, extension 2) is not authenticated, so it is believed
 * only when it names our current session and a counter we have already sent, when nothing
 * authenticated has arrived for HINT_QUIET_MS, and when no hint started a handshake in the
 * last HINT_MIN_INTERVAL_MS. The current session stays in use until the new one is made: a
 * forged hint costs one handshake, nothing more. */
enum { HINT_QUIET_MS = 1000, HINT_MIN_INTERVAL_MS = 5000 };

void conn_on_session_unknown(struct client *c, uint32_t sid, uint64_t counter)
{
    uint64_t now = clock_monotonic_ms();
    /* Not while a handshake is under way, nor while a refusal's backoff runs. */
    if (c->state != CLIENT_CONNECTED || !c->cur || c->cur->id != sid || c->hs.request_ts ||
        c->retry_due)
        return;
    if (counter >= __atomic_load_n(&c->cur->send_counter, __ATOMIC_RELAXED))
        return;
    if (now - c->last_rx_mono < HINT_QUIET_MS ||
        (c->last_hint_mono && now - c->last_hint_mono < HINT_MIN_INTERVAL_MS))
        return;
    c->last_hint_mono = now;
    log_warn("The server no longer knows our session (it or its enclave restarted): "
             "handshaking again");
    conn_start_handshake(c);
}

/* A COOKIE_REPLY (docs/PROTOCOL.md, extension 3): the server is under load. It is believed
 * only when it opens with the key from the server's public key and our pending request's
 * mac1; then the request goes again at once, with mac2 (a new request: new timestamp and
 * ephemeral key), at most once per COOKIE_RESEND_MIN_MS. */
enum { COOKIE_RESEND_MIN_MS = 200, COOKIE_RETRY_MS = 300 };

void conn_on_cookie(struct client *c, const uint8_t *buf, size_t len)
{
    uint8_t key[32], cookie[COOKIE_LEN];
    if (!c->hs.request_ts)
        return;
    cookie_key(key, c->s_pub);
    if (!cookie_reply_open(buf, len, key, c->request + HDR_LEN + REQ_MAC1_OFF, cookie))
        return;
    uint64_t now = clock_monotonic_ms();
    memcpy(c->cookie, cookie, sizeof(c->cookie));
    bool resend = !c->cookie_at_mono || now - c->cookie_at_mono >= COOKIE_RESEND_MIN_MS;
    c->cookie_at_mono = now;
    if (!resend)
        return;
    log_debug("The server is under load: handshaking again with its cookie");
    uint64_t ts = (uint64_t)((int64_t)clock_realtime_ms() + c->request_ts_shift);
    send_request(c, ts > c->last_request_ts ? ts : c->last_request_ts + 1);
    /* The server is there and answers, but a loaded path may lose a datagram: try again soon
     * rather than after the usual backoff. */
    c->next_attempt_mono = now + COOKIE_RETRY_MS;
}
