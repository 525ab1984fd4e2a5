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

/* The main process's config block carries a DNS block (extension 4), as when server.conf has
 * [network] dns and dns_search. */
static bool main_pushes_dns;

/* Phase 1 and phase 2 of a handshake as the main process drives them, the request with
 * extension 1 flags `flags`; returns the session id and fills the client's keys and the
 * configuration it read. */
/* Phase 1 and 2 for device `device` of alice (NULL: none, the implicit device); the accept's
 * result op (RES_ACCEPTED, or RES_REPLY with its status in *status). */
static uint16_t accept_device(struct hs_client *st, uint64_t now, uint8_t flags,
                              const uint8_t *device, struct pkt_slot **out, uint16_t *status)
{
    uint8_t e[32];
    static struct pkt_slot req;
    randombytes_buf(e, sizeof(e));
    memset(&req, 0, sizeof(req));
    if (device)
        flags |= REQ_FLAG_DEVICE;
    cr_assert(hs_client_request_device(st, e, w.sec->s_pub, "alice", token, now, flags, device,
                                       req.data));
    req.meta.op = OP_HELLO;
    req.meta.len = CONNECT_REQ_LEN;
    worker_handle(&w, &w.rings.in_hs, &req, now);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *hello = result(&w.rings.out_dec, 0);
    cr_assert_eq(hello->meta.op, RES_HELLO);
    cr_assert_eq(hello->meta.len - HELLO_USER_OFF, 5);
    cr_assert_eq(memcmp(hello->data + HELLO_USER_OFF, "alice", 5), 0);
    static const uint8_t none[DEVICE_ID_LEN];
    cr_assert_eq(memcmp(hello->data + CONNECT_REQ_LEN, device ? device : none, DEVICE_ID_LEN),
                 0, "the device id goes to the main process");
    w.dec_pending = 0;

    struct hs_config cfg = { .prefix_len = 24, .mtu = 1400, .client_ip = 0x0a08000a,
                             .server_ip = 0x0a080001, .keepalive_s = 25 };
    if (main_pushes_dns) {
        cfg.dns_block = true;
        cfg.dns_count = 2;
        cfg.dns[0] = 0x0a080001;
        cfg.dns[1] = 0x09090909;
        strcpy(cfg.dns_search, "home.lan corp.example");
    }
    req.meta.op = OP_ACCEPT;
    req.meta.aux = STATUS_OK;
    req.meta.len = (uint16_t)(CONNECT_REQ_LEN + hs_config_encode(req.data + CONNECT_REQ_LEN, &cfg));
    worker_handle(&w, &w.rings.in_ctl, &req, now);
    cr_assert_eq(w.dec_pending, 1);
    *out = result(&w.rings.out_dec, 0);
    *status = (*out)->meta.aux;
    w.dec_pending = 0;
    return (*out)->meta.op;
}

/* A device of alice connected: its session id. */
static uint32_t connect_device(const uint8_t *device, uint64_t now)
{
    struct hs_client st;
    struct pkt_slot *acc;
    uint16_t status;
    cr_assert_eq(accept_device(&st, now, REQ_FLAG_WINDOW, device, &acc, &status), RES_ACCEPTED);
    return acc->meta.session_id;
}

static uint32_t connect_alice_flags(struct session_keys *keys, uint64_t now, uint8_t flags,
                                    struct hs_config *got_out)
{
    struct hs_client st;
    struct pkt_slot *acc;
    uint16_t status;
    cr_assert_eq(accept_device(&st, now, flags, NULL, &acc, &status), RES_ACCEPTED);
    struct hs_config got;
    cr_assert_eq(hs_client_response(&st, acc->data, acc->meta.len, token, &got, keys),
                 HSC_ACCEPTED);
    cr_assert_eq(got.session_id, acc->meta.session_id);
    cr_assert_eq((got.session_id & (SESSION_SLOTS - 1)) % 2, 0, "a slot this worker owns");
    if (got_out)
        *got_out = got;
    return got.session_id;
}

