/* The enclave worker's dispatch table, driven in memory (no process, no doorbell): what the
 * network may send is counted and dropped; what only a broken or hostile main process could
 * send ends the worker with WORKER_EXIT_MALFORMED (and the supervisor restarts it); a full
 * handshake and a data round trip work through worker_handle. */
#include <stdlib.h>

#include "testutil.h"

#include "../../client/handshake_client.h"
#include "../../enclave/worker.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

#include "vectors.inc"

static struct worker w;
static uint8_t s_priv[32], token[32];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    memset(&w, 0, sizeof(w));
    w.shm = calloc(1, sizeof(*w.shm));
    w.sec = calloc(1, sizeof(*w.sec));
    cr_assert(w.shm && w.sec);
    worker_rings_init(&w.rings, w.shm);
    w.index = 0;
    w.count = 2;            /* worker 0 of 2: slots 0, 2, 4, ... are ours */
    w.doorbell_fd = -1;
    w.replay_window_ms = 5000;
    unhex(s_priv, 32, V_SERVER_STATIC_PRIVATE);
    memcpy(w.sec->s_priv, s_priv, 32);
    crypto_scalarmult_base(w.sec->s_pub, s_priv);
    unhex(token, 32, V_AUTH_TOKEN_HEX);
    w.sec->users.count = 1;
    strcpy(w.sec->users.users[0].name, "alice");
    memcpy(w.sec->users.users[0].token, token, 32);
}

static void teardown(void)
{
    free(w.shm);
    free(w.sec);
}

TestSuite(worker, .init = setup, .fini = teardown);

static struct pkt_slot *result(struct ring *r, uint32_t i)
{
    return &r->slots[(r->idx->head + i) & r->mask];   /* unpublished results of this batch */
}

/* Phase 1 and phase 2 of a handshake as the main process drives them; returns the session id
 * and fills the client's keys. */
static uint32_t connect_alice(struct session_keys *keys, uint64_t now)
{
    struct hs_client st;
    uint8_t e[32];
    struct pkt_slot req;
    randombytes_buf(e, sizeof(e));
    memset(&req, 0, sizeof(req));
    cr_assert(hs_client_request(&st, e, w.sec->s_pub, "alice", token, now, req.data));
    req.meta.op = OP_HELLO;
    req.meta.len = CONNECT_REQ_LEN;
    worker_handle(&w, &w.rings.in_rx, &req, now);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *hello = result(&w.rings.out_dec, 0);
    cr_assert_eq(hello->meta.op, RES_HELLO);
    cr_assert_eq(hello->meta.len - CONNECT_REQ_LEN, 5);
    cr_assert_eq(memcmp(hello->data + CONNECT_REQ_LEN, "alice", 5), 0);
    w.dec_pending = 0;

    struct hs_config cfg = { .prefix_len = 24, .mtu = 1400, .client_ip = 0x0a08000a,
                             .server_ip = 0x0a080001, .keepalive_s = 25 };
    req.meta.op = OP_ACCEPT;
    req.meta.aux = STATUS_OK;
    req.meta.len = (uint16_t)(CONNECT_REQ_LEN + hs_config_encode(req.data + CONNECT_REQ_LEN, &cfg));
    worker_handle(&w, &w.rings.in_ctl, &req, now);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *acc = result(&w.rings.out_dec, 0);
    cr_assert_eq(acc->meta.op, RES_ACCEPTED);
    struct hs_config got;
    cr_assert_eq(hs_client_response(&st, acc->data, acc->meta.len, token, &got, keys), HSC_ACCEPTED);
    cr_assert_eq(got.session_id, acc->meta.session_id);
    cr_assert_eq((got.session_id & (SESSION_SLOTS - 1)) % 2, 0, "a slot this worker owns");
    w.dec_pending = 0;
    return got.session_id;
}

static struct pkt_slot datagram(uint32_t sid, const struct session_keys *k, uint64_t counter,
                                uint64_t ts, uint32_t src)
{
    struct pkt_slot req;
    uint8_t ip[28] = { 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17 };
    put_be32(ip + 12, src);
    put_be32(ip + 16, 0xc0a8640a);
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_DECRYPT;
    req.meta.session_id = sid;
    req.meta.len = (uint16_t)transport_seal(req.data, MSG_DATA, k->k_c2s, sid, counter, ts, ip,
                                            sizeof(ip));
    return req;
}

