/* Fuzzes the enclave worker's dispatch table (enclave/worker.c, worker_handle) from the side
 * of a compromised main process: any request on any of the four input rings (in_rx, in_tun,
 * in_ctl, in_hs), with any metadata and data, in any order, and the network's datagrams inside
 * them. Worker 1 of 2, built in memory without a process, shared memory or doorbell: users
 * alice (the vectors' token) and bob, one live session (the vectors' id and keys, slot 3149,
 * which worker 1 owns), the enclave's clock in the harness's hands.
 *
 * A malformed request ends a real worker with _exit(WORKER_EXIT_MALFORMED), and the
 * supervisor restarts it. Here _exit is intercepted (defined below: the executable's
 * definition wins over libc's) and returns to the harness, which then checks that the worker
 * ended exactly when a model of the dispatch table says it must: on a request only a broken
 * or hostile main process could send (unknown op, op on the wrong ring, length out of range,
 * a session of the other worker, a datagram whose id differs from the metadata's, an accept
 * without a valid config block), and never on anything the network controls.
 *
 * Input: records, each an op byte and its fields (missing bytes read as zero).
 *   0 raw request: ring, op, len, aux, session, data as given (the worker may end);
 *   1 OP_DECRYPT of a message sealed here with a session's key: type, counter, timestamp,
 *     plaintext (an IPv4 packet from the session's address or another, or raw bytes);
 *   2 OP_DECRYPT of a raw datagram, with consistent metadata;
 *   3 OP_HELLO of a CONNECT_REQ built by hs_client_request (extension 1; with a device id,
 *     extension 5, when the selector's top bit is set) or
 *     hs_client_request_v1: user alice, bob, an unknown or any name, right or wrong token,
 *     timestamp around now, optionally bytes flipped;
 *   4 OP_ACCEPT of such a request with a config block (encoded from fields, or raw bytes) and
 *     a status; an accepted session's keys are learnt from the client's side and used later;
 *   5 OP_ENCRYPT on in_tun; 6 OP_SEAL_CONTROL (DISCONNECT); 7 OP_ERASE;
 *   8 the clocks move (realtime by a signed amount, monotonic forward);
 *   9 a user's token changes (generation bumped, as a SIGHUP reload does);
 * and from op byte 240 on (op % 4), WireGuard's:
 *   0 OP_WG_HELLO of one of the WireGuard vectors' initiations (tests/unit/gen_wg_vectors.py:
 *     peer A of alice with a preshared key at three times, B of bob, C nobody's), optionally
 *     bytes flipped; 1 OP_WG_ACCEPT of such an initiation (the last one or a new pick), a
 *     config block and a decision, sometimes a request block that is no RES_HELLO's; an
 *     accepted session of A's or B's T1 initiation is one the harness has keys for (the
 *     worker's ephemeral fixed through its test seam); 2 OP_WG_DECRYPT of a transport
 *     message sealed with such keys or another, optionally tampered; 3 a reload takes A out
 *     of the users file and puts it back (its entry renewed: its sessions die), except op
 *     byte 255: OP_WG_KEEPALIVE on in_ctl for a picked session.
 *
 * After every request: at most one result on each out ring; each result consistent (sealed
 * datagrams open with the session's s2c key to what was asked, handshake answers open on the
 * client's side with the status given, a HELLO names the user who sent it and never comes
 * from a tampered request; WireGuard's the same by its rules: a response is the Python
 * responder's, a sealed message opens with the initiator's key and says it is WireGuard's,
 * ours say they are ours); no result contains the server's private keys, a token, a
 * preshared key or a session key; and at the end, the worker's session count matches its
 * live slots. */
#include "fuzz_util.h"

#include <setjmp.h>
#include <sys/syscall.h>

#include "../../client/handshake_client.h"
#include "../../enclave/devices.h"
#include "../../enclave/wg_peers.h"
#include "../../enclave/wg_transport.h"
#include "../../enclave/worker.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/transport.h"
#include "vpn/wg_blake2s.h"

#include "../unit/vectors_wg.inc"

enum { RX, TUN, CTL, HS };
enum { WG_RECORDS = 240 };      /* op bytes from here: the WireGuard records (op % 4) */
enum { MAX_RECORDS = 32, MAX_KNOWN = 8, OTHER_WORKER_SLOT = 3148 };

static const uint32_t SID = 0x1a2b3c4d;         /* the vectors' session id: slot 3149 */
static const uint32_t ALICE_IP = 0x0a08000a;    /* 10.8.0.10 */
static const uint64_t NOW0 = V_CONNECT_REQ_TIMESTAMP + 2000;
static const uint64_t MONO0 = 5000000;

/* ---- the intercepted exit path ---- */

static jmp_buf worker_exit;
static volatile int in_worker;