static uint32_t connect_alice(struct session_keys *keys, uint64_t now)
{
    return connect_alice_flags(keys, now, 0, NULL);
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
    worker_handle(&w, &w.rings.in_hs, &req, now + 50);
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

/* docs/PROTOCOL.md, "Replay window in the response": the worker tells the window it checks
 * to a client whose request has the WINDOW flag, and to no other (an older client refuses a
 * config with offset 28 set). */
Test(worker, the_replay_window_goes_only_to_a_client_that_asked)
{
    struct session_keys k;
    struct hs_config got;
    uint64_t now = 1734220800000ULL;
    w.replay_window_ms = 1234;
    connect_alice_flags(&k, now, 0, &got);
    cr_expect_eq(got.replay_window_ms, 0, "not asked: offset 28 stays zero");
    connect_alice_flags(&k, now + 1, REQ_FLAG_WINDOW, &got);
    cr_expect_eq(got.replay_window_ms, 1234, "the window the worker checks");
}

/* Extension 4: the DNS block goes to a client that asked (REQ_FLAG_DNS) and to no other, which
 * would refuse the longer config; a server without DNS settings answers an empty block. */
Test(worker, the_dns_block_goes_only_to_a_client_that_asked)
{
    struct session_keys k;
    struct hs_config got;
    uint64_t now = 1734220800000ULL;
    main_pushes_dns = true;
    connect_alice_flags(&k, now, REQ_FLAG_WINDOW, &got);
    cr_expect_not(got.dns_block, "not asked: no DNS block");
    cr_expect_eq(got.dns_count, 0);
    connect_alice_flags(&k, now + 1, REQ_FLAG_DNS, &got);
    cr_expect(got.dns_block);
    cr_expect_eq(got.dns_count, 2);
    cr_expect_eq(got.dns[0], 0x0a080001);
    cr_expect_eq(got.dns[1], 0x09090909);
    cr_expect_str_eq(got.dns_search, "home.lan corp.example");
    main_pushes_dns = false;
    connect_alice_flags(&k, now + 2, REQ_FLAG_WINDOW | REQ_FLAG_DNS, &got);
    cr_expect(got.dns_block, "asked: a block even when the server pushes nothing");
    cr_expect_eq(got.dns_count, 0);
    cr_expect_str_eq(got.dns_search, "");
}

/* The main process's config block must leave offset 28 zero: the window is the enclave's to
 * tell, a main process must not make a client believe another. */
Test(worker, accept_with_a_window_from_main_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    struct hs_client st;
    uint8_t e[32];
    struct pkt_slot req;
    uint64_t now = 1734220800000ULL;
    randombytes_buf(e, sizeof(e));
    memset(&req, 0, sizeof(req));
    cr_assert(hs_client_request_flags(&st, e, w.sec->s_pub, "alice", token, now,
                                      REQ_FLAG_WINDOW, req.data));
    struct hs_config cfg = { .prefix_len = 24, .mtu = 1400, .client_ip = 0x0a08000a,
                             .server_ip = 0x0a080001, .replay_window_ms = 600000 };
    req.meta.op = OP_ACCEPT;
    req.meta.aux = STATUS_OK;
    req.meta.len = (uint16_t)(CONNECT_REQ_LEN + hs_config_encode(req.data + CONNECT_REQ_LEN, &cfg));
    worker_handle(&w, &w.rings.in_ctl, &req, now);
}

/* The request of st (built by the client code) with its flags byte set to `flags` and sealed
 * again as a client would have: identity under the new extension header, mac1, auth_mac. */
static void reflag(uint8_t *req, const struct hs_client *st, uint8_t flags)
{
    uint8_t ad[HDR_LEN + KEY_LEN + REQ_EXT_LEN], identity[IDENTITY_LEN] = "alice", key[32];
    static const uint8_t zero_nonce[NONCE_LEN];
    req[HDR_LEN + REQ_EXT_FLAGS_OFF] = flags;
    size_t ad_len = hs_identity_ad(ad, req, true);
    crypto_aead_chacha20poly1305_ietf_encrypt(req + HDR_LEN + REQ_SEALED_OFF, NULL, identity,
                                              IDENTITY_LEN, ad, ad_len, NULL, zero_nonce,
                                              st->k_id);
    hs_mac1_key(key, w.sec->s_pub);
    hs_mac1(req + HDR_LEN + REQ_MAC1_OFF, key, req);
    hs_auth_mac(req + HDR_LEN + REQ_MAC_OFF, st->ck1, token, req);
}

Test(worker, a_request_with_an_unknown_flag_is_dropped)
{
    static const struct { uint8_t flags; bool taken; } cases[] = {
        { 0, true }, { REQ_FLAG_WINDOW, true }, { REQ_FLAG_DNS, true },
        { REQ_FLAG_WINDOW | REQ_FLAG_DNS, true }, { 0x04, false }, { 0x80, false },
        { REQ_FLAG_WINDOW | 0x40, false },
    };
    uint64_t now = 1734220800000ULL;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hs_client st;
        uint8_t e[32];
        struct pkt_slot req;
        randombytes_buf(e, sizeof(e));
        memset(&req, 0, sizeof(req));
        cr_assert(hs_client_request(&st, e, w.sec->s_pub, "alice", token, now + i, req.data));
        reflag(req.data, &st, cases[i].flags);
        req.meta.op = OP_HELLO;
        req.meta.len = CONNECT_REQ_LEN;
        w.dec_pending = 0;
        worker_handle(&w, &w.rings.in_hs, &req, now + i);
        cr_expect_eq(w.dec_pending == 1 && result(&w.rings.out_dec, 0)->meta.op == RES_HELLO,
                     cases[i].taken, "flags %02x", cases[i].flags);
        w.dec_pending = 0;
    }
    cr_expect_not(hs_client_request_flags(&(struct hs_client){ 0 }, token, w.sec->s_pub,
                                          "alice", token, now, 0x04, (uint8_t[CONNECT_REQ_LEN]){ 0 }),
                  "the client code sends no flag it does not know");
}

