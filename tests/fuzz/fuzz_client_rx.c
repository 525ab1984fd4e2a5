/* Fuzzes the client's whole receive path (client/datapath.c datapath_from_udp and what it
 * calls: proto_hdr_parse, proto_transport_ids, the slots, the replay window, transport_open,
 * GRO into the TUN, and conn_event with the state machine behind it for CONNECT_RESP,
 * COOKIE_REPLY, the extension-2 hint, DISCONNECT and traffic), on a connected client in memory: its UDP socket and its TUN are AF_UNIX datagram
 * socketpairs whose other ends the harness holds. The harness plays the server: it seals
 * transport messages with the sessions' keys, answers the client's CONNECT_REQs (it reads
 * them from the socket and opens them with the server's key), and sends garbage.
 *
 * The process moves into a network namespace of its own when it can (root), so that the
 * client's TUN configuration on an accepted response can never touch a real interface;
 * without one the device name used does not exist.
 *
 * Input: records, each an op byte and its fields (missing bytes read as zero).
 *   0 a raw datagram (up to 2000 bytes: longer than the client's buffer, too);
 *   1 a transport message sealed with the current, previous or no session's key: type,
 *     counter (next, replayed, ahead, any), timestamp skew, plaintext (an IPv4 header or
 *     raw bytes), optionally a flipped bit or cut short; also kept for exact replays (op 4);
 *   2 a CONNECT_RESP to the pending request: success (config from the input) or failure
 *     (status from the input) in extension 1's form, or either in a wrong form;
 *   3 a SESSION_UNKNOWN hint: current or other session id, a counter sent or not yet sent;
 *   4 an exact replay of a datagram sent earlier in this input;
 *   5 the client's receive batch runs now (datapath_from_udp); it runs at the end anyway;
 *   6 state: quiet for more than a second (hints become credible), TUN offload on or off.
 *
 * Properties: every datagram the client reads lands in exactly one counter (a drop reason,
 * rx_packets or rx_other); what reaches the TUN is the plaintext of a DATA message the
 * harness sealed, at most once per sealed message; datapath_from_udp returns -1 only after an
 * authentic response told the client to stop; what the client sends (PONGs, CONNECT_REQs) is
 * well formed; nothing crashes. */
#include "fuzz_util.h"

#include <sched.h>
#include <sys/socket.h>

#include "../../client/client.h"
#include "../../client/conn.h"
#include "../../enclave/handshake_server.h"
#include "../../enclave/users.h"
#include "vpn/log.h"
#include "vpn/offload.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

enum { MAX_SENT = 96, MAX_DATA = 96, DG_MAX = 2000 };

static const uint32_t SID = 0x1a2b3c4d, PREV_SID = 0x0badcafe;
static const uint32_t CLIENT_IP = 0x0a08000a;

static struct client c;
static struct client_config cfg;
static int udp[2], tun[2];          /* [0] the client's end, [1] the harness's */
static uint8_t s_priv[KEY_LEN], s_pub[KEY_LEN], token[TOKEN_LEN];
static struct user_table users;
static uint8_t prev_c2s[KEY_LEN], prev_s2c[KEY_LEN];

/* Every session the harness (the server) made in this input, by id: what the client sends
 * must open with one of their c2s keys. Checked against these rather than the client's live
 * slots, which a later datagram of the same batch may have emptied (a PONG sealed on the
 * current session, then a DISCONNECT ending it, both read before the harness looks). */
enum { ISSUED_MAX = 256 };
static struct { uint32_t id; uint8_t k_c2s[KEY_LEN]; } issued[ISSUED_MAX];
static int issued_count;

static void issue(uint32_t id, const uint8_t k_c2s[KEY_LEN])
{
    if (issued_count < ISSUED_MAX) {
        issued[issued_count].id = id;
        memcpy(issued[issued_count++].k_c2s, k_c2s, KEY_LEN);
    }
}

/* The server's view of the client's pending request. */
static struct hs_request pending;
static bool have_pending;

/* Datagrams sent in this input (for replays), DATA plaintexts sealed (for the TUN check). */
static uint8_t *sent[MAX_SENT];
static size_t sent_len[MAX_SENT];
static int n_sent;
struct sealed_data {
    uint8_t hash[16];
    bool delivered;
};
static struct sealed_data sealed[MAX_DATA];
static int n_sealed;
static uint64_t queued;             /* datagrams sent and not yet read by the client */
static bool authentic_stop;         /* an authentic response may make the client exit */

