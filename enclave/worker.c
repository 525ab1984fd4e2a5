/* The enclave worker's loop and its dispatch table of permitted requests (enclave_ipc.h).
 * Every request is checked before use: a request that the main process could only have sent
 * by mistake or malice (unknown op, op on the wrong ring, length out of range, a session owned
 * by another worker) ends the worker, as OpenSSH's monitor does; the supervisor restarts it.
 * What the network sent (bad tags, replays, stale stamps) is only counted. */
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "handshake_server.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

static void fatal_request(const struct worker *w, const char *why)
{
    log_error("enclave worker %d: malformed request from the main process (%s); exiting",
              w->index, why);
    _exit(WORKER_EXIT_MALFORMED);
}

static void count_drop(struct worker *w, enum worker_drop why)
{
    w->shm->ctl.drops[why]++;
}

/* Next free result slot of ring r with *pending results already in this batch, or NULL. */
static struct pkt_slot *result_slot(struct worker *w, struct ring *r, uint32_t *pending)
{
    if (ring_free(r) <= *pending) {
        count_drop(w, DROP_OUT_FULL);
        return NULL;
    }
    return ring_produce_slot(r, *pending);
}

static struct pkt_slot *dec_result(struct worker *w)
{
    return result_slot(w, &w->rings.out_dec, &w->dec_pending);
}

static struct pkt_slot *enc_result(struct worker *w)
{
    return result_slot(w, &w->rings.out_enc, &w->enc_pending);
}

static void commit_dec(struct worker *w, struct pkt_slot *out, uint16_t op, uint16_t len)
{
    out->meta.op = op;
    out->meta.len = len;
    out->meta.worker = (uint16_t)w->index;
    w->dec_pending++;
}

/* The slot of session_id if it is live; ends the worker if the main process sent it a session
 * that another worker owns. */
static struct key_slot *find_slot(struct worker *w, uint32_t session_id)
{
    uint32_t idx = session_id & (SESSION_SLOTS - 1);
    if ((int)(idx % (uint32_t)w->count) != w->index)
        fatal_request(w, "session of another worker");
    struct key_slot *k = &w->sec->slots[idx];
    if (session_id == 0 || k->session_id != session_id) {
        count_drop(w, DROP_NO_SESSION);
        return NULL;
    }
    return k;
}

/* Seals a message for session k into a fresh out_enc slot addressed to peer. */
static bool seal_to(struct worker *w, struct key_slot *k, uint8_t type, const uint8_t *pt,
                    size_t pt_len, const struct sockaddr_in6 *peer, uint64_t now_ms)
{
    if (k->send_counter >= (1ULL << REKEY_AFTER_MESSAGES_LOG2))
        return false;   /* never reuse a nonce; the client rekeys long before */
    struct pkt_slot *out = enc_result(w);
    if (!out)
        return false;
    size_t n = transport_seal(out->data, type, k->k_s2c, k->session_id, k->send_counter++,
                              now_ms, pt, pt_len);
    out->meta.op = RES_SEALED;
    out->meta.len = (uint16_t)n;
    out->meta.session_id = k->session_id;
    out->meta.worker = (uint16_t)w->index;
    out->meta.peer = *peer;
    w->enc_pending++;
    w->shm->ctl.packets_encrypted++;
    return true;
}

static void reply(struct worker *w, const struct pkt_slot *req, const struct hs_request *r,
                  uint8_t status, uint64_t ts)
{
    struct pkt_slot *out = dec_result(w);
    if (!out)
        return;
    out->meta = req->meta;
    out->meta.aux = status;
    commit_dec(w, out, RES_REPLY, (uint16_t)hs_server_reject(r, status, ts, out->data));
}

/* OP_HELLO: PROTOCOL.md server steps 1-4 without changing anything. */
static void do_hello(struct worker *w, struct pkt_slot *req, uint64_t now_ms)
{
    struct hs_request r;
    struct enclave_secrets *s = w->sec;
    enum hs_verdict v = hs_server_open(s->s_priv, s->s_pub, req->data, req->meta.len, &s->users, &r);
    uint64_t min_ts;
    if (v == HS_DROP) {
        count_drop(w, DROP_HANDSHAKE);
        return;
    }
    if (v == HS_AUTH_FAILED) {
        reply(w, req, &r, STATUS_AUTH_FAILED, now_ms);
    } else if (!users_accept_ts(&s->users, r.user_index, r.ts, now_ms, false, &min_ts)) {
        reply(w, req, &r, STATUS_STALE_TIMESTAMP, min_ts);
    } else {
        struct pkt_slot *out = dec_result(w);
        if (out) {
            /* The request travels back so that the main process can hand it in again for
             * phase 2 (OP_ACCEPT) without keeping a copy itself. */
            size_t n = strlen(r.username);
            out->meta = req->meta;
            out->meta.ts = r.ts;
            memcpy(out->data, req->data, CONNECT_REQ_LEN);
            memcpy(out->data + CONNECT_REQ_LEN, r.username, n);
            commit_dec(w, out, RES_HELLO, (uint16_t)(CONNECT_REQ_LEN + n));
        }
    }
    hs_request_wipe(&r);
}