/* Phase 1 for user with tok at ts (extension 1 unless v1): the result's op, and its status
 * in *aux (RES_REPLY), or 0 when nothing came back. */
static uint16_t hello_as(const char *user, const uint8_t *tok, uint64_t ts, bool v1,
                         bool proven, uint16_t *aux)
{
    struct hs_client st;
    uint8_t e[32];
    struct pkt_slot req;
    randombytes_buf(e, sizeof(e));
    memset(&req, 0, sizeof(req));
    if (v1)
        cr_assert(hs_client_request_v1(&st, e, w.sec->s_pub, user, tok, ts, req.data));
    else
        cr_assert(hs_client_request(&st, e, w.sec->s_pub, user, tok, ts, req.data));
    req.meta.op = OP_HELLO;
    req.meta.len = CONNECT_REQ_LEN;
    req.meta.aux = proven ? HELLO_SOURCE_PROVEN : 0;
    w.dec_pending = 0;
    worker_handle(&w, &w.rings.in_hs, &req, ts);
    if (!w.dec_pending)
        return 0;
    struct pkt_slot *r = result(&w.rings.out_dec, 0);
    *aux = r->meta.aux;
    if (r->meta.op == RES_REPLY) {
        struct hs_config c;
        struct session_keys k;
        cr_assert_eq(hs_client_response(&st, r->data, r->meta.len, tok, &c, &k), HSC_REJECTED,
                     "the client can read the failure");
        cr_assert_eq(c.status, r->meta.aux);
    }
    w.dec_pending = 0;
    return r->meta.op;
}

static uint16_t hello(const char *user, const uint8_t *tok, uint64_t ts, bool v1, uint16_t *aux)
{
    return hello_as(user, tok, ts, v1, false, aux);
}

/* M2: the enclave stops checking a user's password after AUTH_FAIL_USER_BURST failures and
 * answers RATE_LIMITED, even to the right token, until the budget refills. */
Test(worker, failed_authentications_are_budgeted_per_user)
{
    uint8_t wrong[32];
    uint16_t aux = 0;
    uint64_t ts = 1734220800000ULL;
    memset(wrong, 0x11, sizeof(wrong));
    w.mono_ms = 1000000;
    for (int i = 0; i < AUTH_FAIL_USER_BURST; i++) {
        cr_assert_eq(hello("alice", wrong, ts + i, false, &aux), RES_REPLY);
        cr_assert_eq(aux, STATUS_AUTH_FAILED, "failure %d", i);
    }
    cr_assert_eq(hello("alice", wrong, ts + 20, false, &aux), RES_REPLY);
    cr_assert_eq(aux, STATUS_RATE_LIMITED);
    cr_assert_eq(hello("alice", token, ts + 21, false, &aux), RES_REPLY);
    cr_assert_eq(aux, STATUS_RATE_LIMITED, "no check at all while the budget is spent");
    w.mono_ms += AUTH_FAIL_USER_INTERVAL_MS;
    cr_assert_eq(hello("alice", token, ts + 22, false, &aux), RES_HELLO, "refilled");
}

