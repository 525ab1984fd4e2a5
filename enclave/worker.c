/* The enclave worker's loop and its dispatch table of permitted requests (enclave_ipc.h).
 * Every request is checked before use: a request that the main process could only have sent
 * by mistake or malice (unknown op, op on the wrong ring, length out of range, a session owned
 * by another worker) ends the worker, as OpenSSH's monitor does; the supervisor restarts it.
 * What the network sent (bad tags, replays, stale stamps) is only counted.
 *
 * The request slots live in memory the main process shares and may rewrite at any moment, so
 * nothing is read from them twice: the metadata, a handshake request and a datagram's header,
 * nonce and tag are copied once into private memory (worker_copy_in) and only the copies are
 * checked and used. Bulk bytes that are never parsed (plaintext to seal, ciphertext to open)
 * are read in place, with the private length. WireGuard's requests are served by wg_worker.c
 * under the same rules, on the same key slots. */
#include "worker.h"
#include "worker_ops.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "auth_limit.h"
#include "devices.h"
#include "handshake_server.h"
#include "wg_worker.h"
#include "vpn/aead.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/spin.h"
#include "vpn/transport.h"

void worker_fatal(const struct worker *w, const char *why)
{
    log_error("enclave worker %d: malformed request from the main process (%s); exiting",
              w->index, why);
    _exit(WORKER_EXIT_MALFORMED);
}

void worker_count_drop(struct worker *w, enum worker_drop why)
{
    counter_inc(&w->shm->ctl.drops[why]);
}

/* Next free result slot of ring r with *pending results already in this batch, or NULL. */
static struct pkt_slot *result_slot(struct worker *w, struct ring *r, uint32_t *pending)
{
    if (ring_free(r) <= *pending) {
        worker_count_drop(w, DROP_OUT_FULL);
        return NULL;
    }
    return ring_produce_slot(r, *pending);
}

struct pkt_slot *worker_dec_result(struct worker *w)
{
    return result_slot(w, &w->rings.out_dec, &w->dec_pending);
}

struct pkt_slot *worker_enc_result(struct worker *w)
{
    return result_slot(w, &w->rings.out_enc, &w->enc_pending);
}

void worker_commit_dec(struct worker *w, struct pkt_slot *out, const struct pkt_meta *m,
                       uint16_t op, uint16_t len)
{
    out->meta = *m;
    out->meta.op = op;
    out->meta.len = len;
    out->meta.worker = (uint16_t)w->index;
    w->dec_pending++;
}

void worker_erase_slot(struct worker *w, struct key_slot *k)
{
    secrets_erase_slot(k);
    w->shm->ctl.sessions--;
}

static bool seal_to(struct worker *w, struct key_slot *k, uint8_t type, const uint8_t *pt,
                    size_t pt_len, const struct sockaddr_in6 *peer, uint64_t now_ms);

/* A slot the enclave ends by itself (slot_alive): its client hears DISCONNECT, sealed with the
 * dying key to the last address the client was authenticated from, so that it reconnects at
 * once; then the keys are erased. WireGuard has no such message: its initiator finds out by
 * itself (no answer) and handshakes again. */
static void retire_slot(struct worker *w, struct key_slot *k)
{
    static const uint8_t reason = DISCONNECT_REASON_KEY_RETIRED;
    if (k->has_peer && k->format == KEY_FORMAT_OURS)
        seal_to(w, k, MSG_DISCONNECT, &reason, sizeof(reason), &k->peer, w->now_ms);
    worker_erase_slot(w, k);
}

/* Whether the keys of live slot k may still be used: its user's token unchanged, the user
 * still there and not disabled (generation), the session its device's current or retiring
 * one (at most one retiring per device, devices.h), and the key younger than rekey_interval
 * + grace. The enclave enforces this itself rather than trusting the main process to send
 * OP_ERASE. */