void _exit(int status)
{
    if (in_worker) {
        in_worker = 0;
        longjmp(worker_exit, status + 1);
    }
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

/* ---- state ---- */

static struct worker w;
static struct pkt_slot req;
static uint8_t s_pub[KEY_LEN], alice_token[TOKEN_LEN], bob_token[TOKEN_LEN];
static uint8_t vec_c2s[KEY_LEN], vec_s2c[KEY_LEN];
static uint64_t now, mono;

/* Sessions the harness holds keys for (the preset one, and those it accepted). */
struct known {
    uint32_t sid;
    uint32_t client_ip;
    uint8_t c2s[KEY_LEN], s2c[KEY_LEN];
    uint64_t counter;
};
static struct known known[MAX_KNOWN];
static int n_known;

/* WireGuard: the vectors' initiations, the peers of the users file, the sessions the harness
 * holds keys for, and the initiation of the last WireGuard record. */
enum { WG_A_T0, WG_A_T1, WG_A_T2, WG_B_T1, WG_C_T1, WG_INITS };
static const uint32_t A_DEV_IP = 0x0a08001f, B_DEV_IP = 0x0a080020;
static uint8_t wg_inits[WG_INITS][WG_INIT_LEN], wg_eph[WG_KEY_LEN], wg_psk[WG_KEY_LEN];
static uint8_t wg_a_send[WG_KEY_LEN], wg_a_recv[WG_KEY_LEN], wg_b_send[WG_KEY_LEN],
    wg_b_recv[WG_KEY_LEN];
static struct wg_peer_list wg_list, wg_list_b_only;
struct wg_known {
    uint32_t sid;
    uint32_t client_ip;
    uint32_t peer_index;                /* the initiator's index: our messages' receiver */
    const uint8_t *send, *recv;         /* the initiator's keys */
    uint64_t counter;
};
static struct wg_known wg_known[MAX_KNOWN];
static int n_wg_known;
static int wg_which;
static bool wg_tampered;
static uint8_t wg_msg[WG_INIT_LEN];

/* The pending handshake of the last request built (to check the answers). */
static struct hs_client hs;
static const uint8_t *hs_token;
static bool hs_valid, hs_ext, hs_tampered;
static char hs_user[USERNAME_MAX + 1];
static uint8_t hs_req[CONNECT_REQ_LEN];
static uint8_t hs_device[DEVICE_ID_LEN];    /* extension 5's device id, zero when none */
static bool hs_have_req;

struct cur {
    const uint8_t *p;
    size_t n;
};

static uint8_t take(struct cur *c)
{
    if (!c->n)
        return 0;
    c->n--;
    return *c->p++;
}

static uint16_t take16(struct cur *c)
{
    return (uint16_t)(take(c) << 8 | take(c));
}

static uint32_t take32(struct cur *c)
{
    return (uint32_t)take16(c) << 16 | take16(c);
}

static void take_bytes(struct cur *c, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = take(c);
}

static bool owned(uint32_t sid)
{
    return (int)((sid & (SESSION_SLOTS - 1)) % (uint32_t)w.count) == w.index;
}

static void setup(void)
{
    uint8_t s_priv[KEY_LEN];
    if (sodium_init() < 0)
        abort();
    log_init(LOG_ERROR + 1, NULL);      /* fatal_request logs each malformed request */
    w.shm = calloc(1, sizeof(*w.shm));
    w.sec = calloc(1, sizeof(*w.sec));
    if (!w.shm || !w.sec)
        abort();
    worker_rings_init(&w.rings, w.shm);
    w.index = 1;
    w.count = 2;
    w.doorbell_fd = -1;
    w.replay_window_ms = 5000;
    w.key_max_age_ms = (600 + 120) * 1000ULL;
    fuzz_unhex(s_priv, KEY_LEN, V_SERVER_STATIC_PRIVATE);
    memcpy(w.sec->s_priv, s_priv, KEY_LEN);
    crypto_scalarmult_base(w.sec->s_pub, s_priv);
    memcpy(s_pub, w.sec->s_pub, KEY_LEN);
    fuzz_unhex(alice_token, TOKEN_LEN, V_AUTH_TOKEN_HEX);
    for (int i = 0; i < TOKEN_LEN; i++)
        bob_token[i] = (uint8_t)(0xb0 + i);
    fuzz_unhex(vec_c2s, KEY_LEN, V_K_C2S);
    fuzz_unhex(vec_s2c, KEY_LEN, V_K_S2C);
    memset(w.sec->phantom_key, 7, sizeof(w.sec->phantom_key));

    /* WireGuard, as the supervisor sets it up with [wireguard] enabled. */
    uint8_t wg_priv[WG_KEY_LEN];
    fuzz_unhex(wg_priv, WG_KEY_LEN, WGV_SERVER_PRIV);
    if (wg_blake2s_init() != 0 || !wg_identity_init(&w.sec->wg_id, wg_priv))
        abort();
    w.sec->wg_enabled = 1;
    static const char *const inits[WG_INITS] = { WGW_INIT_A_T0, WGW_INIT_A_T1, WGW_INIT_A_T2,
                                                 WGW_INIT_B_T1, WGW_INIT_C_T1 };
    for (int i = 0; i < WG_INITS; i++)
        fuzz_unhex(wg_inits[i], WG_INIT_LEN, inits[i]);
    fuzz_unhex(wg_eph, WG_KEY_LEN, WGW_SERVER_EPH_PRIV);
    w.wg_test_ephemeral = wg_eph;
    fuzz_unhex(wg_psk, WG_KEY_LEN, WGW_PEER_A_PSK);
    fuzz_unhex(wg_a_send, WG_KEY_LEN, WGW_A_SEND);
    fuzz_unhex(wg_a_recv, WG_KEY_LEN, WGW_A_RECV);
    fuzz_unhex(wg_b_send, WG_KEY_LEN, WGW_B_SEND);
    fuzz_unhex(wg_b_recv, WG_KEY_LEN, WGW_B_RECV);
    struct wg_peer_def *a = &wg_list.defs[0], *b = &wg_list.defs[1];
    strcpy(a->user, "alice");
    memcpy(a->device_id, "phone", 5);
    fuzz_unhex(a->public_key, WG_KEY_LEN, WGW_PEER_A_PUB);
    memcpy(a->psk, wg_psk, WG_KEY_LEN);
    strcpy(b->user, "bob");
    memcpy(b->device_id, "laptop", 6);
    fuzz_unhex(b->public_key, WG_KEY_LEN, WGW_PEER_B_PUB);
    wg_list.count = 2;
    wg_list_b_only.defs[0] = *b;
    wg_list_b_only.count = 1;
}

/* The peer table as a start makes it: A and B, the stamp floor at the vectors' base time (so
 * that all their initiations are new), a fixed index key (the runs repeat exactly). */
static void reset_wg_peers(void)
{
    struct wg_peer_table *t = &w.sec->wg_peers;
    int skipped;
    memset(t, 0, sizeof(*t));
    wg_peers_init(t);
    memset(t->hash_key, 9, sizeof(t->hash_key));
    if (wg_peers_admit(t, &w.sec->users, &wg_list, (uint64_t)WGW_BASE_UNIX_S * 1000,
                       &skipped) != 2)
        abort();
    n_wg_known = 0;
    wg_which = WG_A_T1;
    memcpy(wg_msg, wg_inits[wg_which], WG_INIT_LEN);
    wg_tampered = false;
}

static void reset(void)
{
    struct enclave_secrets *s = w.sec;
    for (uint32_t i = (uint32_t)w.index; i < SESSION_SLOTS; i += (uint32_t)w.count)
        if (s->slots[i].session_id)
            memset(&s->slots[i], 0, sizeof(s->slots[i]));
    s->auth_fail_tat = 0;
    memset(s->phantom_fail_tat, 0, sizeof(s->phantom_fail_tat));
    memset(&s->users, 0, sizeof(s->users));
    s->users.count = 2;
    strcpy(s->users.users[0].name, "alice");
    memcpy(s->users.users[0].token, alice_token, TOKEN_LEN);
    strcpy(s->users.users[1].name, "bob");
    memcpy(s->users.users[1].token, bob_token, TOKEN_LEN);
    for (int i = 0; i < 2; i++)
        s->users.users[i].last_request_ts = NOW0 - 60000;
    now = NOW0;
    mono = MONO0;
    w.mono_ms = mono;
    w.now_ms = now;

    struct key_slot *k = &s->slots[SID & (SESSION_SLOTS - 1)];
    k->session_id = SID;
    k->client_ip = ALICE_IP;
    k->user_index = 0;
    k->created_ms = mono;
    memcpy(k->k_c2s, vec_c2s, KEY_LEN);
    memcpy(k->k_s2c, vec_s2c, KEY_LEN);
    replay_init(&k->rx);
    static const uint8_t implicit[DEVICE_ID_LEN];
    (void)devices_bind(s, &s->users.users[0], implicit, SID);

    memset(&w.shm->ctl, 0, sizeof(w.shm->ctl));
    w.shm->ctl.sessions = 1;
    w.dec_pending = w.enc_pending = 0;

    memset(known, 0, sizeof(known));
    known[0].sid = SID;
    known[0].client_ip = ALICE_IP;
    memcpy(known[0].c2s, vec_c2s, KEY_LEN);
    memcpy(known[0].s2c, vec_s2c, KEY_LEN);
    n_known = 1;
    hs_valid = hs_have_req = false;
    reset_wg_peers();
}

/* A session id for the next request: a known one (ours, or WireGuard's when there is one),
 * another of this worker's, one of the other worker's, or any. */
static uint32_t pick_session(struct cur *c, struct known **kn)
{
    uint8_t sel = take(c);
    *kn = NULL;
    switch (sel % 5) {
    case 1:
        if (n_wg_known)
            return wg_known[take(c) % n_wg_known].sid;
        /* fall through */
    case 0:
        *kn = &known[take(c) % n_known];
        return (*kn)->sid;
    case 2:
        return (take32(c) << SESSION_SLOT_BITS) | (uint32_t)((take16(c) % 2048) * 2 + 1);
    case 3:
        return (take32(c) << SESSION_SLOT_BITS) | OTHER_WORKER_SLOT;
    default:
        return take32(c);
    }
}

/* ---- the model of the dispatch table: when must the worker end? ---- */

/* The decisions an accept may carry (enclave_ipc.h, OP_ACCEPT; docs/PROTOCOL.md extension 6):
 * OK, SERVER_FULL or POOL_EXHAUSTED without a reason, AUTH_FAILED with one. */
static bool accept_decision_valid(uint16_t aux)
{
    uint8_t status = (uint8_t)aux, refusal = (uint8_t)(aux >> 8);
    if (status == STATUS_OK || status == STATUS_SERVER_FULL || status == STATUS_POOL_EXHAUSTED)
        return refusal == REFUSAL_NONE;
    return status == STATUS_AUTH_FAILED && refusal >= 1 && refusal <= REFUSAL_REASON_MAX;
}

static bool expect_exit(int ring, const struct pkt_meta *m, const uint8_t *data)
{
    if (m->len > SLOT_DATA)
        return true;
    /* WireGuard's (enabled here): the request block of an accept must be RES_HELLO's (the
     * initiation, then zeros) and its config valid with an MTU in range; a transport
     * message's receiver must be the metadata's session, one of this worker's. */
    if (ring == HS && m->op == OP_WG_HELLO && m->len == WG_INIT_LEN)
        return false;
    if (ring == CTL && m->op == OP_WG_ACCEPT && m->len >= CONNECT_REQ_LEN + RESP_CONFIG_BASE &&
        m->len <= CONNECT_REQ_LEN + RESP_CONFIG_MAX && accept_decision_valid(m->aux)) {
        for (size_t i = WG_INIT_LEN; i < CONNECT_REQ_LEN; i++)
            if (data[i])
                return true;
        struct hs_config cfg;
        return !hs_config_decode_from_main(data + CONNECT_REQ_LEN, m->len - CONNECT_REQ_LEN,
                                           &cfg) ||
               cfg.mtu < MTU_MIN || cfg.mtu > MTU_MAX;
    }
    if (ring == RX && m->op == OP_WG_DECRYPT) {
        if (m->len < WG_DATA_MIN_LEN || data[0] != WG_MSG_TRANSPORT || (data[1] | data[2] | data[3]))
            return false;   /* the network's garbage */
        uint32_t receiver = wg_get_le32(data + WG_DATA_RECEIVER);
        return receiver != m->session_id || !owned(receiver);
    }
    if (ring == HS && m->op == OP_HELLO && m->len == CONNECT_REQ_LEN)
        return false;
    if (ring == RX && m->op == OP_DECRYPT) {
        struct vpn_hdr h;
        uint32_t sid;
        uint64_t counter;
        if (m->len < TRANSPORT_OVERHEAD || proto_hdr_parse(data, m->len, &h) != HDR_OK ||
            !proto_is_transport(h.type) || !proto_transport_ids(data, &h, &sid, &counter))
            return false;   /* the network's garbage: counted, never fatal */
        return sid != m->session_id || !owned(sid);
    }
    if (ring == TUN && m->op == OP_ENCRYPT && m->len <= MTU_MAX)
        return !owned(m->session_id);
    if (ring == CTL && m->op == OP_ACCEPT && m->len >= CONNECT_REQ_LEN + RESP_CONFIG_BASE &&
        m->len <= CONNECT_REQ_LEN + RESP_CONFIG_MAX && accept_decision_valid(m->aux)) {
        struct hs_config cfg;
        return !hs_config_decode_from_main(data + CONNECT_REQ_LEN, m->len - CONNECT_REQ_LEN,
                                           &cfg);
    }
    if (ring == CTL && m->op == OP_SEAL_CONTROL && m->aux == MSG_DISCONNECT &&
        m->len == DISCONNECT_PLAINTEXT)
        return !owned(m->session_id);
    if (ring == CTL && m->op == OP_ERASE)
        return !owned(m->session_id);
    if (ring == CTL && m->op == OP_WG_KEEPALIVE && m->len == 0)
        return !owned(m->session_id);
    return true;
}

/* ---- checking what came out ---- */

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle)
{
    return n >= KEY_LEN && memmem(hay, n, needle, KEY_LEN) != NULL;
}