Test(worker, unknown_names_are_budgeted_like_users)
{
    uint16_t aux = 0;
    uint64_t ts = 1734220800000ULL;
    w.mono_ms = 1000000;
    for (int i = 0; i < AUTH_FAIL_USER_BURST; i++) {
        cr_assert_eq(hello("mallory", token, ts + i, false, &aux), RES_REPLY);
        cr_assert_eq(aux, STATUS_AUTH_FAILED);
    }
    cr_assert_eq(hello("mallory", token, ts + 20, false, &aux), RES_REPLY);
    cr_assert_eq(aux, STATUS_RATE_LIMITED, "indistinguishable from a real user's budget");
    cr_assert_eq(hello("alice", token, ts + 21, false, &aux), RES_HELLO, "others unaffected");
}

Test(worker, global_failure_budget)
{
    uint16_t aux = 0;
    uint64_t ts = 1734220800000ULL;
    w.mono_ms = 1000000;
    for (int i = 0; i < AUTH_FAIL_GLOBAL_BURST; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        hello(name, token, ts + (uint64_t)i, false, &aux);
    }
    cr_assert_eq(hello("alice", token, ts + 1000, false, &aux), RES_REPLY);
    cr_assert_eq(aux, STATUS_RATE_LIMITED);
}

/* M1: a failure to a request without extension 1 has no safe form: nothing is sent. */
Test(worker, failure_of_a_v1_request_is_not_answered)
{
    uint8_t wrong[32];
    uint16_t aux = 0;
    memset(wrong, 0x11, sizeof(wrong));
    cr_assert_eq(hello("alice", wrong, 1734220800000ULL, true, &aux), 0);
    cr_assert_eq(w.shm->ctl.drops[DROP_UNANSWERED], 1);
    cr_assert_eq(hello("alice", token, 1734220800001ULL, true, &aux), RES_HELLO,
                 "a v1 client is still served");
}

/* L2: a timestamp far ahead would lock the user out; it is refused and nothing recorded. */
Test(worker, far_future_request_timestamp_is_refused)
{
    uint16_t aux = 0;
    uint64_t now = 1734220800000ULL;
    struct hs_client st;
    uint8_t e[32];
    struct pkt_slot req;
    randombytes_buf(e, sizeof(e));
    memset(&req, 0, sizeof(req));
    hs_client_request(&st, e, w.sec->s_pub, "alice", token, now + REQUEST_TS_MAX_AHEAD_MS + 1,
                      req.data);
    req.meta.op = OP_HELLO;
    req.meta.len = CONNECT_REQ_LEN;
    worker_handle(&w, &w.rings.in_hs, &req, now);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.aux, STATUS_STALE_TIMESTAMP);
    cr_assert_eq(get_be64(result(&w.rings.out_dec, 0)->data + 8), now);
    cr_assert_eq(hello("alice", token, now + 1, false, &aux), RES_HELLO, "not locked out");
}

Test(worker, last_timestamp_saturates)
{
    uint64_t min_ts = 0;
    w.sec->users.users[0].last_request_ts = UINT64_MAX;
    cr_assert_not(users_accept_ts(&w.sec->users, 0, UINT64_MAX, 5, true, &min_ts));
    cr_assert_eq(min_ts, UINT64_MAX, "no wrap to 0");
}

/* L3: after an enclave start, a request recorded before it is stale. */
Test(worker, requests_from_before_the_start_are_stale)
{
    uint16_t aux = 0;
    uint64_t start = 1734220800000ULL;
    users_set_ts_floor(&w.sec->users, start);
    cr_assert_eq(hello("alice", token, start - 1000, false, &aux), RES_REPLY);
    cr_assert_eq(aux, STATUS_STALE_TIMESTAMP);
    cr_assert_eq(hello("alice", token, start + 1, false, &aux), RES_HELLO);
}

static bool slot_zero(uint32_t sid)
{
    static const uint8_t zero[sizeof(struct key_slot)];
    return memcmp(&w.sec->slots[sid & (SESSION_SLOTS - 1)], zero, sizeof(zero)) == 0;
}