struct cur {
    const uint8_t *p;
    size_t n;
};

static uint8_t take(struct cur *k)
{
    if (!k->n)
        return 0;
    k->n--;
    return *k->p++;
}

static uint16_t take16(struct cur *k)
{
    return (uint16_t)(take(k) << 8 | take(k));
}

static uint32_t take32(struct cur *k)
{
    return (uint32_t)take16(k) << 16 | take16(k);
}

static void pair(int sv[2])
{
    int big = 4 << 20;
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    for (int i = 0; i < 2; i++) {
        setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    }
}

static void setup(void)
{
    if (sodium_init() < 0)
        abort();
    /* A private, empty network namespace: tun_configure on an accepted
     * response reach no real interface. Best effort (needs CAP_SYS_ADMIN). */
    (void)unshare(CLONE_NEWNET);
    log_init(LOG_ERROR + 1, NULL);
    fuzz_unhex(s_priv, KEY_LEN, V_SERVER_STATIC_PRIVATE);
    fuzz_unhex(s_pub, KEY_LEN, V_SERVER_STATIC_PUBLIC);
    fuzz_unhex(token, TOKEN_LEN, V_AUTH_TOKEN_HEX);
    users.count = 1;
    strcpy(users.users[0].name, V_USERNAME);
    memcpy(users.users[0].token, token, TOKEN_LEN);
    strcpy(cfg.username, V_USERNAME);
    memcpy(cfg.auth_token, token, TOKEN_LEN);
    strcpy(cfg.tun_device, "vpnfz0");
    for (int i = 0; i < KEY_LEN; i++) {
        prev_c2s[i] = (uint8_t)(0x40 + i);
        prev_s2c[i] = (uint8_t)(0x80 + i);
    }
    pair(udp);
    pair(tun);
}

/* Reads what the client sent: CONNECT_REQs become the pending request (the server opens
 * them), transport messages must open with the current or previous session's c2s key. */
static void read_client(void)
{
    static uint8_t d[DG_MAX];
    ssize_t n;
    while ((n = recv(udp[1], d, sizeof(d), 0)) >= 0) {
        struct vpn_hdr h;
        FUZZ_ASSERT(proto_hdr_parse(d, (size_t)n, &h) == HDR_OK);
        if (h.type == MSG_CONNECT_REQ) {
            FUZZ_ASSERT(hs_server_open(s_priv, s_pub, d, (size_t)n, &users, &pending) ==
                        HS_AUTHENTICATED);
            FUZZ_ASSERT(pending.ext);
            have_pending = true;
            continue;
        }
        FUZZ_ASSERT(proto_is_transport(h.type));
        uint8_t pt[DG_MAX];
        bool ok = false;
        for (int i = 0; i < issued_count && !ok; i++)
            if (issued[i].id == get_be32(d + HDR_LEN))
                ok = transport_open(pt, d, (size_t)n, issued[i].k_c2s);
        FUZZ_ASSERT(ok);
    }
}

static void hash_of(uint8_t out[16], const uint8_t *p, size_t n)
{
    crypto_generichash(out, 16, p, n, NULL, 0);
}

/* What the client wrote to its TUN: each plain packet a DATA plaintext we sealed, once. */
static void read_tun(void)
{
    static uint8_t d[OFFLOAD_READ_MAX + 16];
    ssize_t n;
    while ((n = recv(tun[1], d, sizeof(d), 0)) >= 0) {
        const uint8_t *p = d;
        size_t len = (size_t)n;
        if (c.tun_offload) {
            static const uint8_t zero[VNET_HDR_LEN];
            FUZZ_ASSERT(len >= VNET_HDR_LEN);
            if (memcmp(d, zero, VNET_HDR_LEN) != 0)
                continue;       /* a coalesced run: fuzz_gro checks those */
            p += VNET_HDR_LEN;
            len -= VNET_HDR_LEN;
        }
        uint8_t hsh[16];
        hash_of(hsh, p, len);
        int i;
        for (i = 0; i < n_sealed; i++)
            if (!sealed[i].delivered && memcmp(sealed[i].hash, hsh, 16) == 0)
                break;
        FUZZ_ASSERT(i < n_sealed);      /* never something we did not seal, never twice */
        sealed[i].delivered = true;
    }
}