static void no_secret_in(const uint8_t *d, size_t n)
{
    FUZZ_ASSERT(!contains(d, n, w.sec->s_priv) && !contains(d, n, w.sec->wg_id.priv));
    FUZZ_ASSERT(!contains(d, n, alice_token) && !contains(d, n, bob_token));
    FUZZ_ASSERT(!contains(d, n, wg_psk) && !contains(d, n, wg_eph));
    for (int i = 0; i < n_known; i++)
        FUZZ_ASSERT(!contains(d, n, known[i].c2s) && !contains(d, n, known[i].s2c));
    FUZZ_ASSERT(!contains(d, n, wg_a_send) && !contains(d, n, wg_a_recv) &&
                !contains(d, n, wg_b_send) && !contains(d, n, wg_b_recv));
}

static struct wg_known *wg_known_of(uint32_t sid)
{
    for (int i = 0; i < n_wg_known; i++)
        if (wg_known[i].sid == sid)
            return &wg_known[i];
    return NULL;
}

/* A WireGuard datagram out of OP_ENCRYPT: a transport message to the initiator's index,
 * opening with the initiator's key (when the harness has it) to what was asked, padded. */
static void check_wg_sealed(const struct pkt_slot *r, const struct pkt_meta *m,
                            const uint8_t *sent_pt)
{
    const struct key_slot *k = &w.sec->slots[r->meta.session_id & (SESSION_SLOTS - 1)];
    FUZZ_ASSERT((m->op == OP_ENCRYPT || (m->op == OP_WG_KEEPALIVE && m->len == 0)) &&
                r->meta.session_id == m->session_id);
    FUZZ_ASSERT(k->session_id == r->meta.session_id && k->format == KEY_FORMAT_WG);
    FUZZ_ASSERT(wg_classify(r->data, r->meta.len) == WG_MSG_TRANSPORT);
    FUZZ_ASSERT(wg_get_le32(r->data + WG_DATA_RECEIVER) == k->peer_index);
    FUZZ_ASSERT(r->meta.len == wg_transport_sealed_len(m->len, k->mtu));
    struct wg_known *kn = wg_known_of(r->meta.session_id);
    if (kn) {
        uint8_t pt[SLOT_DATA];
        size_t padded = r->meta.len - WG_DATA_MIN_LEN;
        FUZZ_ASSERT(wg_transport_open(pt, r->data, r->data + WG_DATA_HEADER_LEN,
                                      r->meta.len - WG_DATA_HEADER_LEN, kn->recv));
        if (sent_pt)
            FUZZ_ASSERT(memcmp(pt, sent_pt, m->len) == 0);
        for (size_t i = m->len; i < padded; i++)
            FUZZ_ASSERT(pt[i] == 0);
    }
}