/* A free slot owned by this worker, or NULL. */
static struct key_slot *alloc_slot(struct worker *w, uint32_t *idx_out)
{
    for (uint32_t i = (uint32_t)w->index; i < SESSION_SLOTS; i += (uint32_t)w->count) {
        if (w->sec->slots[i].session_id == 0) {
            *idx_out = i;
            return &w->sec->slots[i];
        }
    }
    return NULL;
}

/* OP_ACCEPT: steps 1-4 again (the worker trusts no earlier answer), then 5-6 with the main
 * process's decision and address. */
static void do_accept(struct worker *w, struct pkt_slot *req, uint64_t now_ms)
{
    struct enclave_secrets *s = w->sec;
    struct hs_request r;
    struct hs_config cfg;
    uint64_t min_ts;
    if (req->meta.len < CONNECT_REQ_LEN ||
        !hs_config_decode(req->data + CONNECT_REQ_LEN, req->meta.len - CONNECT_REQ_LEN, &cfg))
        fatal_request(w, "accept without a valid config block");
    enum hs_verdict v = hs_server_open(s->s_priv, s->s_pub, req->data, CONNECT_REQ_LEN, &s->users, &r);
    if (v == HS_DROP) {
        count_drop(w, DROP_HANDSHAKE);
        return;
    }
    if (v == HS_AUTH_FAILED) {
        reply(w, req, &r, STATUS_AUTH_FAILED, now_ms);
        goto out;
    }
    if (!users_accept_ts(&s->users, r.user_index, r.ts, now_ms, true, &min_ts)) {
        reply(w, req, &r, STATUS_STALE_TIMESTAMP, min_ts);
        goto out;
    }
    uint32_t idx = 0;
    struct key_slot *k = req->meta.aux == STATUS_OK ? alloc_slot(w, &idx) : NULL;
    if (!k) {
        reply(w, req, &r, req->meta.aux == STATUS_OK ? STATUS_SERVER_FULL : (uint8_t)req->meta.aux,
              now_ms);
        goto out;
    }
    struct pkt_slot *out = dec_result(w);
    if (!out)
        goto out;
    /* Random non-zero session id whose low bits name the slot: unique among live sessions by
     * construction, and the owning worker follows from it. */
    uint32_t rnd;
    do
        rnd = randombytes_random() >> SESSION_SLOT_BITS;
    while (rnd == 0);
    cfg.session_id = rnd << SESSION_SLOT_BITS | idx;
    cfg.status = STATUS_OK;

    uint8_t e_s_priv[KEY_LEN];
    struct session_keys keys;
    randombytes_buf(e_s_priv, sizeof(e_s_priv));
    size_t n = hs_server_accept(&r, s->users.users[r.user_index].token, e_s_priv, &cfg, now_ms,
                                out->data, &keys);
    sodium_memzero(e_s_priv, sizeof(e_s_priv));
    if (n == 0) {
        sodium_memzero(&keys, sizeof(keys));
        count_drop(w, DROP_HANDSHAKE);
        goto out;
    }
    memset(k, 0, sizeof(*k));
    memcpy(k->k_c2s, keys.k_c2s, KEY_LEN);
    memcpy(k->k_s2c, keys.k_s2c, KEY_LEN);
    sodium_memzero(&keys, sizeof(keys));
    k->client_ip = cfg.client_ip;
    k->user_index = r.user_index;
    replay_init(&k->rx);
    __atomic_store_n(&k->session_id, cfg.session_id, __ATOMIC_RELEASE);
    w->shm->ctl.sessions++;

    out->meta = req->meta;
    out->meta.session_id = cfg.session_id;
    commit_dec(w, out, RES_ACCEPTED, (uint16_t)n);
out:
    hs_request_wipe(&r);
}

/* true when pt is an IPv4 packet from the session's own address; trims to its total length. */
static bool inner_ok(struct worker *w, const struct key_slot *k, const uint8_t *pt, size_t *len)
{
    if (*len < 20 || (pt[0] >> 4) != 4 || (size_t)(pt[0] & 15) * 4 < 20) {
        count_drop(w, DROP_MALFORMED);
        return false;
    }
    size_t total = get_be16(pt + 2);
    if (total < (size_t)(pt[0] & 15) * 4 || total > *len) {
        count_drop(w, DROP_MALFORMED);
        return false;
    }
    if (get_be32(pt + 12) != k->client_ip) {
        count_drop(w, DROP_SPOOFED_SOURCE);
        return false;
    }
    *len = total;
    return true;
}