static bool stopped;

/* The client reads everything queued, batch by batch, as its main loop would. */
static void run_client(void)
{
    while (queued && !stopped) {
        uint64_t before = c.rx_packets + c.rx_other + client_rx_dropped(&c);
        uint64_t batch = queued < BATCH_MAX ? queued : BATCH_MAX;
        int rc = datapath_from_udp(&c, conn_event);
        uint64_t after = c.rx_packets + c.rx_other + client_rx_dropped(&c);
        if (rc < 0) {
            FUZZ_ASSERT(authentic_stop);
            stopped = true;     /* the client exits */
            break;
        }
        /* Each datagram read is counted exactly once (a GRO write failure would count a
         * delivered packet again as tun_write: the socketpair never fails here). */
        FUZZ_ASSERT(after - before == batch && (uint64_t)rc == batch);
        queued -= batch;
        slots_tick(&c.slots);   /* as the main loop's timer does: released slots wiped */
        read_client();
        read_tun();
    }
    authentic_stop = false;
}

static void send_dg(const uint8_t *d, size_t len)
{
    if (stopped)
        return;
    if (queued >= 256)
        run_client();
    if (send(udp[1], d, len, 0) != (ssize_t)len)
        abort();
    queued++;
    if (n_sent < MAX_SENT) {
        sent[n_sent] = malloc(len ? len : 1);
        memcpy(sent[n_sent], d, len);
        sent_len[n_sent++] = len;
    }
}

static void connect_in_memory(void);

static void reset(void)
{
    static uint8_t drain[DG_MAX];
    while (recv(udp[0], drain, sizeof(drain), 0) >= 0 || recv(udp[1], drain, sizeof(drain), 0) >= 0 ||
           recv(tun[1], drain, sizeof(drain), 0) >= 0)
        ;
    for (int i = 0; i < n_sent; i++)
        free(sent[i]);
    n_sent = n_sealed = 0;
    queued = 0;
    stopped = authentic_stop = false;

    memset(&c, 0, sizeof(c));
    c.cfg = &cfg;
    memcpy(c.s_pub, s_pub, KEY_LEN);
    c.udp_fd = udp[0];
    c.tun_fd = tun[0];
    c.signal_fd = c.control_fd = c.stop_fd = -1;
    c.helper.fd = c.sock4 = c.sock6 = -1;    /* no helper: routes and lookups go nowhere */
    c.udp_watch = -1;
    strcpy(c.tun_name, cfg.tun_device);
    strcpy(c.server_text, "fuzz");
    c.tun_configured = true;
    c.tun_ip = CLIENT_IP;           /* a response keeping this address configures nothing */
    c.config.mtu = 1400;
    c.config.keepalive_s = 25;
    c.config.client_ip = CLIENT_IP;
    c.config.server_ip = 0x0a080001u;
    c.config.prefix_len = 24;
    have_pending = false;
    issued_count = 0;
    connect_in_memory();
}

/* An input for the state machine now. */
static struct sm_input now_input(enum sm_input_type type)
{
    struct sm_input in = { .type = type, .mono_ms = clock_monotonic_ms(),
                           .real_ms = clock_realtime_ms(), .server_ts = clock_realtime_ms() };
    return in;
}

/* Connected with a rekey behind it, without a handshake's cost per input: the state machine
 * is told of two accepted requests (PREV_SID, then SID) and the slots get their keys, as
 * conn.c does on an accepted response. The previous session is still in its overlap. */