/* L4: the enclave refuses and erases a key older than rekey_interval + grace by itself. */
Test(worker, old_keys_are_refused_and_erased)
{
    struct session_keys k;
    uint64_t now = 1734220800000ULL;
    w.key_max_age_ms = 1000;
    w.mono_ms = 5000;
    uint32_t sid = connect_alice(&k, now);
    struct pkt_slot d = datagram(sid, &k, 0, now, 0x0a08000a);
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.dec_pending, 1);
    w.dec_pending = 0;
    w.mono_ms += 1001;
    d = datagram(sid, &k, 1, now, 0x0a08000a);
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.dec_pending, 0);
    cr_assert_eq(w.shm->ctl.drops[DROP_EXPIRED], 1);
    cr_assert(slot_zero(sid));
}

/* L4: a changed token or a removed user kills the user's keys in the enclave itself. */
Test(worker, token_change_and_removal_end_the_keys)
{
    struct session_keys k;
    uint64_t now = 1734220800000ULL;
    uint32_t sid = connect_alice(&k, now);
    struct user_table *next = calloc(1, sizeof(*next));
    cr_assert(next);
    *next = w.sec->users;
    next->users[0].token[0] ^= 1;
    cr_assert_eq(users_merge(&w.sec->users, next, now, NULL, NULL), 1);
    struct pkt_slot d = datagram(sid, &k, 0, now, 0x0a08000a);
    worker_handle(&w, &w.rings.in_rx, &d, now);
    cr_assert_eq(w.dec_pending, 0);
    cr_assert_eq(w.shm->ctl.drops[DROP_EXPIRED], 1);
    cr_assert(slot_zero(sid));

    memcpy(w.sec->users.users[0].token, token, 32);     /* back to alice's token */
    sid = connect_alice(&k, now + 10);
    memset(next, 0, sizeof(*next));
    cr_assert_eq(users_merge(&w.sec->users, next, now, NULL, NULL), 1, "alice removed");
    worker_sweep(&w);
    cr_assert(slot_zero(sid), "the sweep erased it without any packet");
    free(next);
}

/* L5: re-handshaking keeps at most one retiring session per user; older slots die. */
Test(worker, at_most_one_retiring_session_per_user)
{
    struct session_keys k;
    uint64_t now = 1734220800000ULL;
    uint32_t first = connect_alice(&k, now);
    uint32_t second = connect_alice(&k, now + 1);
    uint32_t third = connect_alice(&k, now + 2);
    worker_sweep(&w);
    cr_assert(slot_zero(first));
    cr_assert_not(slot_zero(second), "the retiring one stays for its overlap");
    cr_assert_not(slot_zero(third));
    for (int i = 0; i < 100; i++)
        connect_alice(&k, now + 3 + (uint64_t)i);
    int live = 0;
    for (int i = 0; i < SESSION_SLOTS; i++)
        live += w.sec->slots[i].session_id != 0;
    cr_assert_leq(live, 2 + 1, "dead slots are reclaimed, not piled up (%d live)", live);
}

/* A flood of wrong tokens from unproven (possibly forged) sources spends only that budget: a
 * request whose source the main process proved with a cookie still gets checked. */
Test(worker, proven_requests_have_their_own_budget)
{
    uint8_t wrong[32];
    uint16_t aux = 0;
    uint64_t ts = 1734220800000ULL;
    memset(wrong, 0x11, sizeof(wrong));
    w.mono_ms = 1000000;
    for (int i = 0; i <= AUTH_FAIL_USER_BURST; i++)
        hello_as("alice", wrong, ts + (uint64_t)i, false, false, &aux);
    cr_assert_eq(hello_as("alice", token, ts + 100, false, false, &aux), RES_REPLY);
    cr_assert_eq(aux, STATUS_RATE_LIMITED, "the unproven budget is spent");
    cr_assert_eq(hello_as("alice", token, ts + 101, false, true, &aux), RES_HELLO,
                 "a proven request is still checked");
}

/* Extension 5: each device of a user keeps its own current and retiring session; one
 * device's re-handshakes never end another's; the implicit device is one more device. */