/* A WireGuard response: to the initiation's sender, from our index (the session id); for A's
 * and B's T1 initiations the Python responder's bytes, and then the harness knows the keys. */
static void check_wg_accepted(const struct pkt_slot *r, const struct pkt_meta *m)
{
    FUZZ_ASSERT(m->op == OP_WG_ACCEPT && m->aux == STATUS_OK);
    FUZZ_ASSERT(!wg_tampered && wg_which != WG_C_T1);
    FUZZ_ASSERT(r->meta.len == WG_RESP_LEN && r->data[0] == WG_MSG_RESPONSE);
    FUZZ_ASSERT(owned(r->meta.session_id));
    FUZZ_ASSERT(wg_get_le32(r->data + WG_RESP_SENDER) == r->meta.session_id);
    FUZZ_ASSERT(wg_get_le32(r->data + WG_RESP_RECEIVER) == wg_get_le32(wg_msg + WG_INIT_SENDER));
    if (wg_which != WG_A_T1 && wg_which != WG_B_T1)
        return;
    bool a = wg_which == WG_A_T1;
    uint8_t want[WG_RESP_LEN], mac1_key[WG_HASH_LEN];
    fuzz_unhex(want, sizeof(want), a ? WGW_RESPONSE_A_T1 : WGW_RESPONSE_B_T1);
    fuzz_unhex(mac1_key, sizeof(mac1_key), a ? WGW_A_MAC1_KEY : WGW_B_MAC1_KEY);
    wg_put_le32(want + WG_RESP_SENDER, r->meta.session_id);
    FUZZ_ASSERT(wg_mac(want + WG_RESP_MAC1, mac1_key, sizeof(mac1_key), want, WG_RESP_MAC1));
    FUZZ_ASSERT(memcmp(r->data, want, WG_RESP_LEN) == 0);
    struct hs_config sent;
    FUZZ_ASSERT(hs_config_decode_from_main(req.data + CONNECT_REQ_LEN, m->len - CONNECT_REQ_LEN,
                                           &sent));
    if (n_wg_known < MAX_KNOWN)
        wg_known[n_wg_known++] = (struct wg_known){
            .sid = r->meta.session_id, .client_ip = sent.client_ip,
            .peer_index = wg_get_le32(wg_msg + WG_INIT_SENDER),
            .send = a ? wg_a_send : wg_b_send, .recv = a ? wg_a_recv : wg_b_recv };
}

static struct known *known_of(uint32_t sid)
{
    for (int i = 0; i < n_known; i++)
        if (known[i].sid == sid)
            return &known[i];
    return NULL;
}