static void connect_in_memory(void)
{
    struct sm_output out;
    struct sm_input in = now_input(SM_START);
    struct session_keys k;
    uint32_t window = REPLAY_WINDOW_MS_DEFAULT + CLIENT_CLOCK_SLACK_MS;
    client_sm_init(&c.sm);
    for (int i = 0; i < 2; i++) {
        client_sm_step(&c.sm, &in, &out);
        FUZZ_ASSERT(out.todo & SM_DO_REQUEST);
        in = now_input(SM_ACCEPTED);
        in.sid = i ? SID : PREV_SID;
        in.keepalive_s = 25;
        in.rekey_s = 600;
        client_sm_step(&c.sm, &in, &out);
        FUZZ_ASSERT(out.todo & SM_DO_INSTALL);
        memset(&k, 0, sizeof(k));
        if (i) {
            fuzz_unhex(k.k_c2s, KEY_LEN, V_K_C2S);
            fuzz_unhex(k.k_s2c, KEY_LEN, V_K_S2C);
        } else {
            memcpy(k.k_c2s, prev_c2s, KEY_LEN);
            memcpy(k.k_s2c, prev_s2c, KEY_LEN);
        }
        FUZZ_ASSERT(slots_install(&c.slots, in.sid, &k, window, 1400));
        issue(in.sid, k.k_c2s);
        /* Rekey due: the next tick asks for a request. */
        c.sm.cur_started_ms -= c.sm.rekey_ms;
        in = now_input(SM_TICK);
    }
    c.slots.cur->send_counter = 100;
    c.config.session_id = SID;
    sodium_memzero(&k, sizeof(k));
}

/* A rekey in progress: the client's timer sends a CONNECT_REQ, which the harness reads. */
static void start_rekey(void)
{
    if (c.sm.pending || c.sm.state != CLIENT_CONNECTED)
        return;
    c.sm.cur_started_ms = clock_monotonic_ms() - c.sm.rekey_ms;
    if (conn_tick(&c) < 0)
        stopped = true;
    read_client();
}

static void op_raw(struct cur *k)
{
    static uint8_t d[DG_MAX];
    size_t len = take16(k) % DG_MAX;
    for (size_t i = 0; i < len; i++)
        d[i] = take(k);
    send_dg(d, len);
}

static void op_sealed(struct cur *k)
{
    static const uint8_t types[] = { MSG_DATA, MSG_DATA, MSG_DATA, MSG_PING, MSG_PONG,
                                     MSG_DATA, MSG_DISCONNECT, MSG_DATA };
    static uint64_t next[3];
    static uint8_t pt[DG_MAX], d[DG_MAX];
    uint8_t sel = take(k);
    int which = sel % 3;
    uint32_t sid = which == 0 ? SID : which == 1 ? PREV_SID : take32(k);
    uint8_t key[KEY_LEN];
    if (which == 1)
        memcpy(key, prev_s2c, KEY_LEN);
    else
        fuzz_unhex(key, KEY_LEN, V_K_S2C);
    uint8_t type = types[(sel >> 2) & 7];
    if (type == MSG_DISCONNECT && !(take(k) & 1))
        type = MSG_DATA;    /* a DISCONNECT ends the session: keep them rare */
    uint64_t counter;
    uint8_t cm = take(k);
    switch (cm & 3) {
    case 0: counter = next[which]++; break;
    case 1: counter = next[which] > 0 ? next[which] - 1 - cm / 4 % 4 : 0; break;
    case 2: counter = next[which] + take16(k); next[which] = counter + 1; break;
    default: counter = (uint64_t)take32(k) << 32 | take32(k); break;
    }
    int64_t skew = (int64_t)(int16_t)take16(k) * (sel & 0x20 ? 1 : 4);
    size_t pt_len = take16(k) % (SLOT_DATA - TRANSPORT_OVERHEAD + 1);
    for (size_t i = 0; i < pt_len; i++)
        pt[i] = take(k);
    if (type == MSG_DATA && pt_len >= 20 && !(sel & 0x40)) {
        pt[0] = 0x45;
        put_be16(pt + 2, (uint16_t)pt_len);
        pt[9] = pt[9] & 1 ? 6 : 17;
    }
    size_t len = transport_seal(d, type, key, sid, counter, (uint64_t)((int64_t)client_server_time(&c) + skew),
                                pt, pt_len);
    bool intact = true;
    if (sel & 0x80) {
        uint16_t at = take16(k);
        if (at & 0x8000)
            len = at % len;                 /* cut short */
        else
            d[at % len] ^= (uint8_t)(1 << (at >> 12 & 7));
        intact = false;
    }
    if (intact && type == MSG_DATA && n_sealed < MAX_DATA) {
        hash_of(sealed[n_sealed].hash, pt, pt_len);
        sealed[n_sealed++].delivered = false;
    }
    send_dg(d, len);
}