Test(worker, devices_keep_their_own_sessions)
{
    uint64_t now = 1734220800000ULL;
    uint8_t a[DEVICE_ID_LEN], b[DEVICE_ID_LEN];
    memset(a, 0xa1, sizeof(a));
    memset(b, 0xb2, sizeof(b));
    uint32_t a1 = connect_device(a, now);
    uint32_t b1 = connect_device(b, now + 1);
    uint32_t i1 = connect_device(NULL, now + 2);
    uint32_t a2 = connect_device(a, now + 3);
    worker_sweep(&w);
    cr_assert_not(slot_zero(a1), "a's first session retires for its overlap");
    cr_assert_not(slot_zero(b1), "b's session is not touched by a's rekey");
    cr_assert_not(slot_zero(i1));
    uint32_t a3 = connect_device(a, now + 4);
    worker_sweep(&w);
    cr_assert(slot_zero(a1), "a's session before its retiring one dies");
    cr_assert_not(slot_zero(a2));
    cr_assert_not(slot_zero(a3));
    cr_assert_not(slot_zero(b1), "and b's still lives");
    cr_assert_not(slot_zero(i1));
    /* Once all of b's sessions are gone, its record is free for another device. */
    struct pkt_slot e;
    memset(&e, 0, sizeof(e));
    e.meta.op = OP_ERASE;
    e.meta.session_id = b1;
    worker_handle(&w, &w.rings.in_ctl, &e, now);
    uint32_t c1 = connect_device((const uint8_t[DEVICE_ID_LEN]){ 0xc3 }, now + 5);
    worker_sweep(&w);
    cr_assert_not(slot_zero(c1));
    cr_assert_not(slot_zero(a3));
}

/* The enclave's own bound: USER_DEVICES_MAX devices of one user with live sessions, whatever
 * the main process decided; the next device is refused with SERVER_FULL and leaves no key. */
Test(worker, a_user_has_at_most_user_devices_max_devices)
{
    uint64_t now = 1734220800000ULL;
    uint8_t dev[DEVICE_ID_LEN] = { 0 };
    for (int i = 0; i < USER_DEVICES_MAX; i++) {
        dev[0] = (uint8_t)(i + 1);
        connect_device(dev, now + (uint64_t)i);
    }
    int live = 0;
    for (int i = 0; i < SESSION_SLOTS; i++)
        live += w.sec->slots[i].session_id != 0;
    cr_assert_eq(live, USER_DEVICES_MAX);
    struct hs_client st;
    struct pkt_slot *acc;
    uint16_t status;
    dev[0] = 0xff;
    cr_assert_eq(accept_device(&st, now + 100, 0, dev, &acc, &status), RES_REPLY);
    cr_assert_eq(status, STATUS_SERVER_FULL);
    cr_assert_eq(w.shm->ctl.drops[DROP_DEVICES], 1);
    live = 0;
    for (int i = 0; i < SESSION_SLOTS; i++)
        live += w.sec->slots[i].session_id != 0;
    cr_assert_eq(live, USER_DEVICES_MAX, "the refused device's key was erased");
    struct hs_config c;
    struct session_keys k;
    cr_assert_eq(hs_client_response(&st, acc->data, acc->meta.len, token, &c, &k), HSC_REJECTED);
    /* A known device still rekeys. */
    dev[0] = 1;
    connect_device(dev, now + 101);
}

/* vpnctl user disable: the enclave refuses the user's right token with AUTH_FAILED, spends
 * no failure budget on it, and ends its keys; enabling it again lets it in. */
Test(worker, a_disabled_user_is_refused_and_its_keys_end)
{
    struct session_keys k;
    uint64_t now = 1734220800000ULL;
    uint32_t sid = connect_alice(&k, now);
    struct user_table *next = calloc(1, sizeof(*next));
    cr_assert(next);
    *next = w.sec->users;
    next->users[0].disabled = 1;
    cr_assert_eq(users_merge(&w.sec->users, next, now, NULL, NULL), 1);
    worker_sweep(&w);
    cr_assert(slot_zero(sid), "the disabled user's key is erased");
    uint16_t aux = 0;
    w.mono_ms = 1000000;
    for (int i = 0; i < AUTH_FAIL_USER_BURST + 2; i++) {
        cr_assert_eq(hello("alice", token, now + 10 + (uint64_t)i, false, &aux), RES_REPLY);
        cr_assert_eq(aux, STATUS_AUTH_FAILED, "never RATE_LIMITED: no guess was made");
    }
    cr_assert_eq(w.shm->ctl.drops[DROP_DISABLED], AUTH_FAIL_USER_BURST + 2);
    next->users[0].disabled = 0;
    cr_assert_eq(users_merge(&w.sec->users, next, now, NULL, NULL), 1, "enabled: a change");
    cr_assert_eq(hello("alice", token, now + 100, false, &aux), RES_HELLO);
    free(next);
}