/* Checks the batch's results (sent_pt: what an OP_ENCRYPT asked to seal, else NULL). */
static void check_results(int ring, const struct pkt_meta *m, const uint8_t *sent_pt)
{
    FUZZ_ASSERT(w.dec_pending <= 1 && w.enc_pending <= 1);
    for (uint32_t i = 0; i < w.enc_pending; i++) {
        struct pkt_slot *r = ring_produce_slot(&w.rings.out_enc, i);
        struct vpn_hdr h;
        uint32_t sid;
        uint64_t counter;
        FUZZ_ASSERT(r->meta.op == RES_SEALED && r->meta.worker == w.index);
        FUZZ_ASSERT(r->meta.len <= SLOT_DATA);
        no_secret_in(r->data, r->meta.len);
        if (r->meta.aux == HELLO_WIREGUARD) {
            check_wg_sealed(r, m, sent_pt);
            continue;
        }
        FUZZ_ASSERT(r->meta.aux == 0);      /* ours: sent from our port */
        FUZZ_ASSERT(r->meta.len >= TRANSPORT_OVERHEAD);
        FUZZ_ASSERT(proto_hdr_parse(r->data, r->meta.len, &h) == HDR_OK &&
                    proto_is_transport(h.type) &&
                    proto_transport_ids(r->data, &h, &sid, &counter));
        FUZZ_ASSERT(sid == r->meta.session_id && owned(sid));
        struct known *k = known_of(sid);
        if (k) {
            uint8_t pt[SLOT_DATA];
            FUZZ_ASSERT(transport_open(pt, r->data, r->meta.len, k->s2c));
            size_t pt_len = r->meta.len - TRANSPORT_OVERHEAD;
            if (h.type == MSG_DISCONNECT)
                FUZZ_ASSERT(pt_len == 1);
            if (sent_pt && h.type == MSG_DATA)
                FUZZ_ASSERT(pt_len == m->len && memcmp(pt, sent_pt, pt_len) == 0);
        }
    }
    for (uint32_t i = 0; i < w.dec_pending; i++) {
        struct pkt_slot *r = ring_produce_slot(&w.rings.out_dec, i);
        FUZZ_ASSERT(r->meta.worker == w.index && r->meta.len <= SLOT_DATA);
        no_secret_in(r->data, r->meta.len);
        bool wg = m->op == OP_WG_HELLO || m->op == OP_WG_ACCEPT || m->op == OP_WG_DECRYPT;
        switch (r->meta.op) {
        case RES_DATA: {
            const struct key_slot *k = &w.sec->slots[r->meta.session_id & (SESSION_SLOTS - 1)];
            FUZZ_ASSERT(ring == RX && (m->op == OP_DECRYPT || m->op == OP_WG_DECRYPT) &&
                        r->meta.len >= 20);
            FUZZ_ASSERT(r->meta.len + (wg ? WG_DATA_MIN_LEN : TRANSPORT_OVERHEAD) <= m->len);
            FUZZ_ASSERT(k->format == (wg ? KEY_FORMAT_WG : KEY_FORMAT_OURS));
            FUZZ_ASSERT(r->data[0] >> 4 == 4 && get_be16(r->data + 2) == r->meta.len);
            FUZZ_ASSERT(get_be32(r->data + 12) == k->client_ip);
            break;
        }
        case RES_KEEPALIVE:
            FUZZ_ASSERT(ring == RX && (m->op == OP_DECRYPT || m->op == OP_WG_DECRYPT) &&
                        r->meta.len == 0);
            break;
        case RES_DISCONNECT:
            FUZZ_ASSERT(ring == RX && m->op == OP_DECRYPT && r->meta.len == 0);
            break;
        case RES_HELLO:
            if (wg) {
                /* Only an untouched initiation of a device of an enabled user. */
                static const char *const who[WG_INITS] = { "alice", "alice", "alice", "bob" };
                static const char *const dev[WG_INITS] = { "phone", "phone", "phone", "laptop" };
                uint8_t id[DEVICE_ID_LEN] = { 0 };
                FUZZ_ASSERT(ring == HS && m->op == OP_WG_HELLO && r->meta.aux == HELLO_WIREGUARD);
                FUZZ_ASSERT(!wg_tampered && wg_which != WG_C_T1);
                FUZZ_ASSERT(memcmp(r->data, wg_msg, WG_INIT_LEN) == 0);
                for (size_t j = WG_INIT_LEN; j < CONNECT_REQ_LEN; j++)
                    FUZZ_ASSERT(r->data[j] == 0);
                memcpy(id, dev[wg_which], strlen(dev[wg_which]));
                FUZZ_ASSERT(memcmp(r->data + CONNECT_REQ_LEN, id, DEVICE_ID_LEN) == 0);
                FUZZ_ASSERT(r->meta.len == HELLO_USER_OFF + strlen(who[wg_which]) &&
                            memcmp(r->data + HELLO_USER_OFF, who[wg_which],
                                   strlen(who[wg_which])) == 0);
                break;
            }
            FUZZ_ASSERT(ring == HS && m->op == OP_HELLO);
            FUZZ_ASSERT(r->meta.len > HELLO_USER_OFF);
            /* Only an untouched request of a real user with the right token says hello. */
            FUZZ_ASSERT(hs_valid && !hs_tampered && hs_token != NULL);
            FUZZ_ASSERT(r->meta.len - HELLO_USER_OFF == strlen(hs_user) &&
                        memcmp(r->data + HELLO_USER_OFF, hs_user, strlen(hs_user)) == 0);
            FUZZ_ASSERT(memcmp(r->data, hs_req, CONNECT_REQ_LEN) == 0);
            FUZZ_ASSERT(memcmp(r->data + CONNECT_REQ_LEN, hs_device, DEVICE_ID_LEN) == 0);
            break;
        case RES_REPLY: {
            if (wg) {
                /* WireGuard has no refusal message: nothing to send, the status kept. */
                FUZZ_ASSERT(ring == CTL && m->op == OP_WG_ACCEPT && r->meta.len == 0 &&
                            r->meta.aux != STATUS_OK);
                break;
            }
            FUZZ_ASSERT((ring == HS && m->op == OP_HELLO) || (ring == CTL && m->op == OP_ACCEPT));
            FUZZ_ASSERT(r->meta.len == CONNECT_FAIL_EXT_LEN && r->meta.aux != STATUS_OK);
            /* A base v1 request is never answered with a failure (extension 1). */
            FUZZ_ASSERT(!hs_valid || hs_ext || hs_tampered);
            if (hs_valid && !hs_tampered) {
                struct hs_config cfg;
                struct session_keys keys;
                FUZZ_ASSERT(hs_client_response(&hs, r->data, r->meta.len,
                                               hs_token ? hs_token : alice_token, &cfg,
                                               &keys) == HSC_REJECTED);
                FUZZ_ASSERT(cfg.status == r->meta.aux);
                /* A reason only on an accept's AUTH_FAILED, and the one it carried. */
                FUZZ_ASSERT(cfg.refusal == REFUSAL_NONE ||
                            (ring == CTL && cfg.status == STATUS_AUTH_FAILED &&
                             cfg.refusal == (uint8_t)(m->aux >> 8)));
            }
            break;
        }
        case RES_ACCEPTED: {
            if (wg) {
                FUZZ_ASSERT(ring == CTL && r->meta.aux == HELLO_WIREGUARD);
                check_wg_accepted(r, m);
                break;
            }
            FUZZ_ASSERT(ring == CTL && m->op == OP_ACCEPT && m->aux == STATUS_OK);
            FUZZ_ASSERT(hs_valid && !hs_tampered && hs_token != NULL);
            FUZZ_ASSERT(owned(r->meta.session_id));
            struct hs_config cfg;
            struct session_keys keys;
            struct hs_config sent;
            FUZZ_ASSERT(hs_config_decode_from_main(req.data + CONNECT_REQ_LEN,
                                                   m->len - CONNECT_REQ_LEN, &sent));
            enum hs_client_verdict v = hs_client_response(&hs, r->data, r->meta.len, hs_token,
                                                          &cfg, &keys);
            /* The enclave seals the main process's config as it is (the client clamps the
             * MTU afterwards, push_policy.h). */
            FUZZ_ASSERT(v == HSC_ACCEPTED);
            FUZZ_ASSERT(cfg.session_id == r->meta.session_id);
            FUZZ_ASSERT(cfg.client_ip == sent.client_ip && cfg.mtu == sent.mtu &&
                        cfg.route_count == sent.route_count);
            /* Extension 4: the DNS block to a request that asked, as the main process gave
             * it (or empty), and to no other. */
            FUZZ_ASSERT(cfg.dns_block == ((hs.flags & REQ_FLAG_DNS) != 0));
            FUZZ_ASSERT(!cfg.dns_block || cfg.dns_count == (sent.dns_block ? sent.dns_count : 0));
            if (n_known < MAX_KNOWN) {
                struct known *k = &known[n_known++];
                k->sid = cfg.session_id;
                k->client_ip = cfg.client_ip;
                memcpy(k->c2s, keys.k_c2s, KEY_LEN);
                memcpy(k->s2c, keys.k_s2c, KEY_LEN);
                k->counter = 0;
            }
            break;
        }
        default:
            FUZZ_ASSERT(!"unknown result");
        }
    }
    w.dec_pending = w.enc_pending = 0;  /* consumed */
}