static bool slot_alive(const struct worker *w, const struct key_slot *k)
{
    const struct enclave_user *u = &w->sec->users.users[k->user_index];
    if (__atomic_load_n(&u->gen, __ATOMIC_ACQUIRE) != k->user_gen)
        return false;
    if (!devices_holds(u, k->device, k->session_id))
        return false;
    /* A WireGuard key also dies with its peer's entry (removed or re-keyed, wg_peers.h) and
     * after REJECT_AFTER_TIME, whatever rekey_interval says (whitepaper 6.1). */
    if (k->format == KEY_FORMAT_WG)
        return wg_peers_gen(&w->sec->wg_peers, k->wg_peer) == k->wg_peer_gen &&
               w->mono_ms - k->created_ms <= (uint64_t)WG_REJECT_AFTER_TIME_S * 1000;
    return !w->key_max_age_ms || w->mono_ms - k->created_ms <= w->key_max_age_ms;
}

struct key_slot *worker_find_slot(struct worker *w, uint32_t session_id)
{
    uint32_t idx = session_id & (SESSION_SLOTS - 1);
    if ((int)(idx % (uint32_t)w->count) != w->index)
        worker_fatal(w, "session of another worker");
    struct key_slot *k = &w->sec->slots[idx];
    if (session_id == 0 || k->session_id != session_id) {
        worker_count_drop(w, DROP_NO_SESSION);
        return NULL;
    }
    if (!slot_alive(w, k)) {
        retire_slot(w, k);
        worker_count_drop(w, DROP_EXPIRED);
        return NULL;
    }
    return k;
}

void worker_sweep(struct worker *w)
{
    for (uint32_t i = (uint32_t)w->index; i < SESSION_SLOTS; i += (uint32_t)w->count) {
        struct key_slot *k = &w->sec->slots[i];
        if (k->session_id && !slot_alive(w, k))
            retire_slot(w, k);
    }
}

/* Seals a message for session k into a fresh out_enc slot addressed to peer. pt may be in
 * shared memory: it is read once, and pt_len is private. */
static bool seal_to(struct worker *w, struct key_slot *k, uint8_t type, const uint8_t *pt,
                    size_t pt_len, const struct sockaddr_in6 *peer, uint64_t now_ms)
{
    if (k->send_counter >= (1ULL << REKEY_AFTER_MESSAGES_LOG2))
        return false;   /* never reuse a nonce; the client rekeys long before */
    struct pkt_slot *out = worker_enc_result(w);
    if (!out)
        return false;
    size_t n = transport_seal(out->data, type, k->k_s2c, k->session_id, k->send_counter++,
                              now_ms, pt, pt_len);
    out->meta.op = RES_SEALED;
    out->meta.len = (uint16_t)n;
    out->meta.aux = 0;      /* ours, sent from our port (a WireGuard session's says so) */
    out->meta.session_id = k->session_id;
    out->meta.worker = (uint16_t)w->index;
    out->meta.peer = *peer;
    w->enc_pending++;
    counter_inc(&w->shm->ctl.packets_encrypted);
    return true;
}

/* A failure CONNECT_RESP, if the request's form allows one (hs_server_reject). */
static void reply_why(struct worker *w, const struct pkt_meta *m, const struct hs_request *r,
                      uint8_t status, uint8_t refusal, uint64_t ts)
{
    uint8_t resp[CONNECT_FAIL_EXT_LEN];
    size_t n = hs_server_reject(r, status, refusal, ts, resp);
    if (n == 0) {
        worker_count_drop(w, DROP_UNANSWERED);
        return;
    }
    struct pkt_slot *out = worker_dec_result(w);
    if (!out)
        return;
    memcpy(out->data, resp, n);
    worker_commit_dec(w, out, m, RES_REPLY, (uint16_t)n);
    out->meta.aux = status;
}

static void reply(struct worker *w, const struct pkt_meta *m, const struct hs_request *r,
                  uint8_t status, uint64_t ts)
{
    reply_why(w, m, r, status, REFUSAL_NONE, ts);
}

/* Step 3 under the failure budgets (auth_limit.h): while the user's budget, or everyone's, is
 * spent, the MAC is not even computed, so a guess costs the guesser a RATE_LIMITED answer and
 * tells nothing. Unknown names draw on a per-name phantom budget that behaves exactly like a
 * user's, so a spent budget does not tell which names exist. A user has two budgets: one for
 * requests whose source address the main process proved with a cookie (extension 3), one for
 * the others. A flood from forged addresses can spend only the second; the real client, asked
 * for a cookie while the server is loaded, then draws on the first. A compromised main process
 * that claims every request proven gains nothing: both budgets are equally small. */