static void op_response(struct cur *k)
{
    static uint8_t d[DG_MAX];
    uint8_t sel = take(k);
    if (!have_pending)
        start_rekey();
    if (!have_pending)
        return;
    uint64_t ts = client_server_time(&c) + take(k);
    size_t len;
    switch (sel % 4) {
    case 0:
    case 1: {   /* success, with the server's keys for this request */
        struct hs_config cfg_out = { .status = STATUS_OK, .prefix_len = 24, .mtu = 1400,
                                     .client_ip = sel & 0x10 ? CLIENT_IP : 0x0a080000u | take(k),
                                     .server_ip = 0x0a080001u, .keepalive_s = 25,
                                     .idle_timeout_s = 3600, .rekey_s = 600 };
        cfg_out.session_id = take32(k) | 1;
        cfg_out.route_count = take(k) % (MAX_ROUTES + 1);
        for (int i = 0; i < cfg_out.route_count; i++) {
            cfg_out.routes[i].net = take32(k);
            cfg_out.routes[i].prefix = take(k) % 33;
        }
        if (sel & 0x20)
            cfg_out.mtu = take16(k);
        uint8_t e_s_priv[KEY_LEN], e_s_pub[KEY_LEN];
        struct session_keys keys;
        memset(e_s_priv, take(k) | 1, sizeof(e_s_priv));
        crypto_scalarmult_base(e_s_pub, e_s_priv);
        if (!hs_session_keys(&keys, pending.ck1, e_s_priv, pending.e_c_pub, token))
            return;
        issue(cfg_out.session_id, keys.k_c2s);
        len = hs_build_response(d, ts, e_s_pub, keys.k_resp, pending.auth_mac, &cfg_out);
        /* A new address makes the client configure its TUN, which fails here: it exits. */
        if (cfg_out.client_ip != CLIENT_IP)
            authentic_stop = true;
        break;
    }
    case 2: {   /* failure in extension 1's form */
        uint8_t nonce[NONCE_LEN];
        for (int i = 0; i < NONCE_LEN; i++)
            nonce[i] = take(k);
        uint8_t status = take(k) % 7;
        if (status == STATUS_OK)
            status = STATUS_STALE_TIMESTAMP;
        len = hs_build_failure_ext(d, ts, pending.k_id, pending.auth_mac, nonce, status, 0);
        /* AUTH_FAILED ends the client; STALE_TIMESTAMP makes it retry at once (read below). */
        if (status == STATUS_AUTH_FAILED)
            authentic_stop = true;
        break;
    }
    default: {  /* the base form, which an extended request must never accept */
        struct hs_config f = { .status = STATUS_AUTH_FAILED };
        len = hs_build_response(d, ts, NULL, pending.k_id, pending.auth_mac, &f);
        break;
    }
    }
    if (sel & 0x80)
        d[take16(k) % len] ^= (uint8_t)(1 << (take(k) % 8));
    send_dg(d, len);
}

static void op_hint(struct cur *k)
{
    uint8_t d[SESSION_UNKNOWN_LEN + 8];
    uint8_t sel = take(k);
    uint32_t sid = sel & 1 ? take32(k) : SID;
    uint64_t counter = sel & 2 ? (uint64_t)take32(k) << 32 | take32(k) : take(k);
    size_t len = proto_session_unknown(d, sid, counter, client_server_time(&c));
    if (sel & 4)
        len = take(k) % sizeof(d);
    send_dg(d, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    reset();
    struct cur k = { data, size };
    while (k.n && !stopped) {
        uint8_t op = take(&k);
        switch (op % 7) {
        case 0: op_raw(&k); break;
        case 1: op_sealed(&k); break;
        case 2: op_response(&k); break;
        case 3: op_hint(&k); break;
        case 4:
            if (n_sent) {
                int i = take(&k) % n_sent;
                send_dg(sent[i], sent_len[i]);
            }
            break;
        case 5:
            run_client();
            read_client();
            break;
        default: {
            uint8_t sel = take(&k);
            if (sel & 1)
                c.sm.last_rx_ms = clock_monotonic_ms() - 2000;  /* quiet for 2 s */
            if (sel & 2)
                c.sm.last_hint_ms = 0;
            if (sel & 4)
                c.tun_offload = !c.tun_offload;
            if (sel & 8)
                start_rekey();
            break;
        }
        }
    }
    run_client();
    FUZZ_ASSERT(stopped || queued == 0);
    return 0;
}