/* Hands req to the worker on ring; checks the exit model and the results. */
static void submit(int ring, const uint8_t *sent_pt)
{
    static struct ring *rings[4];
    rings[RX] = &w.rings.in_rx;
    rings[TUN] = &w.rings.in_tun;
    rings[CTL] = &w.rings.in_ctl;
    rings[HS] = &w.rings.in_hs;
    struct pkt_meta m = req.meta;
    bool must_exit = expect_exit(ring, &m, req.data);
    int st = setjmp(worker_exit);
    if (st == 0) {
        in_worker = 1;
        worker_handle(&w, rings[ring], &req, now);
        in_worker = 0;
        FUZZ_ASSERT(!must_exit);
        check_results(ring, &m, sent_pt);
    } else {
        FUZZ_ASSERT(st - 1 == WORKER_EXIT_MALFORMED);
        FUZZ_ASSERT(must_exit);
        /* A restarted worker: its unpublished results are gone, shared state stays. */
        w.dec_pending = w.enc_pending = 0;
    }
}

static void set_peer(struct cur *c)
{
    memset(&req.meta.peer, 0, sizeof(req.meta.peer));
    req.meta.peer.sin6_family = AF_INET6;
    req.meta.peer.sin6_port = take16(c);
    req.meta.peer.sin6_addr.s6_addr[15] = take(c);
}

/* ---- records ---- */

static void raw_request(struct cur *c)
{
    static const uint16_t ops[] = { OP_HELLO, OP_ACCEPT, OP_DECRYPT, OP_ENCRYPT,
                                    OP_SEAL_CONTROL, OP_ERASE, 0, OP_WG_HELLO };
    struct known *kn;
    int ring = take(c) % 4;
    uint8_t sel = take(c);
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = sel & 0x80 ? take16(c) : ops[sel & 7];
    uint16_t len = take16(c);
    req.meta.len = sel & 0x40 ? len : (uint16_t)(len % (SLOT_DATA + 64));
    req.meta.aux = sel & 0x20 ? take16(c) : (sel & 0x10 ? MSG_DISCONNECT : STATUS_OK);
    req.meta.session_id = pick_session(c, &kn);
    req.meta.cookie = take32(c);
    set_peer(c);
    size_t n = req.meta.len < SLOT_DATA ? req.meta.len : SLOT_DATA;
    take_bytes(c, req.data, n);
    hs_valid = false;
    submit(ring, NULL);
}

/* An IPv4 packet of total length len (and header field total), from src. */
static void ipv4(uint8_t *p, size_t len, uint16_t total, uint32_t src, uint8_t ver_ihl)
{
    memset(p, 0, len < 20 ? len : 20);
    if (len < 20)
        return;
    p[0] = ver_ihl;
    put_be16(p + 2, total);
    p[8] = 64;
    p[9] = 17;
    put_be32(p + 12, src);
    put_be32(p + 16, 0xc0a8640a);
}

static void decrypt_sealed(struct cur *c)
{
    static const uint8_t types[] = { MSG_DATA, MSG_DATA, MSG_PING, MSG_PONG, MSG_DATA,
                                     MSG_DATA, MSG_PING, MSG_DISCONNECT };
    uint8_t pt[SLOT_DATA];
    struct known *kn;
    uint8_t sel = take(c);
    uint32_t sid = pick_session(c, &kn);
    if (!kn)
        kn = &known[0];     /* sealed with a key we have, under another id */
    uint8_t type = types[sel & 7];
    uint64_t counter;
    switch ((sel >> 3) & 3) {
    case 0: counter = kn->counter++; break;
    case 1: counter = kn->counter > 0 ? kn->counter - 1 - take(c) % 8 : 0; break;
    case 2: counter = kn->counter + take16(c); kn->counter = counter + 1; break;
    default: counter = (uint64_t)take32(c) << 32 | take32(c); break;
    }
    int32_t skew = (int32_t)(int16_t)take16(c) * (sel & 0x20 ? 4 : 1);
    size_t pt_len = take16(c) % (SLOT_DATA - TRANSPORT_OVERHEAD + 1);
    if (type == MSG_DISCONNECT)
        pt_len = 1;
    take_bytes(c, pt, pt_len);
    if (type == MSG_DATA && !(sel & 0x40)) {
        uint8_t how = take(c);
        uint16_t total = how & 1 ? (uint16_t)pt_len : take16(c);
        uint32_t src = how & 2 ? kn->client_ip : take32(c);
        ipv4(pt, pt_len, total, src, how & 4 ? take(c) : 0x45);
    }
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_DECRYPT;
    req.meta.len = (uint16_t)transport_seal(req.data, type, kn->c2s, sid, counter,
                                            (uint64_t)((int64_t)now + skew), pt, pt_len);
    req.meta.session_id = sid;
    set_peer(c);
    if (!owned(sid))
        return;     /* the RX thread hands it to the other worker: not ours to judge */
    hs_valid = false;
    submit(RX, NULL);
}

static void decrypt_raw(struct cur *c)
{
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_DECRYPT;
    req.meta.len = (uint16_t)(take16(c) % (SLOT_DATA + 1));
    take_bytes(c, req.data, req.meta.len);
    if (req.meta.len >= HDR_LEN + 4) {
        /* What the RX thread does: the id from the datagram, to the worker owning it. */
        uint32_t sid = get_be32(req.data + HDR_LEN);
        if (!owned(sid))
            put_be32(req.data + HDR_LEN, sid ^ 1);
        req.meta.session_id = get_be32(req.data + HDR_LEN);
    }
    set_peer(c);
    hs_valid = false;
    submit(RX, NULL);
}