static enum { AUTH_OK, AUTH_FAILED, AUTH_LIMITED, AUTH_DISABLED } authenticate(
    struct worker *w, const uint8_t *req, const struct hs_request *r, bool proven)
{
    struct enclave_secrets *s = w->sec;
    uint64_t *user_tat;
    if (r->user_index >= 0) {
        user_tat = &s->users.users[r->user_index].auth_fail_tat[proven];
    } else {
        uint8_t h[crypto_shorthash_BYTES];
        crypto_shorthash(h, (const uint8_t *)r->username, strlen(r->username), s->phantom_key);
        user_tat = &s->phantom_fail_tat[h[0] % PHANTOM_BUDGETS][proven];
    }
    uint64_t now = w->mono_ms;
    if (!auth_limit_allows(&s->auth_fail_tat, now, AUTH_FAIL_GLOBAL_INTERVAL_MS,
                           AUTH_FAIL_GLOBAL_BURST) ||
        !auth_limit_allows(user_tat, now, AUTH_FAIL_USER_INTERVAL_MS, AUTH_FAIL_USER_BURST))
        return AUTH_LIMITED;
    /* A disabled user who knows the token is refused, but it was no guess: no budget is
     * spent, and the answer is the one anybody else gets. */
    if (hs_server_authenticate(req, &s->users, r) == HS_AUTHENTICATED)
        return __atomic_load_n(&s->users.users[r->user_index].disabled, __ATOMIC_ACQUIRE)
                   ? AUTH_DISABLED : AUTH_OK;
    auth_limit_charge(user_tat, now, AUTH_FAIL_USER_INTERVAL_MS, AUTH_FAIL_USER_BURST);
    auth_limit_charge(&s->auth_fail_tat, now, AUTH_FAIL_GLOBAL_INTERVAL_MS,
                      AUTH_FAIL_GLOBAL_BURST);
    return AUTH_FAILED;
}

/* Steps 1-4 shared by both phases on a private copy of the request: true when the request is
 * authentic and fresh (committing its timestamp when commit); otherwise it has been answered
 * (or dropped) and false is returned. */
static bool open_request(struct worker *w, const struct pkt_meta *m, const uint8_t *req,
                         uint64_t now_ms, bool commit, bool proven, struct hs_request *r)
{
    struct enclave_secrets *s = w->sec;
    uint64_t min_ts;
    if (hs_server_identify(s->s_priv, s->s_pub, req, CONNECT_REQ_LEN, &s->users, r) == HS_DROP) {
        worker_count_drop(w, DROP_HANDSHAKE);
        return false;
    }
    switch (authenticate(w, req, r, proven)) {
    case AUTH_LIMITED:
        reply(w, m, r, STATUS_RATE_LIMITED, now_ms);
        return false;
    case AUTH_FAILED:
        reply(w, m, r, STATUS_AUTH_FAILED, now_ms);
        return false;
    case AUTH_DISABLED:
        worker_count_drop(w, DROP_DISABLED);
        reply(w, m, r, STATUS_AUTH_FAILED, now_ms);
        return false;
    case AUTH_OK:
        break;
    }
    if (!users_accept_ts(&s->users, r->user_index, r->ts, now_ms, commit, &min_ts)) {
        reply(w, m, r, STATUS_STALE_TIMESTAMP, min_ts);
        return false;
    }
    return true;
}

/* OP_HELLO: PROTOCOL.md server steps 1-4 without changing anything. */
static void do_hello(struct worker *w, const struct pkt_meta *m, const uint8_t *shared,
                     uint64_t now_ms)
{
    uint8_t req[CONNECT_REQ_LEN];
    struct hs_request r;
    worker_copy_in(req, shared, sizeof(req));
    if (open_request(w, m, req, now_ms, false, m->aux == HELLO_SOURCE_PROVEN, &r)) {
        struct pkt_slot *out = worker_dec_result(w);
        if (out) {
            /* The request travels back so that the main process can hand it in again for
             * phase 2 (OP_ACCEPT) without keeping a copy itself, with the device id it
             * carried (extension 5; not a secret: the main process tells devices apart by
             * it) and the user's name. */
            size_t n = strlen(r.username);
            memcpy(out->data, req, CONNECT_REQ_LEN);
            memcpy(out->data + CONNECT_REQ_LEN, r.device_id, DEVICE_ID_LEN);
            memcpy(out->data + HELLO_USER_OFF, r.username, n);
            worker_commit_dec(w, out, m, RES_HELLO, (uint16_t)(HELLO_USER_OFF + n));
            out->meta.ts = r.ts;
        }
    }
    hs_request_wipe(&r);
}