/* OP_DECRYPT: PROTOCOL.md receiver steps 1-7, cheap checks first. */
static void do_decrypt(struct worker *w, struct pkt_slot *req, uint64_t now_ms)
{
    struct vpn_hdr h;
    uint32_t sid;
    uint64_t counter;
    size_t len = req->meta.len;
    if (proto_hdr_parse(req->data, len, &h) != HDR_OK || !proto_is_transport(h.type)) {
        count_drop(w, DROP_MALFORMED);
        return;
    }
    if (!proto_transport_ids(req->data, &h, &sid, &counter)) {
        count_drop(w, DROP_MALFORMED);
        return;
    }
    if (sid != req->meta.session_id)
        fatal_request(w, "session id differs from the datagram's");
    struct key_slot *k = find_slot(w, sid);
    if (!k)
        return;
    if (!replay_check(&k->rx, counter)) {
        count_drop(w, DROP_REPLAY);
        return;
    }
    struct pkt_slot *out = dec_result(w);
    if (!out)
        return;
    size_t pt_len = len - TRANSPORT_OVERHEAD;
    if (!transport_open(out->data, req->data, len, k->k_c2s)) {
        count_drop(w, DROP_AUTH);
        return;
    }
    uint64_t diff = now_ms > h.ts ? now_ms - h.ts : h.ts - now_ms;
    if (diff > w->replay_window_ms) {
        count_drop(w, DROP_STALE);
        return;
    }
    replay_mark(&k->rx, counter);
    w->shm->ctl.packets_decrypted++;
    out->meta = req->meta;
    switch (h.type) {
    case MSG_DATA:
        if (!inner_ok(w, k, out->data, &pt_len))
            return;
        commit_dec(w, out, RES_DATA, (uint16_t)pt_len);
        return;
    case MSG_PING: {
        uint8_t stamp[PONG_PLAINTEXT];
        put_be64(stamp, h.ts);
        seal_to(w, k, MSG_PONG, stamp, sizeof(stamp), &req->meta.peer, now_ms);
        commit_dec(w, out, RES_KEEPALIVE, 0);
        return;
    }
    case MSG_PONG:
        commit_dec(w, out, RES_KEEPALIVE, 0);
        return;
    case MSG_DISCONNECT:
        secrets_erase_slot(k);
        w->shm->ctl.sessions--;
        commit_dec(w, out, RES_DISCONNECT, 0);
        return;
    }
}

static void do_encrypt(struct worker *w, struct pkt_slot *req, uint64_t now_ms, uint8_t type)
{
    struct key_slot *k = find_slot(w, req->meta.session_id);
    if (k)
        seal_to(w, k, type, req->data, req->meta.len, &req->meta.peer, now_ms);
}

static void do_erase(struct worker *w, struct pkt_slot *req)
{
    struct key_slot *k = find_slot(w, req->meta.session_id);
    if (k) {
        secrets_erase_slot(k);
        w->shm->ctl.sessions--;
    }
}

void worker_handle(struct worker *w, struct ring *from, struct pkt_slot *req, uint64_t now_ms)
{
    uint16_t op = req->meta.op;
    if (req->meta.len > SLOT_DATA)
        fatal_request(w, "length beyond the slot");
    /* The dispatch table: which request may arrive on which ring. */
    if (from == &w->rings.in_rx && op == OP_HELLO && req->meta.len == CONNECT_REQ_LEN)
        do_hello(w, req, now_ms);
    else if (from == &w->rings.in_rx && op == OP_DECRYPT)
        do_decrypt(w, req, now_ms);
    else if (from == &w->rings.in_tun && op == OP_ENCRYPT && req->meta.len <= MTU_MAX)
        do_encrypt(w, req, now_ms, MSG_DATA);
    else if (from == &w->rings.in_ctl && op == OP_ACCEPT)
        do_accept(w, req, now_ms);
    else if (from == &w->rings.in_ctl && op == OP_SEAL_CONTROL && req->meta.aux == MSG_DISCONNECT &&
             req->meta.len == DISCONNECT_PLAINTEXT)
        do_encrypt(w, req, now_ms, MSG_DISCONNECT);
    else if (from == &w->rings.in_ctl && op == OP_ERASE)
        do_erase(w, req);
    else
        fatal_request(w, "request not permitted on this ring");
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

/* Serves up to one batch from ring r. Returns the number of requests handled. */
static uint32_t drain(struct worker *w, struct ring *r, uint64_t now_ms)
{
    if (!ring_sane(r))
        fatal_request(w, "ring indexes out of range");
    uint32_t n = ring_available(r);
    if (n > BATCH_MAX)
        n = BATCH_MAX;
    uint32_t room = result_room(w);
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
           !ring_available(&w->rings.in_tun);
}

void worker_run(struct worker *w)
{
    struct worker_shm *m = w->shm;
    for (;;) {
        uint64_t now = clock_realtime_ms();
        uint32_t done = drain(w, &w->rings.in_ctl, now);
        done += drain(w, &w->rings.in_rx, now);
        done += drain(w, &w->rings.in_tun, now);
        worker_flush(w);
        m->ctl.heartbeat_ms = now;
        if (done)
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
        char buf[64];
        ssize_t r = read(w->doorbell_fd, buf, sizeof(buf));
        if (r == 0)
            return;     /* main process gone */
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return;
        __atomic_store_n(&m->ctl.worker_sleeping, 0, __ATOMIC_SEQ_CST);
    }
}