/* Builds a CONNECT_REQ into hs_req (and hs) from the input. */
static void build_request(struct cur *c)
{
    uint8_t e[KEY_LEN];
    uint8_t sel = take(c);
    fuzz_unhex(e, KEY_LEN, V_CLIENT_EPHEMERAL_PRIVATE);
    e[0] ^= take(c);
    e[1] ^= take(c);
    const uint8_t *token;
    switch (sel & 3) {
    case 0: strcpy(hs_user, "alice"); token = alice_token; break;
    case 1: strcpy(hs_user, "bob"); token = bob_token; break;
    case 2: strcpy(hs_user, "mallory"); token = alice_token; break;
    default: {
        size_t n = take(c) % USERNAME_MAX + 1;
        for (size_t i = 0; i < n; i++)
            hs_user[i] = (char)(take(c) | 1);   /* no NUL inside */
        hs_user[n] = '\0';
        token = alice_token;
        break;
    }
    }
    bool right = !(sel & 4);
    uint8_t wrong[TOKEN_LEN];
    if (!right) {
        memcpy(wrong, token, TOKEN_LEN);
        wrong[take(c) % TOKEN_LEN] ^= 0x55;
    }
    uint64_t ts;
    switch ((sel >> 3) & 3) {
    case 0: ts = now + take(c); break;
    case 1: ts = now - 60000 - take16(c); break;    /* before the recorded one: stale */
    case 2: ts = now + (uint64_t)take32(c) * 1000; break;   /* up to 136 years ahead */
    default: ts = (uint64_t)take32(c) << 32 | take32(c); break;
    }
    hs_ext = !(sel & 0x20);
    memset(hs_device, 0, sizeof(hs_device));
    if (hs_ext && (sel & 0x80)) {       /* extension 5: a device id (never all zero) */
        for (int i = 0; i < DEVICE_ID_LEN; i++)
            hs_device[i] = take(c);
        hs_device[0] |= 1;
    }
    /* Extended requests with every flag known (WINDOW, extension 4's DNS, extension 5's
     * device) or none. */
    bool ok = !hs_ext ? hs_client_request_v1(&hs, e, s_pub, hs_user, right ? token : wrong, ts,
                                             hs_req)
            : (sel & 0x80) ? hs_client_request_device(&hs, e, s_pub, hs_user,
                                                      right ? token : wrong, ts, REQ_FLAGS_KNOWN,
                                                      hs_device, hs_req)
            : hs_client_request(&hs, e, s_pub, hs_user, right ? token : wrong, ts, hs_req);
    if (!ok)
        abort();
    /* The right token for a real user: the enclave should accept it (if fresh). */
    hs_token = right && strcmp(hs_user, "mallory") != 0 && (sel & 3) != 3 ? token : NULL;
    hs_tampered = false;
    if (sel & 0x40) {
        uint8_t orig[CONNECT_REQ_LEN];
        memcpy(orig, hs_req, sizeof(orig));
        int flips = take(c) % 4 + 1;
        for (int i = 0; i < flips; i++) {
            size_t at = take16(c) % CONNECT_REQ_LEN;
            hs_req[at] ^= take(c);
        }
        /* Flips may cancel out; and an extended request's mac2 (extension 3) is the main
         * process's business, covered by nothing the enclave checks, so a flip there changes
         * no answer. */
        if (hs_ext)
            memcpy(orig + HDR_LEN + REQ_MAC2_OFF, hs_req + HDR_LEN + REQ_MAC2_OFF, REQ_MACX_LEN);
        hs_tampered = memcmp(orig, hs_req, sizeof(orig)) != 0;
    }
    hs_valid = true;
    hs_have_req = true;
}

static void hello(struct cur *c)
{
    build_request(c);
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_HELLO;
    req.meta.len = CONNECT_REQ_LEN;
    memcpy(req.data, hs_req, CONNECT_REQ_LEN);
    set_peer(c);
    submit(HS, NULL);
}

static void accept_request(struct cur *c)
{
    uint8_t sel = take(c);
    if (!hs_have_req || (sel & 1))
        build_request(c);
    hs_valid = true;    /* req holds hs_req, new or the last one again */
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_ACCEPT;
    req.meta.aux = sel & 2 ? take(c) % 8 : STATUS_OK;
    memcpy(req.data, hs_req, CONNECT_REQ_LEN);
    size_t cfg_len;
    if (sel & 4) {
        cfg_len = take(c) % (RESP_CONFIG_MAX + 16);
        take_bytes(c, req.data + CONNECT_REQ_LEN, cfg_len);
    } else {
        struct hs_config cfg = { .prefix_len = 24, .mtu = 1400, .client_ip = 0x0a080000 | take(c),
                                 .server_ip = 0x0a080001, .keepalive_s = 25, .rekey_s = 600,
                                 .idle_timeout_s = 3600 };
        cfg.route_count = take(c) % (MAX_ROUTES + 1);
        for (int i = 0; i < cfg.route_count; i++) {
            cfg.routes[i].net = take32(c);
            cfg.routes[i].prefix = take(c) % 33;
        }
        if (take(c) & 1) {              /* a server with DNS settings (extension 4) */
            cfg.dns_block = true;
            cfg.dns_count = take(c) % (DNS_SERVERS_MAX + 1);
            for (int i = 0; i < cfg.dns_count; i++)
                cfg.dns[i] = take32(c);
            strcpy(cfg.dns_search, take(c) & 1 ? "home.lan" : "");
        }
        cfg.session_id = take32(c);     /* ignored: the worker chooses */
        cfg_len = hs_config_encode(req.data + CONNECT_REQ_LEN, &cfg);
    }
    req.meta.len = (uint16_t)(CONNECT_REQ_LEN + cfg_len);
    set_peer(c);
    submit(CTL, NULL);
}

static void encrypt(struct cur *c)
{
    static uint8_t pt[SLOT_DATA];
    struct known *kn;
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_ENCRYPT;
    req.meta.session_id = pick_session(c, &kn);
    req.meta.len = (uint16_t)(take16(c) % (MTU_MAX + 1));
    take_bytes(c, req.data, req.meta.len);
    memcpy(pt, req.data, req.meta.len);
    set_peer(c);
    hs_valid = false;
    submit(TUN, pt);
}

static void control_op(struct cur *c, uint16_t op)
{
    struct known *kn;
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = op;
    req.meta.session_id = pick_session(c, &kn);
    if (op == OP_SEAL_CONTROL) {
        req.meta.aux = MSG_DISCONNECT;
        req.meta.len = DISCONNECT_PLAINTEXT;
        req.data[0] = take(c);
    }
    hs_valid = false;
    submit(CTL, NULL);
}

/* ---- WireGuard records ---- */

