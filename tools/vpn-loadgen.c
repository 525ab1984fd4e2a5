/* vpn-loadgen: many simulated clients against a vpn-server, for the memory, handshake and
 * scale benchmarks (bench/run-memory.sh, bench/run-scale.sh) and the tests that need many
 * sessions. Each simulated client speaks the client's half of docs/PROTOCOL.md through
 * client/handshake_client.c, over its own UDP socket, optionally bound to its own source
 * address, so that the server sees COUNT users, COUNT endpoints and COUNT sources.
 *
 *   vpn-loadgen --server HOST --server-key KEY (--users FILE | --user-prefix P --token HEX)
 *               --clients N [--port P] [--sources NET/LEN] [--duration S] [--keepalive S]
 *               [--traffic S] [--target IP] [--window N] [--connect-timeout S] [--no-rekey]
 *               [--report S] [--no-disconnect]
 *
 * What a simulated client does, like vpn-client but without a TUN:
 *   - handshakes (a fresh request per attempt, retried after 1 s, doubling, with jitter);
 *     a refusal at the first connect gives that client up, as vpn-client exits;
 *   - sends a PING every keepalive interval (answered by PONG), whatever else it sends;
 *   - with --traffic S, an ICMP echo request to the target through the tunnel every S s
 *     (a DATA packet whose inner source is its assigned address; the reply comes back as
 *     DATA), at a random phase so that clients do not send in lockstep;
 *   - rekeys at the pushed rekey_interval and keeps receiving on the old session for the
 *     10 s overlap (PROTOCOL.md section 8); a DISCONNECT or SESSION_UNKNOWN from the server
 *     is counted (a dropped session) and answered with a new handshake.
 * After --duration seconds counted from the moment all clients are up, no rekey or PING
 * starts any more, every client sends one last echo request, and they wait up to 5 s for the
 * replies, the PONGs of PINGs in flight and the rekeys in flight; then all send DISCONNECT
 * (after the report and a line "disconnecting N" on stdout).
 *
 * Output: progress lines every --report seconds on stderr, then "key value" lines on stdout
 * (see report()). Exit status 0 only if every client came up, nothing was dropped, every rekey,
 * every PING and every last echo was answered; 1 otherwise; 2 for bad arguments.
 *
 * The original positional form is kept for the older scripts and tests:
 *   vpn-loadgen HOST PORT SERVER_KEY USER_PREFIX TOKEN_HEX COUNT [SECONDS]
 * = users USER_PREFIX0 .. USER_PREFIX<COUNT-1> all with TOKEN_HEX, one handshake at a time
 * from the default source, a PING every second for SECONDS (default 10), no traffic, no rekey.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../client/handshake_client.h"
#include "vpn/hex.h"
#include "vpn/ini.h"
#include "vpn/keyfile.h"
#include "vpn/netaddr.h"
#include "vpn/offload.h"
#include "vpn/proto.h"
#include "vpn/replay.h"
#include "vpn/transport.h"

enum {
    MAX_SIMS = 4096,
    HANDSHAKE_TIMEOUT_MS = 1000,    /* first retry, doubling per attempt, as vpn-client */
    BACKOFF_MAX_MS = 30000,
    TICK_MS = 10,                   /* timer resolution */
    FINAL_SPREAD_MS = 1000,         /* the last echo requests go out over this long */
    FINAL_WAIT_MS = 5000,           /* and their replies are awaited this long at most */
    ECHO_PAYLOAD = 32,
    ECHO_ID_BASE = 0x4c00,          /* ICMP identifier: this base + the client's index */
    RECV_BURST = 32,                /* datagrams read from one socket per wake-up */
};

struct options {
    const char *host, *port, *server_key, *users_file, *user_prefix, *token_hex, *sources;
    int clients;
    int duration_s, keepalive_s, traffic_s, window, connect_timeout_s, report_s;
    int max_attempts;               /* per client at the first connect, 0: until the deadline */
    uint32_t target;
    bool rekey, disconnect, final_echo, legacy;
};

struct sim_session {
    bool live;
    uint32_t id;
    uint8_t k_c2s[KEY_LEN], k_s2c[KEY_LEN];
    uint64_t send_counter;
    uint64_t started_ms, retire_at_ms;     /* monotonic */
    struct replay_window rx;
};

enum sim_state { SIM_WAITING, SIM_CONNECTING, SIM_UP, SIM_FAILED };

struct sim {
    int fd, index;
    char user[USERNAME_MAX + 1];
    uint8_t token[TOKEN_LEN];
    enum sim_state state;

    /* handshake in progress (first connect, rekey or reconnect): retried at next_attempt_ms;
     * hs.request_ts != 0 while a request is out that a response may answer */
    bool in_handshake;
    bool hs_rekey;                  /* ... and it is a rekey (not a first connect or reconnect) */
    struct hs_client hs;
    uint64_t last_req_ts;
    unsigned attempt;
    uint64_t next_attempt_ms, hs_started_ms;
    bool stale_retry_used;
    bool ever_up;