/* A dead slot (slot_alive) is reclaimed here, so a user re-handshaking in a loop cannot
 * exhaust the table. */
struct key_slot *worker_alloc_slot(struct worker *w, uint32_t *idx_out)
{
    for (uint32_t i = (uint32_t)w->index; i < SESSION_SLOTS; i += (uint32_t)w->count) {
        struct key_slot *k = &w->sec->slots[i];
        if (k->session_id && !slot_alive(w, k))
            worker_erase_slot(w, k);
        if (k->session_id == 0) {
            *idx_out = i;
            return k;
        }
    }
    return NULL;
}

uint32_t worker_new_session_id(uint32_t idx)
{
    /* Random non-zero session id whose low bits name the slot: unique among live sessions by
     * construction, and the owning worker follows from it. */
    uint32_t rnd;
    do
        rnd = randombytes_random() >> SESSION_SLOT_BITS;
    while (rnd == 0);
    return rnd << SESSION_SLOT_BITS | idx;
}

bool worker_publish_slot(struct worker *w, struct key_slot *k, uint32_t session_id,
                         const uint8_t device_id[DEVICE_ID_LEN])
{
    struct enclave_secrets *s = w->sec;
    /* Live first, then bound: a record counts as taken while its sessions' slots are live
     * (devices.h). Until bound, only this worker, which owns the slot, looks at it. */
    k->device = -1;
    __atomic_store_n(&k->session_id, session_id, __ATOMIC_RELEASE);
    w->shm->ctl.sessions++;
    k->device = devices_bind(s, &s->users.users[k->user_index], device_id, session_id);
    if (k->device < 0) {
        worker_erase_slot(w, k);
        worker_count_drop(w, DROP_DEVICES);
        return false;
    }
    return true;
}

/* OP_ACCEPT: steps 1-4 again (the worker trusts no earlier answer), then 5-6 with the main
 * process's decision and address. Request: the CONNECT_REQ || config block. */