/* One of the vectors' initiations into wg_msg, maybe with bytes flipped. */
static void wg_pick(struct cur *c)
{
    uint8_t sel = take(c);
    wg_which = sel % WG_INITS;
    memcpy(wg_msg, wg_inits[wg_which], WG_INIT_LEN);
    wg_tampered = false;
    if (sel & 0x80) {
        int flips = take(c) % 4 + 1;
        for (int i = 0; i < flips; i++) {
            size_t at = take16(c) % WG_INIT_LEN;
            wg_msg[at] ^= take(c);
        }
        /* mac2 is the main process's business (cookies): a flip there changes nothing. */
        wg_tampered = memcmp(wg_msg, wg_inits[wg_which], WG_INIT_MAC2) != 0;
    }
}

static void wg_hello(struct cur *c)
{
    wg_pick(c);
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_WG_HELLO;
    req.meta.len = WG_INIT_LEN;
    memcpy(req.data, wg_msg, WG_INIT_LEN);
    set_peer(c);
    hs_valid = false;
    submit(HS, NULL);
}

static void wg_accept(struct cur *c)
{
    uint8_t sel = take(c);
    if (sel & 1)
        wg_pick(c);
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_WG_ACCEPT;
    req.meta.aux = sel & 2 ? take(c) % 8 : STATUS_OK;
    memcpy(req.data, wg_msg, WG_INIT_LEN);
    memset(req.data + WG_INIT_LEN, 0, CONNECT_REQ_LEN - WG_INIT_LEN);
    if (sel & 8)        /* not RES_HELLO's block: only a hostile main process sends that */
        req.data[WG_INIT_LEN + take(c) % (CONNECT_REQ_LEN - WG_INIT_LEN)] = take(c) | 1;
    size_t cfg_len;
    if (sel & 4) {
        cfg_len = take(c) % (RESP_CONFIG_MAX + 16);
        take_bytes(c, req.data + CONNECT_REQ_LEN, cfg_len);
    } else {
        struct hs_config cfg = { .prefix_len = 24, .mtu = 1420, .server_ip = 0x0a080001,
                                 .keepalive_s = 25 };
        cfg.client_ip = wg_which == WG_B_T1 ? B_DEV_IP : A_DEV_IP;
        if (sel & 16)
            cfg.mtu = take16(c);
        cfg_len = hs_config_encode(req.data + CONNECT_REQ_LEN, &cfg);
    }
    req.meta.len = (uint16_t)(CONNECT_REQ_LEN + cfg_len);
    set_peer(c);
    hs_valid = false;
    submit(CTL, NULL);
}

static void wg_decrypt(struct cur *c)
{
    uint8_t sel = take(c), pt[SLOT_DATA];
    struct known *kn_ours;
    struct wg_known *kn = n_wg_known ? &wg_known[take(c) % n_wg_known] : NULL;
    uint32_t sid = kn && !(sel & 1) ? kn->sid : pick_session(c, &kn_ours);
    const uint8_t *key = kn ? kn->send : wg_a_send;
    uint64_t counter;
    switch ((sel >> 1) & 3) {
    case 0: counter = kn ? kn->counter++ : 0; break;
    case 1: counter = kn && kn->counter ? kn->counter - 1 - take(c) % 8 : 0; break;
    case 2: counter = (kn ? kn->counter : 0) + take16(c); if (kn) kn->counter = counter + 1; break;
    default: counter = (uint64_t)take32(c) << 32 | take32(c); break;
    }
    /* Room for padding to 16 within the slot. */
    size_t pt_len = take16(c) % (SLOT_DATA - WG_DATA_MIN_LEN - WG_PADDING + 1);
    take_bytes(c, pt, pt_len);
    if (!(sel & 0x40)) {
        uint8_t how = take(c);
        uint16_t total = how & 1 ? (uint16_t)pt_len : take16(c);
        uint32_t src = how & 2 && kn ? kn->client_ip : take32(c);
        ipv4(pt, pt_len, total, src, how & 4 ? take(c) : 0x45);
    }
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_WG_DECRYPT;
    req.meta.len = (uint16_t)wg_transport_seal(req.data, sid, counter, key, pt, pt_len, 1420);
    if (sel & 0x20)
        req.data[take16(c) % req.meta.len] ^= take(c) | 1;
    req.meta.session_id = sid;
    set_peer(c);
    if (!owned(sid))
        return;     /* the RX thread hands it to the other worker */
    hs_valid = false;
    submit(RX, NULL);
}

/* A reload without A, then one with it again: A's entry is renewed, its sessions die. */
static void wg_reload(struct cur *c)
{
    int skipped;
    (void)c;
    wg_peers_retire(&w.sec->wg_peers, &w.sec->users, &wg_list_b_only, NULL, NULL);
    wg_peers_admit(&w.sec->wg_peers, &w.sec->users, &wg_list, (uint64_t)WGW_BASE_UNIX_S * 1000,
                   &skipped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    reset();
    struct cur c = { data, size };
    for (int r = 0; r < MAX_RECORDS && c.n; r++) {
        uint8_t op = take(&c);
        /* The WireGuard records have op bytes of their own, so that the corpus made before
         * them keeps its meaning. */
        if (op >= WG_RECORDS) {
            switch (op % 4) {
            case 0: wg_hello(&c); break;
            case 1: wg_accept(&c); break;
            case 2: wg_decrypt(&c); break;
            default:
                if (op == 255)
                    control_op(&c, OP_WG_KEEPALIVE);
                else
                    wg_reload(&c);
                break;
            }
            continue;
        }
        switch (op % 10) {
        case 0: raw_request(&c); break;
        case 1: decrypt_sealed(&c); break;
        case 2: decrypt_raw(&c); break;
        case 3: hello(&c); break;
        case 4: accept_request(&c); break;
        case 5: encrypt(&c); break;
        case 6: control_op(&c, OP_SEAL_CONTROL); break;
        case 7: control_op(&c, OP_ERASE); break;
        case 8:
            now = (uint64_t)((int64_t)now + (int32_t)take32(&c) / 16);
            mono += (uint64_t)take16(&c) * 100;
            w.mono_ms = mono;
            break;
        default: {
            struct enclave_user *u = &w.sec->users.users[take(&c) % 2];
            __atomic_add_fetch(&u->gen, 1, __ATOMIC_RELEASE);
            break;
        }
        }
    }
    /* The worker's session count is its live slots. */
    uint32_t live = 0;
    for (uint32_t i = (uint32_t)w.index; i < SESSION_SLOTS; i += (uint32_t)w.count)
        live += w.sec->slots[i].session_id != 0;
    FUZZ_ASSERT(w.shm->ctl.sessions == live);
    return 0;
}