    struct hs_config cfg;
    struct sim_session sess[2];
    int cur;                        /* index into sess of the current session, -1 none */
    int64_t offset;                 /* server clock - ours, ms */

    uint64_t next_ping_ms, next_echo_ms;
    uint16_t echo_seq, final_seq;
    uint64_t echo_sent_us;          /* when echo_seq went out (for the RTT) */
    bool final_answered;

    /* accounting */
    uint64_t pings, pongs, echoes, echo_replies;
    uint64_t connect_attempts;      /* requests sent for the first handshake */
    uint64_t rekeys_started, rekeys_done, rekey_attempts, reconnects;
    uint64_t disconnects, unknowns, refusals;
    uint64_t max_rekey_ms;
};

struct totals {
    uint64_t refused[6], invalid, auth_fail, replays, foreign;
    uint64_t *rtt_us;
    size_t n_rtt, cap_rtt;
};

static struct options opt;
static struct sim *sims;
static struct totals tot;
static struct sockaddr_storage server_addr;
static socklen_t server_len;
static uint8_t s_pub[KEY_LEN];
static int connecting;              /* clients with a first handshake in flight */
static int up_first, failed_first;  /* first handshakes that succeeded, that gave up */

static uint64_t now_ms(void) { return clock_monotonic_ms(); }

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static uint64_t backoff_ms(unsigned attempt)
{
    uint64_t ms = HANDSHAKE_TIMEOUT_MS;
    for (unsigned i = 1; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    return ms + randombytes_uniform((uint32_t)(ms / 4) + 1);
}

static void usage(FILE *out)
{
    fprintf(out,
        "usage: vpn-loadgen --server HOST --server-key KEY --clients N\n"
        "                   (--users FILE | --user-prefix PREFIX --token HEX) [options]\n"
        "       vpn-loadgen HOST PORT SERVER_KEY USER_PREFIX TOKEN_HEX COUNT [SECONDS]\n"
        "  --port P             server port (51820)\n"
        "  --users FILE         users file ([user:NAME] auth_token = HEX): client i is its\n"
        "                       i-th user\n"
        "  --user-prefix P --token HEX   users P0 .. P<N-1>, all with one token\n"
        "  --sources NET/LEN    client i binds its socket to the (i+1)-th address of NET\n"
        "                       (the addresses must exist on an interface); default: any\n"
        "  --duration S         seconds to run once all are up (10)\n"
        "  --keepalive S        a PING every S seconds (default: the server's keepalive)\n"
        "  --traffic S          an ICMP echo through the tunnel every S seconds (0: none)\n"
        "  --target IP          the echo target behind the server (192.168.100.10)\n"
        "  --window N           first handshakes in flight at most (0: all at once)\n"
        "  --connect-timeout S  clients not up after S seconds count as failed (60)\n"
        "  --no-rekey           do not rekey at the server's rekey_interval\n"
        "  --report S           a progress line on stderr every S seconds (0: none)\n"
        "  --no-disconnect      end without sending DISCONNECT\n");
}

/* ---- users ---------------------------------------------------------------------------- */

static int n_users;

static int on_user_entry(void *ctx, const char *file, int line, const char *section,
                         const char *key, const char *value, struct config_error *err)
{
    (void)ctx;
    if (!key) {
        if (strncmp(section, "user:", 5) != 0 || strlen(section + 5) == 0 ||
            strlen(section + 5) > USERNAME_MAX) {
            config_errorf(err, file, line, section, "", "expected [user:NAME]");
            return -1;
        }
        if (n_users == opt.clients)
            return 0;   /* more users than clients: the rest are not needed */
        snprintf(sims[n_users].user, sizeof(sims[n_users].user), "%s", section + 5);
        n_users++;
        return 0;
    }
    if (strcmp(key, "auth_token") != 0 || n_users == 0) {
        config_errorf(err, file, line, section, key, "unexpected key");
        return -1;
    }
    if (strncmp(section + 5, sims[n_users - 1].user, USERNAME_MAX) != 0)
        return 0;       /* a user beyond the ones we take */
    if (hex_decode(value, sims[n_users - 1].token, TOKEN_LEN) != 0) {
        config_errorf(err, file, line, section, key, "expected 64 hex characters");
        return -1;
    }
    return 0;
}

static int load_users(void)
{
    if (opt.users_file) {
        struct config_error err;
        if (ini_parse_file(opt.users_file, on_user_entry, NULL, &err) != 0) {
            fprintf(stderr, "vpn-loadgen: %s\n", err.msg);
            return -1;
        }
        if (n_users < opt.clients) {
            fprintf(stderr, "vpn-loadgen: %s has %d users, %d clients asked for\n",
                    opt.users_file, n_users, opt.clients);
            return -1;
        }
        for (int i = 0; i < opt.clients; i++)
            if (sodium_is_zero(sims[i].token, TOKEN_LEN)) {
                fprintf(stderr, "vpn-loadgen: %s: user %s has no auth_token\n",
                        opt.users_file, sims[i].user);
                return -1;
            }
        return 0;
    }
    uint8_t token[TOKEN_LEN];
    if (!opt.token_hex || hex_decode(opt.token_hex, token, TOKEN_LEN) != 0) {
        fprintf(stderr, "vpn-loadgen: --token: expected 64 hex characters\n");
        return -1;
    }
    for (int i = 0; i < opt.clients; i++) {
        if ((size_t)snprintf(sims[i].user, sizeof(sims[i].user), "%s%d", opt.user_prefix, i) >=
            sizeof(sims[i].user)) {
            fprintf(stderr, "vpn-loadgen: --user-prefix: user names longer than %d bytes\n",
                    USERNAME_MAX);
            return -1;
        }
        memcpy(sims[i].token, token, TOKEN_LEN);
    }
    sodium_memzero(token, sizeof(token));
    return 0;
}

/* ---- sockets -------------------------------------------------------------------------- */

static int open_sockets(int ep)
{
    struct ipv4_net net = { 0, 0 };
    if (opt.sources) {
        if (parse_ipv4_net(opt.sources, &net) != 0 || net.prefix > 30) {
            fprintf(stderr, "vpn-loadgen: --sources %s: expected a network such as "
                            "10.99.0.0/22\n", opt.sources);
            return -1;
        }
        uint64_t hosts = (1ULL << (32 - net.prefix)) - 2;
        if ((uint64_t)opt.clients > hosts) {
            fprintf(stderr, "vpn-loadgen: --sources %s has %llu addresses for %d clients\n",
                    opt.sources, (unsigned long long)hosts, opt.clients);
            return -1;
        }
        if (server_addr.ss_family != AF_INET) {
            fprintf(stderr, "vpn-loadgen: --sources needs an IPv4 server address\n");
            return -1;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt.clients + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)opt.clients + 64 ? rl.rlim_max
                                                              : (rlim_t)opt.clients + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (int i = 0; i < opt.clients; i++) {
        struct sim *s = &sims[i];
        s->fd = socket(server_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0) {
            fprintf(stderr, "vpn-loadgen: socket %d: %s\n", i, strerror(errno));
            return -1;
        }
        if (opt.sources) {
            struct sockaddr_in src = { .sin_family = AF_INET,
                                       .sin_addr.s_addr = htonl(net.addr + 1 + (uint32_t)i) };
            if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
                char ip[16];
                fprintf(stderr, "vpn-loadgen: bind %s: %s (is the address on an interface?)\n",
                        format_ipv4(net.addr + 1 + (uint32_t)i, ip), strerror(errno));
                return -1;
            }
        }
        if (connect(s->fd, (struct sockaddr *)&server_addr, server_len) != 0) {
            fprintf(stderr, "vpn-loadgen: connect: %s\n", strerror(errno));
            return -1;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
            fprintf(stderr, "vpn-loadgen: epoll_ctl: %s\n", strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* ---- handshakes ----------------------------------------------------------------------- */

static void send_request(struct sim *s, uint64_t ts)
{
    uint8_t e[KEY_LEN], req[CONNECT_REQ_LEN];
    randombytes_buf(e, sizeof(e));
    hs_client_wipe(&s->hs);
    hs_client_request(&s->hs, e, s_pub, s->user, s->token, ts, req);
    sodium_memzero(e, sizeof(e));
    s->last_req_ts = ts;
    (void)!send(s->fd, req, sizeof(req), 0);   /* a lost request is retried */
}

/* The next attempt of the handshake in progress: a fresh request (request timestamps strictly
 * increase per user, PROTOCOL.md step 4). */
static void retry_handshake(struct sim *s, uint64_t now)
{
    uint64_t ts = clock_realtime_ms();
    if (ts <= s->last_req_ts)
        ts = s->last_req_ts + 1;
    s->attempt++;
    s->stale_retry_used = false;
    if (s->hs_rekey)
        s->rekey_attempts++;
    else if (!s->ever_up)
        s->connect_attempts++;
    send_request(s, ts);
    s->next_attempt_ms = now + backoff_ms(s->attempt);
}

static void start_handshake(struct sim *s, uint64_t now, bool rekey)
{
    s->in_handshake = true;
    s->hs_rekey = rekey;
    s->attempt = 0;
    s->hs_started_ms = now;
    if (s->state == SIM_WAITING) {
        s->state = SIM_CONNECTING;
        connecting++;
    }
    retry_handshake(s, now);
}

static struct sim_session *current(struct sim *s)
{
    return s->cur >= 0 && s->sess[s->cur].live ? &s->sess[s->cur] : NULL;
}

static void accepted(struct sim *s, const struct session_keys *keys, const uint8_t *resp,
                     uint64_t now)
{
    /* The new session replaces the current one, which keeps receiving for the overlap. */
    int fresh = s->cur >= 0 ? 1 - s->cur : 0;
    struct sim_session *n = &s->sess[fresh];
    sodium_memzero(n, sizeof(*n));
    if (s->cur >= 0 && s->sess[s->cur].live)
        s->sess[s->cur].retire_at_ms = now + REKEY_OVERLAP_MS;
    n->live = true;
    n->id = s->cfg.session_id;
    memcpy(n->k_c2s, keys->k_c2s, KEY_LEN);
    memcpy(n->k_s2c, keys->k_s2c, KEY_LEN);
    n->started_ms = now;
    replay_init(&n->rx);
    s->cur = fresh;
    uint64_t sent = s->last_req_ts;
    s->offset = (int64_t)get_be64(resp + 8) - (int64_t)((sent + clock_realtime_ms()) / 2);
    s->in_handshake = false;
    hs_client_wipe(&s->hs);
    if (s->state == SIM_CONNECTING) {
        s->state = SIM_UP;
        s->ever_up = true;
        connecting--;
        up_first++;
        /* Random phases: a thousand clients that came up together do not all send at once. */
        uint32_t ka = (uint32_t)opt.keepalive_s * 1000;
        if (!ka)
            ka = (uint32_t)s->cfg.keepalive_s * 1000;
        s->next_ping_ms = now + (ka ? randombytes_uniform(ka) + 1 : 0);
        s->next_echo_ms = opt.traffic_s ? now + randombytes_uniform(
                                                    (uint32_t)opt.traffic_s * 1000) + 1 : 0;
    } else if (s->hs_rekey) {
        s->rekeys_done++;
        if (now - s->hs_started_ms > s->max_rekey_ms)
            s->max_rekey_ms = now - s->hs_started_ms;
    } else {
        s->reconnects++;
    }
}

/* The first handshake of s will not succeed. */
static void give_up(struct sim *s)
{
    s->in_handshake = false;
    hs_client_wipe(&s->hs);
    s->state = SIM_FAILED;
    connecting--;
    failed_first++;
}

static void on_response(struct sim *s, const uint8_t *buf, size_t len, uint64_t now)
{
    struct hs_config cfg;
    struct session_keys keys;
    if (!s->in_handshake || !s->hs.request_ts) {
        tot.invalid++;      /* a late or duplicated answer */
        return;
    }
    enum hs_client_verdict v = hs_client_response(&s->hs, buf, len, s->token, &cfg, &keys);
    if (v == HSC_INVALID) {
        tot.invalid++;
        return;
    }
    if (v == HSC_REJECTED) {
        uint64_t min_ts = get_be64(buf + 8);
        if (cfg.status == STATUS_STALE_TIMESTAMP && !s->stale_retry_used) {
            s->stale_retry_used = true;     /* once, with the server's minimum, as vpn-client */
            send_request(s, min_ts > s->last_req_ts ? min_ts : s->last_req_ts + 1);
            return;
        }
        tot.refused[cfg.status < 6 ? cfg.status : 0]++;
        s->refusals++;
        hs_client_wipe(&s->hs);
        if (s->state == SIM_CONNECTING)
            give_up(s);     /* vpn-client gives up at its first connect */
        return;             /* a rekey or reconnect retries at next_attempt_ms */
    }
    s->cfg = cfg;
    accepted(s, &keys, buf, now);
    sodium_memzero(&keys, sizeof(keys));
}

/* ---- transport ------------------------------------------------------------------------ */

/* An ICMP echo request from src to dst. Returns its length. */
static size_t echo_request(uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq)
{
    size_t len = 20 + 8 + ECHO_PAYLOAD;
    memset(pkt, 0, len);
    pkt[0] = 0x45;
    put_be16(pkt + 2, (uint16_t)len);
    pkt[8] = 64;
    pkt[9] = 1;
    put_be32(pkt + 12, src);
    put_be32(pkt + 16, dst);
    put_be16(pkt + 10, offload_inet_checksum(pkt, 20));
    uint8_t *icmp = pkt + 20;
    icmp[0] = 8;
    put_be16(icmp + 4, id);
    put_be16(icmp + 6, seq);
    for (int i = 0; i < ECHO_PAYLOAD; i++)
        icmp[8 + i] = (uint8_t)i;
    put_be16(icmp + 2, offload_inet_checksum(icmp, 8 + ECHO_PAYLOAD));
    return len;
}

static bool send_transport(struct sim *s, uint8_t type, const uint8_t *pt, size_t len)
{
    struct sim_session *c = current(s);
    uint8_t dg[TRANSPORT_OVERHEAD + 128];
    if (!c || len > 128)
        return false;
    uint64_t ts = (uint64_t)((int64_t)clock_realtime_ms() + s->offset);
    size_t n = transport_seal(dg, type, c->k_c2s, c->id, c->send_counter++, ts, pt, len);
    return send(s->fd, dg, n, 0) == (ssize_t)n;
}

static void send_echo(struct sim *s)
{
    uint8_t pkt[64];
    s->echo_seq++;
    size_t len = echo_request(pkt, s->cfg.client_ip, opt.target,
                              (uint16_t)(ECHO_ID_BASE + s->index), s->echo_seq);
    if (send_transport(s, MSG_DATA, pkt, len)) {
        s->echoes++;
        s->echo_sent_us = now_us();
    }
}

static void add_rtt(uint64_t us)
{
    if (tot.n_rtt == tot.cap_rtt) {
        size_t cap = tot.cap_rtt ? tot.cap_rtt * 2 : 65536;
        uint64_t *a = realloc(tot.rtt_us, cap * sizeof(*a));
        if (!a)
            return;
        tot.rtt_us = a;
        tot.cap_rtt = cap;
    }
    tot.rtt_us[tot.n_rtt++] = us;
}

static void on_echo_reply(struct sim *s, const uint8_t *pt, size_t len)
{
    if (len < 28 || (pt[0] >> 4) != 4 || pt[9] != 1 || get_be32(pt + 16) != s->cfg.client_ip)
        return;
    size_t ihl = (size_t)(pt[0] & 15) * 4;
    const uint8_t *icmp = pt + ihl;
    if (len < ihl + 8 || icmp[0] != 0 ||
        get_be16(icmp + 4) != (uint16_t)(ECHO_ID_BASE + s->index)) {
        tot.foreign++;
        return;
    }
    uint16_t seq = get_be16(icmp + 6);
    s->echo_replies++;
    if (seq == s->echo_seq)
        add_rtt(now_us() - s->echo_sent_us);
    if (s->final_seq && seq == s->final_seq)
        s->final_answered = true;
}

/* The server ended our session (DISCONNECT, or SESSION_UNKNOWN naming it): count it and
 * handshake again, as vpn-client does. */
static void session_lost(struct sim *s, uint64_t now)
{
    sodium_memzero(s->sess, sizeof(s->sess));
    s->cur = -1;
    if (!s->in_handshake)
        start_handshake(s, now, false);
}

static void on_transport(struct sim *s, const uint8_t *buf, size_t len, const struct vpn_hdr *h,
                         uint64_t now)
{
    uint32_t sid;
    uint64_t counter;
    uint8_t pt[SLOT_DATA];
    if (!proto_transport_ids(buf, h, &sid, &counter) || len - TRANSPORT_OVERHEAD > sizeof(pt))
        return;
    struct sim_session *x = NULL;
    for (int k = 0; k < 2; k++)
        if (s->sess[k].live && s->sess[k].id == sid)
            x = &s->sess[k];
    if (!x)
        return;
    if (!replay_check(&x->rx, counter)) {
        tot.replays++;
        return;
    }
    if (!transport_open(pt, buf, len, x->k_s2c)) {
        tot.auth_fail++;
        return;
    }
    replay_mark(&x->rx, counter);
    switch (h->type) {
    case MSG_PONG:
        s->pongs++;
        break;
    case MSG_DATA:
        on_echo_reply(s, pt, len - TRANSPORT_OVERHEAD);
        break;
    case MSG_DISCONNECT:
        if (x != current(s)) {
            sodium_memzero(x, sizeof(*x));  /* the old session of a rekey: as vpn-client */
            break;
        }
        s->disconnects++;
        fprintf(stderr, "vpn-loadgen: %s: DISCONNECT from the server (reason %u)\n", s->user,
                len > TRANSPORT_OVERHEAD ? pt[0] : 0);
        session_lost(s, now);
        break;
    default:
        break;
    }
}

static void on_datagram(struct sim *s, const uint8_t *buf, size_t len, uint64_t now)
{
    struct vpn_hdr h;
    if (proto_hdr_parse(buf, len, &h) != HDR_OK)
        return;
    if (h.type == MSG_CONNECT_RESP) {
        on_response(s, buf, len, now);
    } else if (h.type == MSG_SESSION_UNKNOWN) {
        struct sim_session *c = current(s);
        if (c && get_be32(buf + HDR_LEN) == c->id && !s->in_handshake) {
            s->unknowns++;
            fprintf(stderr, "vpn-loadgen: %s: SESSION_UNKNOWN from the server\n", s->user);
            session_lost(s, now);
        }
    } else if (proto_is_transport(h.type)) {
        on_transport(s, buf, len, &h, now);
    }
}

static void drain_socket(struct sim *s, uint64_t now)
{
    uint8_t buf[2048];
    for (int i = 0; i < RECV_BURST; i++) {
        ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return;
        on_datagram(s, buf, (size_t)n, now);
    }
}

/* ---- timers --------------------------------------------------------------------------- */

enum phase { PHASE_CONNECT, PHASE_RUN, PHASE_FINAL };

static void tick(struct sim *s, uint64_t now, enum phase phase)
{
    if (s->state == SIM_FAILED || s->state == SIM_WAITING)
        return;
    for (int k = 0; k < 2; k++)
        if (k != s->cur && s->sess[k].live && s->sess[k].retire_at_ms &&
            now >= s->sess[k].retire_at_ms) {
            sodium_memzero(&s->sess[k], sizeof(s->sess[k]));
        }
    if (s->in_handshake && now >= s->next_attempt_ms) {
        if (s->state == SIM_CONNECTING &&
            ((opt.max_attempts && s->attempt >= (unsigned)opt.max_attempts) ||
             now - s->hs_started_ms >= (uint64_t)opt.connect_timeout_s * 1000)) {
            give_up(s);
            return;
        }
        retry_handshake(s, now);
    }
    struct sim_session *c = current(s);
    if (!c)
        return;
    uint64_t ka = (uint64_t)(opt.keepalive_s ? (unsigned)opt.keepalive_s
                                             : s->cfg.keepalive_s) * 1000;
    if (ka && phase != PHASE_FINAL && now >= s->next_ping_ms) {
        if (send_transport(s, MSG_PING, NULL, 0))
            s->pings++;
        s->next_ping_ms = now + ka;
    }
    if (phase != PHASE_FINAL && opt.traffic_s && now >= s->next_echo_ms) {
        send_echo(s);
        s->next_echo_ms = now + (uint64_t)opt.traffic_s * 1000;
    }
    if (opt.rekey && phase != PHASE_FINAL && s->cfg.rekey_s && !s->in_handshake &&
        now - c->started_ms >= (uint64_t)s->cfg.rekey_s * 1000) {
        s->rekeys_started++;
        start_handshake(s, now, true);
    }
}

/* ---- report --------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
    if (!tot.n_rtt)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(tot.n_rtt - 1) + 0.5);
    return (double)tot.rtt_us[i] / 1000.0;
}

struct sums {
    int up_now, failed, final_answered, final_sent, rekeys_in_flight;
    uint64_t connect_attempts;
    uint64_t pings, pongs, echoes, replies, rekeys_started, rekeys_done, rekey_attempts;
    uint64_t reconnects, disconnects, unknowns, refusals, max_rekey_ms;
};

static struct sums sum_up(void)
{
    struct sums t;
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < opt.clients; i++) {
        const struct sim *s = &sims[i];
        t.up_now += s->state == SIM_UP && s->cur >= 0 && s->sess[s->cur].live;
        t.failed += s->state == SIM_FAILED || s->state == SIM_CONNECTING ||
                    s->state == SIM_WAITING;
        t.final_sent += s->final_seq != 0;
        t.final_answered += s->final_answered;
        t.pings += s->pings;
        t.pongs += s->pongs;
        t.echoes += s->echoes;
        t.replies += s->echo_replies;
        t.rekeys_started += s->rekeys_started;
        t.rekeys_done += s->rekeys_done;
        t.rekey_attempts += s->rekey_attempts;
        t.rekeys_in_flight += s->in_handshake && s->hs_rekey;
        t.connect_attempts += s->connect_attempts;
        t.reconnects += s->reconnects;
        t.disconnects += s->disconnects;
        t.unknowns += s->unknowns;
        t.refusals += s->refusals;
        if (s->max_rekey_ms > t.max_rekey_ms)
            t.max_rekey_ms = s->max_rekey_ms;
    }
    return t;
}

static void progress(uint64_t t_run0, uint64_t now)
{
    struct sums t = sum_up();
    fprintf(stderr, "vpn-loadgen: t=%llus up %d, pings %llu/%llu answered, echoes %llu/%llu, "
                    "rekeys %llu/%llu, disconnects %llu, unknown %llu\n",
            (unsigned long long)((now - t_run0) / 1000), t.up_now,
            (unsigned long long)t.pongs, (unsigned long long)t.pings,
            (unsigned long long)t.replies, (unsigned long long)t.echoes,
            (unsigned long long)t.rekeys_done, (unsigned long long)t.rekeys_started,
            (unsigned long long)t.disconnects, (unsigned long long)t.unknowns);
}

/* The final "key value" lines; returns whether everything held. */
static bool report(uint64_t connect_ms, uint64_t run_ms)
{
    struct sums t = sum_up();
    qsort(tot.rtt_us, tot.n_rtt, sizeof(*tot.rtt_us), cmp_u64);
    printf("clients %d\n", opt.clients);
    printf("sources %s\n", opt.sources ? opt.sources : "default");
    printf("connected %d\n", up_first);
    printf("connect_seconds %.3f\n", (double)connect_ms / 1000.0);
    printf("handshake_rate %.0f\n", up_first * 1000.0 / (double)(connect_ms ? connect_ms : 1));
    printf("connect_attempts %llu\n", (unsigned long long)t.connect_attempts);
    printf("run_seconds %.1f\n", (double)run_ms / 1000.0);
    printf("up_at_end %d\n", t.up_now);
    printf("failed %d\n", t.failed);
    printf("refused_auth %llu\nrefused_full %llu\nrefused_pool %llu\nrefused_rate %llu\n"
           "refused_stale %llu\n", (unsigned long long)tot.refused[STATUS_AUTH_FAILED],
           (unsigned long long)tot.refused[STATUS_SERVER_FULL],
           (unsigned long long)tot.refused[STATUS_POOL_EXHAUSTED],
           (unsigned long long)tot.refused[STATUS_RATE_LIMITED],
           (unsigned long long)tot.refused[STATUS_STALE_TIMESTAMP]);
    printf("pings_sent %llu\npongs_received %llu\n", (unsigned long long)t.pings,
           (unsigned long long)t.pongs);
    printf("echo_sent %llu\necho_answered %llu\n", (unsigned long long)t.echoes,
           (unsigned long long)t.replies);
    printf("echo_rtt_ms_p50 %.2f\necho_rtt_ms_p99 %.2f\necho_rtt_ms_max %.2f\n", pct_ms(50),
           pct_ms(99), pct_ms(100));
    printf("last_echo_sent %d\nlast_echo_answered %d\n", t.final_sent, t.final_answered);
    printf("rekeys_started %llu\nrekeys_done %llu\nrekeys_in_flight %d\nrekey_attempts %llu\n"
           "rekey_max_ms %llu\n", (unsigned long long)t.rekeys_started,
           (unsigned long long)t.rekeys_done, t.rekeys_in_flight,
           (unsigned long long)t.rekey_attempts, (unsigned long long)t.max_rekey_ms);
    printf("disconnects_received %llu\nsession_unknown_received %llu\nreconnects %llu\n",
           (unsigned long long)t.disconnects, (unsigned long long)t.unknowns,
           (unsigned long long)t.reconnects);
    printf("responses_ignored %llu\nauth_failures %llu\nreplays %llu\n",
           (unsigned long long)tot.invalid, (unsigned long long)tot.auth_fail,
           (unsigned long long)tot.replays);
    bool ok = up_first == opt.clients && t.up_now == opt.clients && t.disconnects == 0 &&
              t.unknowns == 0 && t.refusals == 0 && t.rekeys_done == t.rekeys_started &&
              t.pongs == t.pings &&
              (!opt.final_echo || t.final_answered == opt.clients);
    printf("result %s\n", ok ? "ok" : "FAILED");
    fflush(stdout);
    return ok;
}

/* ---- options -------------------------------------------------------------------------- */

static int parse_int(const char *name, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "vpn-loadgen: %s %s: expected %d..%d\n", name, v, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse_options(int argc, char **argv)
{
    opt.port = "51820";
    opt.duration_s = 10;
    opt.connect_timeout_s = 60;
    opt.rekey = opt.disconnect = opt.final_echo = true;
    opt.target = 0xc0a8640a;    /* 192.168.100.10, the lab's LAN host */
    if (argc >= 7 && argv[1][0] != '-') {
        /* The positional form of the older scripts. */
        opt.legacy = true;
        opt.host = argv[1];
        opt.port = argv[2];
        opt.server_key = argv[3];
        opt.user_prefix = argv[4];
        opt.token_hex = argv[5];
        opt.keepalive_s = 1;
        opt.window = 1;
        opt.max_attempts = 3;
        opt.rekey = opt.final_echo = false;
        if (parse_int("COUNT", argv[6], 1, MAX_SIMS, &opt.clients) != 0 ||
            (argc > 7 && parse_int("SECONDS", argv[7], 0, 86400, &opt.duration_s) != 0))
            return -1;
        return 0;
    }
    static const struct option longs[] = {
        { "server", required_argument, NULL, 's' },
        { "port", required_argument, NULL, 'p' },
        { "server-key", required_argument, NULL, 'k' },
        { "users", required_argument, NULL, 'u' },
        { "user-prefix", required_argument, NULL, 'P' },
        { "token", required_argument, NULL, 'T' },
        { "clients", required_argument, NULL, 'n' },
        { "sources", required_argument, NULL, 'S' },
        { "duration", required_argument, NULL, 'd' },
        { "keepalive", required_argument, NULL, 'K' },
        { "traffic", required_argument, NULL, 't' },
        { "target", required_argument, NULL, 'g' },
        { "window", required_argument, NULL, 'w' },
        { "connect-timeout", required_argument, NULL, 'c' },
        { "no-rekey", no_argument, NULL, 'R' },
        { "report", required_argument, NULL, 'r' },
        { "no-disconnect", no_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 's': opt.host = optarg; break;
        case 'p': opt.port = optarg; break;
        case 'k': opt.server_key = optarg; break;
        case 'u': opt.users_file = optarg; break;
        case 'P': opt.user_prefix = optarg; break;
        case 'T': opt.token_hex = optarg; break;
        case 'S': opt.sources = optarg; break;
        case 'n': rc = parse_int("--clients", optarg, 1, MAX_SIMS, &opt.clients); break;
        case 'd': rc = parse_int("--duration", optarg, 0, 86400, &opt.duration_s); break;
        case 'K': rc = parse_int("--keepalive", optarg, 0, 3600, &opt.keepalive_s); break;
        case 't': rc = parse_int("--traffic", optarg, 0, 3600, &opt.traffic_s); break;
        case 'w': rc = parse_int("--window", optarg, 0, MAX_SIMS, &opt.window); break;
        case 'c': rc = parse_int("--connect-timeout", optarg, 1, 3600, &opt.connect_timeout_s);
                  break;
        case 'r': rc = parse_int("--report", optarg, 0, 3600, &opt.report_s); break;
        case 'R': opt.rekey = false; break;
        case 'D': opt.disconnect = false; break;
        case 'g':
            rc = parse_ipv4(optarg, &opt.target);
            if (rc)
                fprintf(stderr, "vpn-loadgen: --target %s: expected an IPv4 address\n", optarg);
            break;
        case 'h': usage(stdout); exit(0);
        default: rc = -1; break;
        }
        if (rc)
            return -1;
    }
    if (optind != argc || !opt.host || !opt.server_key || !opt.clients ||
        !!opt.users_file == !!opt.user_prefix || (opt.user_prefix && !opt.token_hex)) {
        fprintf(stderr, "vpn-loadgen: --server, --server-key, --clients and either --users "
                        "or --user-prefix with --token are needed\n");
        return -1;
    }
    opt.final_echo = opt.traffic_s > 0;
    return 0;
}

/* ---- main ----------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    if (parse_options(argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
    if (getaddrinfo(opt.host, opt.port, &hints, &res) != 0 ||
        keyfile_decode(opt.server_key, s_pub) != 0) {
        fprintf(stderr, "vpn-loadgen: bad server address or key\n");
        return 2;
    }
    memcpy(&server_addr, res->ai_addr, res->ai_addrlen);
    server_len = res->ai_addrlen;
    freeaddrinfo(res);
    sims = calloc((size_t)opt.clients, sizeof(*sims));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!sims || ep < 0)
        return 1;
    for (int i = 0; i < opt.clients; i++) {
        sims[i].index = i;
        sims[i].cur = -1;
        sims[i].fd = -1;
    }
    if (load_users() != 0)
        return 2;
    if (open_sockets(ep) != 0)
        return 1;

    enum phase phase = PHASE_CONNECT;
    int started = 0;
    uint64_t t0 = now_ms(), t_connected = 0, t_run_end = 0, t_final_end = 0;
    uint64_t next_tick = t0, next_report = opt.report_s ? t0 + (uint64_t)opt.report_s * 1000 : 0;
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_ms();
        /* First handshakes, at most --window in flight. */
        while (phase == PHASE_CONNECT && started < opt.clients &&
               (!opt.window || connecting < opt.window))
            start_handshake(&sims[started++], now, false);
        if (phase == PHASE_CONNECT && (up_first + failed_first == opt.clients ||
                                       now - t0 >= (uint64_t)opt.connect_timeout_s * 1000)) {
            t_connected = now;
            printf("handshakes %d of %d in %.2f s (%.0f per second)\n", up_first, opt.clients,
                   (double)(now - t0) / 1000.0, up_first * 1000.0 / (double)(now - t0 + 1));
            printf("sessions up %d\n", up_first);
            fflush(stdout);
            phase = PHASE_RUN;
            t_run_end = now + (uint64_t)opt.duration_s * 1000;
        }
        if (phase == PHASE_RUN && now >= t_run_end) {
            if (!opt.final_echo)
                break;
            /* The last echo request of every client, spread over FINAL_SPREAD_MS. */
            phase = PHASE_FINAL;
            for (int i = 0; i < opt.clients; i++)
                sims[i].next_echo_ms = now + randombytes_uniform(FINAL_SPREAD_MS);
            t_final_end = now + FINAL_SPREAD_MS + FINAL_WAIT_MS;
        }
        if (now >= next_tick) {
            int waiting = 0;
            for (int i = 0; i < opt.clients; i++) {
                struct sim *s = &sims[i];
                tick(s, now, phase);
                if (phase != PHASE_FINAL || s->state != SIM_UP)
                    continue;
                if (!s->final_seq && now >= s->next_echo_ms && current(s)) {
                    send_echo(s);
                    s->final_seq = s->echo_seq;
                }
                waiting += !s->final_answered || (s->in_handshake && s->hs_rekey) ||
                           s->pongs < s->pings;
            }
            if (phase == PHASE_FINAL && (!waiting || now >= t_final_end))
                break;
            next_tick = now + TICK_MS;
        }
        if (next_report && now >= next_report) {
            progress(t0, now);
            next_report = now + (uint64_t)opt.report_s * 1000;
        }
        int timeout = next_tick > now ? (int)(next_tick - now) : 0;
        int n = epoll_wait(ep, evs, 256, timeout);
        if (n < 0 && errno != EINTR) {
            perror("vpn-loadgen: epoll_wait");
            return 1;
        }
        now = now_ms();
        for (int i = 0; i < n; i++)
            drain_socket(&sims[evs[i].data.u32], now);
    }
    uint64_t t_end = now_ms();
    bool ok;
    if (opt.legacy)
        ok = up_first == opt.clients;
    else
        ok = report(t_connected - t0, t_end - t_connected);
    if (opt.disconnect) {
        /* Said (and flushed) before the first DISCONNECT: a script sampling the server can
         * tell a count taken after this line from one taken while every session was up. */
        printf("disconnecting %d\n", opt.clients);
        fflush(stdout);
        static const uint8_t reason = DISCONNECT_REASON_NORMAL;
        for (int i = 0; i < opt.clients; i++)
            if (current(&sims[i]))
                send_transport(&sims[i], MSG_DISCONNECT, &reason, sizeof(reason));
    }
    for (int i = 0; i < opt.clients; i++) {
        sodium_memzero(sims[i].sess, sizeof(sims[i].sess));
        sodium_memzero(sims[i].token, sizeof(sims[i].token));
        hs_client_wipe(&sims[i].hs);
        if (sims[i].fd >= 0)
            close(sims[i].fd);
    }
    free(sims);
    free(tot.rtt_us);
    close(ep);
    return ok ? 0 : 1;
}