static void do_accept(struct worker *w, const struct pkt_meta *m, const uint8_t *shared,
                      uint64_t now_ms)
{
    struct enclave_secrets *s = w->sec;
    uint8_t buf[CONNECT_REQ_LEN + RESP_CONFIG_MAX];
    struct hs_request r;
    struct hs_config cfg;
    worker_copy_in(buf, shared, m->len);
    /* The main process's block carries the DNS block (extension 4) when the server pushes
     * DNS settings, whatever the request asked: what goes out is decided below. */
    if (!hs_config_decode_from_main(buf + CONNECT_REQ_LEN, m->len - CONNECT_REQ_LEN, &cfg))
        worker_fatal(w, "accept without a valid config block");
    /* The generation is read before the MAC is checked: if a reload changes the token in
     * between, the new key carries the old generation and dies at its first use. */
    uint32_t gen = 0;
    if (!open_request(w, m, buf, now_ms, true, true, &r))
        goto out;
    gen = __atomic_load_n(&s->users.users[r.user_index].gen, __ATOMIC_ACQUIRE);
    uint32_t idx = 0;
    struct key_slot *k = m->aux == STATUS_OK ? worker_alloc_slot(w, &idx) : NULL;
    if (!k) {
        /* aux: the main process's decision, a refusal's reason in its high byte. */
        uint8_t status = m->aux == STATUS_OK ? STATUS_SERVER_FULL : (uint8_t)(m->aux & 0xff);
        reply_why(w, m, &r, status, (uint8_t)(m->aux >> 8), now_ms);
        goto out;
    }
    struct pkt_slot *out = worker_dec_result(w);
    if (!out)
        goto out;
    cfg.session_id = worker_new_session_id(idx);
    cfg.status = STATUS_OK;
    /* The window this worker checks the session's packets against, to a client that asked
     * (docs/PROTOCOL.md, "Replay window in the response"); never to one that did not: it
     * would refuse the response. The main process cannot set it (its block must have zero
     * there: hs_config_decode_from_main above). */
    cfg.replay_window_ms = (r.flags & REQ_FLAG_WINDOW) ? w->replay_window_ms : 0;
    /* The DNS block goes to a client that asked, and only to one (an old client would refuse
     * the longer config); a server without DNS settings answers with an empty block. */
    cfg.dns_block = r.flags & REQ_FLAG_DNS;
    if (!cfg.dns_block) {
        cfg.dns_count = 0;
        cfg.dns_search[0] = '\0';
    }

    uint8_t e_s_priv[KEY_LEN];
    struct session_keys keys;
    randombytes_buf(e_s_priv, sizeof(e_s_priv));
    size_t n = hs_server_accept(&r, s->users.users[r.user_index].token, e_s_priv, &cfg, now_ms,
                                out->data, &keys);
    sodium_memzero(e_s_priv, sizeof(e_s_priv));
    if (n == 0) {
        sodium_memzero(&keys, sizeof(keys));
        worker_count_drop(w, DROP_HANDSHAKE);
        goto out;
    }
    memset(k, 0, sizeof(*k));
    memcpy(k->k_c2s, keys.k_c2s, KEY_LEN);
    memcpy(k->k_s2c, keys.k_s2c, KEY_LEN);
    sodium_memzero(&keys, sizeof(keys));
    k->client_ip = cfg.client_ip;
    k->user_index = r.user_index;
    k->device = -1;
    k->user_gen = gen;
    k->created_ms = w->mono_ms;
    k->peer = m->peer;
    k->has_peer = true;
    replay_init(&k->rx);
    if (!worker_publish_slot(w, k, cfg.session_id, r.device_id)) {
        /* USER_DEVICES_MAX devices of this user are online: whatever the main process
         * decided, no more keys for this user. */
        reply(w, m, &r, STATUS_SERVER_FULL, now_ms);
        goto out;
    }

    worker_commit_dec(w, out, m, RES_ACCEPTED, (uint16_t)n);
    out->meta.session_id = cfg.session_id;
out:
    hs_request_wipe(&r);
}

bool worker_inner_ok(struct worker *w, const struct key_slot *k, const uint8_t *pt, size_t *len)
{
    if (*len < 20) {
        worker_count_drop(w, DROP_MALFORMED);
        return false;
    }
    uint8_t first = pt[0];
    size_t ihl = (size_t)(first & 15) * 4;
    size_t total = get_be16(pt + 2);
    uint32_t src = get_be32(pt + 12);
    if ((first >> 4) != 4 || ihl < 20 || total < ihl || total > *len) {
        worker_count_drop(w, DROP_MALFORMED);
        return false;
    }
    if (src != k->client_ip) {
        worker_count_drop(w, DROP_SPOOFED_SOURCE);
        return false;
    }
    *len = total;
    return true;
}

/* OP_DECRYPT: PROTOCOL.md receiver steps 1-7, cheap checks first, on a private copy of the
 * header, nonce and tag; the ciphertext is opened in place with the private length. */