Test(worker, handshake_then_data_replay_tamper_stale_spoof)
{
    struct session_keys k;
    uint64_t now = 1734220800000ULL;
    uint32_t sid = connect_alice(&k, now);

    struct pkt_slot d = datagram(sid, &k, 0, now, 0x0a08000a);
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.dec_pending, 1, "good packet decrypted");
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.op, RES_DATA);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.len, 28);
    w.dec_pending = 0;

    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.shm->ctl.drops[DROP_REPLAY], 1);
    d = datagram(sid, &k, 1, now, 0x0a08000a);
    d.data[d.meta.len - 1] ^= 1;
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.shm->ctl.drops[DROP_AUTH], 1);
    d = datagram(sid, &k, 2, now - 6000, 0x0a08000a);
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.shm->ctl.drops[DROP_STALE], 1);
    d = datagram(sid, &k, 3, now, 0x0a08000b);
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.shm->ctl.drops[DROP_SPOOFED_SOURCE], 1);
    d = datagram(sid ^ (1u << 20), &k, 4, now, 0x0a08000a);     /* same slot, other id */
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.shm->ctl.drops[DROP_NO_SESSION], 1);
    cr_assert_eq(w.dec_pending, 0, "none of those produced anything");

    /* Erase: the keys are gone and later packets find no session. */
    struct pkt_slot e;
    memset(&e, 0, sizeof(e));
    e.meta.op = OP_ERASE;
    e.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_ctl, &e, now);
    static const uint8_t zero[sizeof(struct key_slot)];
    cr_assert_eq(memcmp(&w.sec->slots[sid & (SESSION_SLOTS - 1)], zero, sizeof(zero)), 0,
                 "slot wiped");
    w.dec_pending = 0;
    d = datagram(sid, &k, 5, now, 0x0a08000a);
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.shm->ctl.drops[DROP_NO_SESSION], 2);
}

Test(worker, stale_request_timestamp_is_refused_with_the_minimum)
{
    struct session_keys k;
    uint64_t now = 1734220800000ULL;
    connect_alice(&k, now);
    /* The same timestamp again (a replayed or clock-stepped client): STALE_TIMESTAMP. */
    struct hs_client st;
    uint8_t e[32];
    struct pkt_slot req;
    randombytes_buf(e, sizeof(e));
    memset(&req, 0, sizeof(req));
    hs_client_request(&st, e, w.sec->s_pub, "alice", token, now, req.data);
    req.meta.op = OP_HELLO;
    req.meta.len = CONNECT_REQ_LEN;
    worker_handle(&w, &w.rings.in_rx, &req, now + 50);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *r = result(&w.rings.out_dec, 0);
    cr_assert_eq(r->meta.op, RES_REPLY);
    cr_assert_eq(r->meta.aux, STATUS_STALE_TIMESTAMP);
    cr_assert_eq(get_be64(r->data + 8), now + 50, "max(server clock, last accepted + 1)");
}

/* Requests only a broken main process sends: each ends the worker. */
static void malformed(uint16_t op, struct ring *from, uint16_t len, uint32_t sid)
{
    struct pkt_slot req;
    memset(&req, 0, sizeof(req));
    req.meta.op = op;
    req.meta.len = len;
    req.meta.session_id = sid;
    worker_handle(&w, from, &req, 0);
}

Test(worker, unknown_op_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    malformed(99, &w.rings.in_rx, 10, 0);
}

Test(worker, op_on_the_wrong_ring_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    malformed(OP_ACCEPT, &w.rings.in_rx, CONNECT_REQ_LEN + RESP_CONFIG_BASE, 0);
}

Test(worker, length_beyond_the_slot_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    malformed(OP_ENCRYPT, &w.rings.in_tun, SLOT_DATA + 1, 0);
}

Test(worker, session_of_another_worker_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    malformed(OP_ENCRYPT, &w.rings.in_tun, 100, 1u << 20 | 1);  /* slot 1: worker 1's */
}

Test(worker, accept_without_config_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    malformed(OP_ACCEPT, &w.rings.in_ctl, 10, 0);
}
