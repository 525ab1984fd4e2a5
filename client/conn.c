/* The client's side of PROTOCOL.md: handshake with retries and backoff, clock offset,
 * keepalive, dead-peer detection, rekey with overlap, DISCONNECT. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
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

static int configure_tun(struct client *c)
{
    const struct hs_config *k = &c->config;
    char ip[16];
    if (c->tun_configured && c->tun_ip == k->client_ip)
        return 0;
    const char *step;
    int rc = tun_configure(c->tun_name, k->client_ip, k->prefix_len, k->mtu, &step);
    if (rc != 0) {
        log_error("Failed to configure %s (%s): %s", c->tun_name, step, strerror(-rc));
        return -1;
    }
    for (int i = 0; i < k->route_count; i++) {
        rc = tun_add_route(c->tun_name, k->routes[i].net, k->routes[i].prefix);
        if (rc != 0)
            log_warn("Cannot add route %s/%u: %s", format_ipv4(k->routes[i].net, ip),
                     k->routes[i].prefix, strerror(-rc));
    }
    c->tun_configured = true;
    c->tun_ip = k->client_ip;
    return 0;
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
    if (c->hs.request_ts == 0) {
        c->rx_drops[CRX_RESPONSE]++;
        return 0;   /* no request pending: a late or duplicated answer */
    }
    enum hs_client_verdict v = hs_client_response(&c->hs, buf, len, c->cfg->auth_token, &cfg, &keys);
    if (v == HSC_INVALID) {
        c->rx_drops[CRX_RESPONSE]++;
        return 0;
    }
    c->rx_other++;
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
        log_error("%s", status_text(cfg.status));
        hs_client_wipe(&c->hs);
        if (!c->ever_connected || cfg.status == STATUS_AUTH_FAILED)
            return -1;
        return 0;   /* a known server refusing now: keep retrying with backoff */
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
    if (c->state == CLIENT_HANDSHAKE || c->hs.request_ts) {
        if (now >= c->next_attempt_mono) {
            if (!c->ever_connected && now - c->first_attempt_mono >= FIRST_CONNECT_TIMEOUT_MS) {
                log_error("Connection timeout: no answer from %s (firewall? wrong "
                          "server_public_key?)", c->server_text);
                return -1;
            }
            if (c->attempt == 1 && !c->ever_connected)
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
    if (c->config.rekey_s && !c->hs.request_ts && c->cur &&
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
    if (c->state != CLIENT_CONNECTED || !c->cur || c->cur->id != sid || c->hs.request_ts ||
        counter >= __atomic_load_n(&c->cur->send_counter, __ATOMIC_RELAXED) ||
        now - c->last_rx_mono < HINT_QUIET_MS ||
        (c->last_hint_mono && now - c->last_hint_mono < HINT_MIN_INTERVAL_MS)) {
        c->rx_drops[CRX_HINT]++;
        return;
    }
    c->rx_other++;
    c->last_hint_mono = now;
    log_warn("The server no longer knows our session (it or its enclave restarted): "
             "handshaking again");
    conn_start_handshake(c);
}