static void do_decrypt(struct worker *w, const struct pkt_meta *m, const uint8_t *shared,
                       uint64_t now_ms)
{
    uint8_t head[TRANSPORT_OVERHEAD];
    struct vpn_hdr h;
    uint32_t sid;
    uint64_t counter;
    size_t len = m->len;
    if (len < TRANSPORT_OVERHEAD) {
        worker_count_drop(w, DROP_MALFORMED);
        return;
    }
    worker_copy_in(head, shared, sizeof(head));
    if (proto_hdr_parse(head, len, &h) != HDR_OK || !proto_is_transport(h.type)) {
        worker_count_drop(w, DROP_MALFORMED);
        return;
    }
    /* Receiver step 3 has its own counter: it is what the network sends (a forged or
     * corrupted sequence field), not a malformed inner packet. */
    if (!proto_transport_ids(head, &h, &sid, &counter)) {
        worker_count_drop(w, DROP_SEQUENCE);
        return;
    }
    if (sid != m->session_id)
        worker_fatal(w, "session id differs from the datagram's");
    struct key_slot *k = worker_find_slot(w, sid);
    if (!k)
        return;
    if (k->format != KEY_FORMAT_OURS) {
        worker_count_drop(w, DROP_NO_SESSION);     /* a WireGuard session's id on our port */
        return;
    }
    if (!replay_check(&k->rx, counter)) {
        worker_count_drop(w, DROP_REPLAY);
        return;
    }
    struct pkt_slot *out = worker_dec_result(w);
    if (!out)
        return;
    size_t pt_len = len - TRANSPORT_OVERHEAD;
    if (!transport_open_split(out->data, head, shared + TRANSPORT_OVERHEAD, pt_len, k->k_c2s)) {
        worker_count_drop(w, DROP_AUTH);
        return;
    }
    uint64_t diff = now_ms > h.ts ? now_ms - h.ts : h.ts - now_ms;
    if (diff > w->replay_window_ms) {
        worker_count_drop(w, DROP_STALE);
        return;
    }
    replay_mark(&k->rx, counter);
    k->peer = m->peer;      /* authenticated: follow the client if it roamed */
    counter_inc(&w->shm->ctl.packets_decrypted);
    switch (h.type) {
    case MSG_DATA:
        if (!worker_inner_ok(w, k, out->data, &pt_len))
            return;
        worker_commit_dec(w, out, m, RES_DATA, (uint16_t)pt_len);
        return;
    case MSG_PING: {
        uint8_t stamp[PONG_PLAINTEXT];
        put_be64(stamp, h.ts);
        seal_to(w, k, MSG_PONG, stamp, sizeof(stamp), &m->peer, now_ms);
        worker_commit_dec(w, out, m, RES_KEEPALIVE, 0);
        return;
    }
    case MSG_PONG:
        worker_commit_dec(w, out, m, RES_KEEPALIVE, 0);
        return;
    case MSG_DISCONNECT:
        worker_erase_slot(w, k);
        worker_commit_dec(w, out, m, RES_DISCONNECT, 0);
        return;
    }
}

/* OP_ENCRYPT (type MSG_DATA) and OP_SEAL_CONTROL (MSG_DISCONNECT). WireGuard has no
 * DISCONNECT: its session just ends (the main process erases it). */
static void do_encrypt(struct worker *w, const struct pkt_meta *m, const uint8_t *shared,
                       uint64_t now_ms, uint8_t type)
{
    struct key_slot *k = worker_find_slot(w, m->session_id);
    if (!k)
        return;
    if (k->format == KEY_FORMAT_OURS)
        seal_to(w, k, type, shared, m->len, &m->peer, now_ms);
    else if (type == MSG_DATA)
        wg_worker_seal(w, k, m, shared);
}

static void do_erase(struct worker *w, const struct pkt_meta *m)
{
    struct key_slot *k = worker_find_slot(w, m->session_id);
    if (k)
        worker_erase_slot(w, k);
}

/* The decisions the main process may hand an accept (enclave_ipc.h, OP_ACCEPT): anything
 * else is a request no honest main process makes. */
static bool accept_status_valid(uint16_t aux)
{
    uint8_t status = (uint8_t)(aux & 0xff), refusal = (uint8_t)(aux >> 8);
    switch (status) {
    case STATUS_OK:
    case STATUS_SERVER_FULL:
    case STATUS_POOL_EXHAUSTED:
        return refusal == REFUSAL_NONE;
    case STATUS_AUTH_FAILED:
        return refusal >= 1 && refusal <= REFUSAL_REASON_MAX;
    default:
        return false;
    }
}

void worker_handle(struct worker *w, struct ring *from, struct pkt_slot *req, uint64_t now_ms)
{
    struct pkt_meta m;
    w->now_ms = now_ms;
    worker_copy_in(&m, &req->meta, sizeof(m));
    if (m.len > SLOT_DATA)
        worker_fatal(w, "length beyond the slot");
    /* The dispatch table: which request may arrive on which ring, with which length. */
    if (from == &w->rings.in_hs && m.op == OP_HELLO && m.len == CONNECT_REQ_LEN)
        do_hello(w, &m, req->data, now_ms);
    else if (from == &w->rings.in_rx && m.op == OP_DECRYPT)
        do_decrypt(w, &m, req->data, now_ms);
    else if (from == &w->rings.in_tun && m.op == OP_ENCRYPT && m.len <= MTU_MAX)
        do_encrypt(w, &m, req->data, now_ms, MSG_DATA);
    else if (from == &w->rings.in_ctl && m.op == OP_ACCEPT &&
             m.len >= CONNECT_REQ_LEN + RESP_CONFIG_BASE &&
             m.len <= CONNECT_REQ_LEN + RESP_CONFIG_MAX && accept_status_valid(m.aux))
        do_accept(w, &m, req->data, now_ms);
    else if (from == &w->rings.in_ctl && m.op == OP_SEAL_CONTROL && m.aux == MSG_DISCONNECT &&
             m.len == DISCONNECT_PLAINTEXT)
        do_encrypt(w, &m, req->data, now_ms, MSG_DISCONNECT);
    else if (from == &w->rings.in_ctl && m.op == OP_ERASE)
        do_erase(w, &m);
    /* WireGuard's (docs/WIREGUARD.md), only when it is enabled: a main process without its
     * socket has no reason to send them. */
    else if (w->sec->wg_enabled && from == &w->rings.in_hs && m.op == OP_WG_HELLO &&
             m.len == WG_INIT_LEN)
        wg_worker_hello(w, &m, req->data);
    else if (w->sec->wg_enabled && from == &w->rings.in_ctl && m.op == OP_WG_ACCEPT &&
             m.len >= CONNECT_REQ_LEN + RESP_CONFIG_BASE &&
             m.len <= CONNECT_REQ_LEN + RESP_CONFIG_MAX && accept_status_valid(m.aux))
        wg_worker_accept(w, &m, req->data);
    else if (w->sec->wg_enabled && from == &w->rings.in_rx && m.op == OP_WG_DECRYPT)
        wg_worker_decrypt(w, &m, req->data);
    else if (w->sec->wg_enabled && from == &w->rings.in_ctl && m.op == OP_WG_KEEPALIVE &&
             m.len == 0)
        wg_worker_keepalive(w, &m);
    else
        worker_fatal(w, "request not permitted on this ring");
}

void worker_flush(struct worker *w)
{
    struct worker_ctl *ctl = &w->shm->ctl;
    if (!w->dec_pending && !w->enc_pending)
        return;
    if (w->dec_pending)
        ring_produce_publish(&w->rings.out_dec, w->dec_pending);
    if (w->enc_pending)
        ring_produce_publish(&w->rings.out_enc, w->enc_pending);
    w->dec_pending = w->enc_pending = 0;
    /* Full barrier: the published heads must be visible before we look at the flag, or the
     * main process could go to sleep on a ring we just filled. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ctl->main_sleeping, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&ctl->main_sleeping, 0, __ATOMIC_SEQ_CST)) {
        ssize_t n = write(w->doorbell_fd, "r", 1);
        (void)n;    /* a full socket buffer already holds a wake-up */
    }
}

/* Room for results: a request makes at most one result on each out ring (a PING makes a
 * PONG on out_enc and a keepalive on out_dec). Taking no more requests than there is room
 * turns a slow consumer into backpressure on the input ring instead of silent drops here. */
static uint32_t result_room(struct worker *w)
{
    uint32_t dec = ring_free(&w->rings.out_dec) - w->dec_pending;
    uint32_t enc = ring_free(&w->rings.out_enc) - w->enc_pending;
    return dec < enc ? dec : enc;
}

uint32_t worker_drain(struct worker *w, struct ring *r, uint64_t now_ms)
{
    uint32_t n;
    if (!ring_available_checked(r, &n))
        worker_fatal(w, "ring indexes out of range");
    /* Handshakes (an X25519 each, tens of microseconds) only a few per turn, after the data
     * rings: a flood of them delays a data packet by at most HS_PER_TURN exchanges. */
    uint32_t most = r == &w->rings.in_hs ? HS_PER_TURN : BATCH_MAX;
    if (n > most)
        n = most;
    /* The control ring is always served whole: an erasure must never wait for the TX thread
     * to make room for results (an accept or a DISCONNECT that finds no room is counted as
     * out_ring_full, and the client retries). */
    uint32_t room = r == &w->rings.in_ctl ? n : result_room(w);
    if (n > room)
        n = room;
    for (uint32_t i = 0; i < n; i++)
        worker_handle(w, r, ring_consume_slot(r, i), now_ms);
    if (n)
        ring_consume_release(r, n);
    return n;
}

static bool rings_empty(struct worker *w)
{
    return !ring_available(&w->rings.in_ctl) && !ring_available(&w->rings.in_rx) &&
           !ring_available(&w->rings.in_tun) && !ring_available(&w->rings.in_hs);
}

enum {
    SWEEP_INTERVAL_MS = 1000,
    /* How long a worker keeps looking at its rings after work before it sleeps, at most: a
     * ping's reply comes back from the LAN to the TUN within tens of microseconds of its
     * request's decryption (docs/PERFORMANCE.md, "Latency"). */
    WORKER_SPIN_US = 100,
};

void worker_run(struct worker *w)
{
    struct worker_shm *m = w->shm;
    struct spin spin = { 0 };
    for (;;) {
        uint64_t now = clock_realtime_ms();
        w->now_ms = now;
        w->mono_ms = clock_monotonic_ms();
        if (w->mono_ms >= w->next_sweep_ms) {
            worker_sweep(w);
            w->next_sweep_ms = w->mono_ms + SWEEP_INTERVAL_MS;
        }
        uint32_t done = worker_drain(w, &w->rings.in_ctl, now);
        done += worker_drain(w, &w->rings.in_rx, now);
        done += worker_drain(w, &w->rings.in_tun, now);
        done += worker_drain(w, &w->rings.in_hs, now);
        worker_flush(w);
        /* Read by the main process: one store, never two halves on a 32-bit Pi. */
        __atomic_store_n(&m->ctl.heartbeat_ms, now, __ATOMIC_RELAXED);
        if (done) {
            spin_worked(&spin, WORKER_SPIN_US);
            continue;
        }
        /* Look again only while the main process is looking at our results (a thread holds
         * its TX role): that is when the next hop of what we just did (the reply coming back
         * from the LAN) may reach us. Once it lets go, a look would only take the CPU from
         * the threads that carry the packet on: the client's, on a machine that runs both. */
        if (!__atomic_load_n(&m->ctl.main_sleeping, __ATOMIC_RELAXED) && spin_again(&spin))
            continue;
        if (!rings_empty(w)) {
            /* Requests wait but the result rings are full: the TX thread is draining them
             * (we just rang it), so give it the CPU rather than sleep on a doorbell that
             * no producer will ring. */
            sched_yield();
            continue;
        }
        /* Sleep protocol: announce, re-check (a producer may have published between our
         * drain and the announcement), then block on the doorbell. */
        __atomic_store_n(&m->ctl.worker_sleeping, 1, __ATOMIC_SEQ_CST);
        if (!rings_empty(w)) {
            __atomic_store_n(&m->ctl.worker_sleeping, 0, __ATOMIC_SEQ_CST);
            continue;
        }
        aead_wipe();    /* no session key stays in OpenSSL's context while we sleep */
        /* Wake at least once per sweep interval even when idle, so that dead keys are
         * erased without waiting for traffic (one wake-up a second costs nothing). */
        struct pollfd p = { .fd = w->doorbell_fd, .events = POLLIN };
        int ready = poll(&p, 1, SWEEP_INTERVAL_MS);
        if (ready > 0) {
            char buf[64];
            ssize_t r = read(w->doorbell_fd, buf, sizeof(buf));
            if (r == 0)
                return;     /* main process gone */
            if (r < 0 && errno != EINTR && errno != EAGAIN)
                return;
        } else if (ready < 0 && errno != EINTR) {
            return;
        }
        __atomic_store_n(&m->ctl.worker_sleeping, 0, __ATOMIC_SEQ_CST);
    }
}
