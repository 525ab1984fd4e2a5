/* The enclave worker's WireGuard requests (enclave/wg_worker.c; docs/WIREGUARD.md, phase 2),
 * driven in memory as test_worker.c drives ours: initiations made by an independent initiator
 * (tests/unit/gen_wg_vectors.py: peers A with a preshared key and B without, both devices of
 * users of this table, and C that is nobody's) go through OP_WG_HELLO and OP_WG_ACCEPT; the
 * response must be the Python responder's byte for byte (the worker's ephemeral fixed through
 * its test seam); transport messages A sealed in Python come out of OP_WG_DECRYPT, and what
 * OP_ENCRYPT seals opens with A's keys. Refusals are silent and counted; what only a broken
 * main process could send ends the worker. */
#include <arpa/inet.h>
#include <stdlib.h>

#include "testutil.h"

#include "../../enclave/wg_peers.h"
#include "../../enclave/wg_transport.h"
#include "../../enclave/worker.h"
#include "vpn/handshake.h"
#include "vpn/proto.h"
#include "vpn/transport.h"
#include "vpn/wg_blake2s.h"

#include "vectors_wg.inc"

static struct worker w;
static struct wg_peer_list *peers;
static uint8_t eph[WG_KEY_LEN];
static const uint64_t MONO0 = 1000000;
static const uint32_t A_IP = 0x0a08001f;    /* 10.8.0.31: phone's address (the classes file's) */

/* A of alice ("phone", with its preshared key), B of bob ("laptop"), as the users file says. */
static void add_peer(const char *user, const char *device, const char *pub_hex,
                     const char *psk_hex)
{
    struct wg_peer_def *d = &peers->defs[peers->count++];
    memset(d, 0, sizeof(*d));
    strcpy(d->user, user);
    memcpy(d->device_id, device, strlen(device));
    unhex(d->public_key, WG_KEY_LEN, pub_hex);
    if (psk_hex)
        unhex(d->psk, WG_KEY_LEN, psk_hex);
}

static void setup(void)
{
    uint8_t priv[WG_KEY_LEN];
    cr_assert(sodium_init() >= 0);
    cr_assert_eq(wg_blake2s_init(), 0);
    memset(&w, 0, sizeof(w));
    w.shm = calloc(1, sizeof(*w.shm));
    w.sec = calloc(1, sizeof(*w.sec));
    peers = calloc(1, sizeof(*peers));
    cr_assert(w.shm && w.sec && peers);
    worker_rings_init(&w.rings, w.shm);
    w.index = 0;
    w.count = 2;
    w.doorbell_fd = -1;
    w.replay_window_ms = 5000;
    w.mono_ms = MONO0;
    unhex(priv, sizeof(priv), WGV_SERVER_PRIV);
    cr_assert(wg_identity_init(&w.sec->wg_id, priv));
    w.sec->wg_enabled = 1;
    unhex(eph, sizeof(eph), WGW_SERVER_EPH_PRIV);
    w.wg_test_ephemeral = eph;
    w.sec->users.count = 2;
    strcpy(w.sec->users.users[0].name, "alice");
    strcpy(w.sec->users.users[1].name, "bob");
    wg_peers_init(&w.sec->wg_peers);
    add_peer("alice", "phone", WGW_PEER_A_PUB, WGW_PEER_A_PSK);
    add_peer("bob", "laptop", WGW_PEER_B_PUB, NULL);
    int skipped = -1;
    /* The floor: the enclave started before the vectors' stamps. */
    cr_assert_eq(wg_peers_admit(&w.sec->wg_peers, &w.sec->users, peers,
                                (uint64_t)WGW_BASE_UNIX_S * 1000, &skipped), 2);
    cr_assert_eq(skipped, 0);
}

static void teardown(void)
{
    free(w.shm);
    free(w.sec);
    free(peers);
}

TestSuite(wg_worker, .init = setup, .fini = teardown);

static struct pkt_slot *result(struct ring *r, uint32_t i)
{
    return &r->slots[(r->idx->head + i) & r->mask];   /* unpublished results of this batch */
}

static struct pkt_slot req;

static void send_hello(const char *init_hex)
{
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_HELLO;
    req.meta.len = (uint16_t)unhex(req.data, sizeof(req.data), init_hex);
    worker_handle(&w, &w.rings.in_hs, &req, 0);
}

/* The main process's phase 2 for initiation init_hex: its RES_HELLO request block, a config
 * block with the device's address and MTU 1420, decision aux. */
static void send_accept(const char *init_hex, uint16_t aux)
{
    struct hs_config cfg = { .prefix_len = 24, .mtu = 1420, .client_ip = A_IP,
                             .server_ip = 0x0a080001, .keepalive_s = 25 };
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_ACCEPT;
    req.meta.aux = aux;
    cr_assert_eq(unhex(req.data, CONNECT_REQ_LEN, init_hex), WG_INIT_LEN);
    req.meta.len = (uint16_t)(CONNECT_REQ_LEN + hs_config_encode(req.data + CONNECT_REQ_LEN, &cfg));
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
}

/* Phase 1 and 2 of A's initiation init_hex: the new session's id. */
static uint32_t connect_a(const char *init_hex)
{
    send_hello(init_hex);
    cr_assert_eq(w.dec_pending, 1);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.op, RES_HELLO);
    w.dec_pending = 0;
    send_accept(init_hex, STATUS_OK);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *acc = result(&w.rings.out_dec, 0);
    cr_assert_eq(acc->meta.op, RES_ACCEPTED);
    w.dec_pending = 0;
    return acc->meta.session_id;
}

/* A transport message from the vectors, to our session sid (its receiver field written). */
static void send_transport(const char *msg_hex, uint32_t sid)
{
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_DECRYPT;
    req.meta.len = (uint16_t)unhex(req.data, sizeof(req.data), msg_hex);
    wg_put_le32(req.data + WG_DATA_RECEIVER, sid);
    req.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_rx, &req, 0);
}

static void assert_nothing_out(void)
{
    cr_assert_eq(w.dec_pending, 0, "a result came out");
    cr_assert_eq(w.enc_pending, 0, "a datagram came out");
}

Test(wg_worker, hello_names_the_user_and_device_and_commits_nothing)
{
    for (int round = 0; round < 2; round++) {
        send_hello(WGW_INIT_A_T1);
        cr_assert_eq(w.dec_pending, 1);
        struct pkt_slot *h = result(&w.rings.out_dec, 0);
        uint8_t init[WG_INIT_LEN], zero[CONNECT_REQ_LEN] = { 0 };
        static const uint8_t phone[DEVICE_ID_LEN] = "phone";
        unhex(init, sizeof(init), WGW_INIT_A_T1);
        cr_assert_eq(h->meta.op, RES_HELLO);
        cr_assert_eq(h->meta.aux, HELLO_WIREGUARD);
        cr_assert_eq(h->meta.len, HELLO_USER_OFF + 5);
        cr_assert(memcmp(h->data, init, WG_INIT_LEN) == 0, "the initiation goes back");
        cr_assert(memcmp(h->data + WG_INIT_LEN, zero, CONNECT_REQ_LEN - WG_INIT_LEN) == 0);
        cr_assert(memcmp(h->data + CONNECT_REQ_LEN, phone, DEVICE_ID_LEN) == 0,
                  "the device id is its name, NUL-padded");
        cr_assert(memcmp(h->data + HELLO_USER_OFF, "alice", 5) == 0);
        w.dec_pending = 0;      /* the same initiation again: nothing was committed */
    }
    send_hello(WGW_INIT_B_T1);
    cr_assert_eq(w.dec_pending, 1);
    cr_assert(memcmp(result(&w.rings.out_dec, 0)->data + HELLO_USER_OFF, "bob", 3) == 0);
}

Test(wg_worker, unknown_key_bad_mac1_and_disabled_user_get_nothing)
{
    send_hello(WGW_INIT_C_T1);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_WG_PEER], 1);

    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_HELLO;
    req.meta.len = (uint16_t)unhex(req.data, sizeof(req.data), WGW_INIT_A_T1);
    req.data[WG_INIT_MAC1 + 3] ^= 1;
    worker_handle(&w, &w.rings.in_hs, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_HANDSHAKE], 1);

    w.sec->users.users[1].disabled = 1;
    send_hello(WGW_INIT_B_T1);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_DISABLED], 1);
    /* and at phase 2 (the user disabled in between): nothing to send, refused */
    send_accept(WGW_INIT_B_T1, STATUS_OK);
    cr_assert_eq(w.dec_pending, 1);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.op, RES_REPLY);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.len, 0);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.aux, STATUS_AUTH_FAILED);
    cr_assert_eq(w.shm->ctl.sessions, 0);
}

/* The response: the Python responder's for the same ephemeral, with our index (the session
 * id) as its sender and mac1 over that. */
static void assert_response(const struct pkt_slot *acc, const char *want_hex,
                            const char *mac1_key_hex)
{
    uint8_t want[WG_RESP_LEN], mac1_key[WG_HASH_LEN];
    unhex(want, sizeof(want), want_hex);
    unhex(mac1_key, sizeof(mac1_key), mac1_key_hex);
    wg_put_le32(want + WG_RESP_SENDER, acc->meta.session_id);
    cr_assert(wg_mac(want + WG_RESP_MAC1, mac1_key, sizeof(mac1_key), want, WG_RESP_MAC1));
    cr_assert_eq(acc->meta.op, RES_ACCEPTED);
    cr_assert_eq(acc->meta.aux, HELLO_WIREGUARD);
    cr_assert_eq(acc->meta.len, WG_RESP_LEN);
    cr_assert(memcmp(acc->data, want, WG_RESP_LEN) == 0, "response differs from Python's");
}

Test(wg_worker, accept_answers_as_the_independent_responder)
{
    send_accept(WGW_INIT_A_T1, STATUS_OK);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *acc = result(&w.rings.out_dec, 0);
    assert_response(acc, WGW_RESPONSE_A_T1, WGW_A_MAC1_KEY);
    uint32_t sid = acc->meta.session_id;
    cr_assert_eq((sid & (SESSION_SLOTS - 1)) % 2, 0, "a slot this worker owns");
    const struct key_slot *k = &w.sec->slots[sid & (SESSION_SLOTS - 1)];
    cr_assert_eq(k->session_id, sid);
    cr_assert_eq(k->format, KEY_FORMAT_WG);
    cr_assert_eq(k->peer_index, 0x0A0A0A01u, "our messages go to the initiator's index");
    cr_assert_eq(k->client_ip, A_IP);
    cr_assert_eq(k->mtu, 1420);
    uint8_t a_send[WG_KEY_LEN], a_recv[WG_KEY_LEN];
    unhex(a_send, sizeof(a_send), WGW_A_SEND);
    unhex(a_recv, sizeof(a_recv), WGW_A_RECV);
    cr_assert(memcmp(k->k_c2s, a_send, WG_KEY_LEN) == 0, "we receive with A's sending key");
    cr_assert(memcmp(k->k_s2c, a_recv, WG_KEY_LEN) == 0);
    cr_assert_eq(w.shm->ctl.sessions, 1);
    w.dec_pending = 0;

    /* B has no preshared key: the same through the zero key. */
    send_accept(WGW_INIT_B_T1, STATUS_OK);
    cr_assert_eq(w.dec_pending, 1);
    assert_response(result(&w.rings.out_dec, 0), WGW_RESPONSE_B_T1, WGW_B_MAC1_KEY);
}

Test(wg_worker, timestamps_must_grow_and_initiations_not_come_too_fast)
{
    connect_a(WGW_INIT_A_T1);
    send_hello(WGW_INIT_A_T1);      /* the accepted one again */
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_WG_REPLAY], 1);
    w.mono_ms += WG_MIN_INITIATION_INTERVAL_MS;
    send_hello(WGW_INIT_A_T0);      /* older */
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_WG_REPLAY], 2);

    /* A newer one, but within WG_MIN_INITIATION_INTERVAL_MS of the accepted one. */
    w.mono_ms -= 1;
    send_hello(WGW_INIT_A_T2);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_WG_REPLAY], 3);
    w.mono_ms += 1;
    send_hello(WGW_INIT_A_T2);
    cr_assert_eq(w.dec_pending, 1);
    w.dec_pending = 0;
    /* A replayed initiation at phase 2 is refused too: nothing to send. */
    send_accept(WGW_INIT_A_T0, STATUS_OK);
    cr_assert_eq(w.dec_pending, 1);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.op, RES_REPLY);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.len, 0);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.aux, STATUS_STALE_TIMESTAMP);
}

Test(wg_worker, stamps_from_before_the_start_are_replays)
{
    /* An enclave started after WGW_INIT_A_T2's time: even that one replays nothing. */
    int skipped;
    memset(&w.sec->wg_peers, 0, sizeof(w.sec->wg_peers));
    wg_peers_init(&w.sec->wg_peers);
    cr_assert_eq(wg_peers_admit(&w.sec->wg_peers, &w.sec->users, peers,
                                (uint64_t)(WGW_BASE_UNIX_S + 300) * 1000, &skipped), 2);
    send_hello(WGW_INIT_A_T2);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_WG_REPLAY], 1);
}

Test(wg_worker, a_refused_accept_commits_the_stamp_and_sends_nothing)
{
    send_accept(WGW_INIT_A_T1, STATUS_SERVER_FULL);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *r = result(&w.rings.out_dec, 0);
    cr_assert_eq(r->meta.op, RES_REPLY);
    cr_assert_eq(r->meta.len, 0, "WireGuard has no refusal message");
    cr_assert_eq(r->meta.aux, STATUS_SERVER_FULL);
    cr_assert_eq(w.shm->ctl.sessions, 0);
    w.dec_pending = 0;
    w.mono_ms += 1000;
    send_hello(WGW_INIT_A_T1);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_WG_REPLAY], 1, "the refused initiation cannot replay");
}

Test(wg_worker, transport_in_data_keepalive_replay_spoof_tamper_roaming)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    uint8_t udp[64];
    size_t udp_len = unhex(udp, sizeof(udp), WGW_UDP);

    send_transport(WGW_DATA_A0, sid);
    cr_assert_eq(w.dec_pending, 1);
    struct pkt_slot *d = result(&w.rings.out_dec, 0);
    cr_assert_eq(d->meta.op, RES_DATA);
    cr_assert_eq(d->meta.len, udp_len, "padding trimmed to the IPv4 total length");
    cr_assert(memcmp(d->data, udp, udp_len) == 0);
    cr_assert_eq(w.shm->ctl.packets_decrypted, 1);
    w.dec_pending = 0;

    send_transport(WGW_DATA_A0, sid);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_REPLAY], 1);

    send_transport(WGW_SPOOF_A1, sid);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_SPOOFED_SOURCE], 1);

    /* An authenticated message from a new address: the session follows it. */
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_DECRYPT;
    req.meta.len = (uint16_t)unhex(req.data, sizeof(req.data), WGW_KEEPALIVE_A2);
    wg_put_le32(req.data + WG_DATA_RECEIVER, sid);
    req.meta.session_id = sid;
    req.meta.peer.sin6_family = AF_INET6;
    req.meta.peer.sin6_port = htons(51999);
    worker_handle(&w, &w.rings.in_rx, &req, 0);
    cr_assert_eq(w.dec_pending, 1);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.op, RES_KEEPALIVE);
    cr_assert_eq(result(&w.rings.out_dec, 0)->meta.len, 0);
    cr_assert_eq(w.sec->slots[sid & (SESSION_SLOTS - 1)].peer.sin6_port, htons(51999));
    w.dec_pending = 0;

    /* Tampered (a counter not seen yet, so that the tag is what fails). */
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_DECRYPT;
    req.meta.len = (uint16_t)unhex(req.data, sizeof(req.data), WGW_DATA_A0);
    wg_put_le32(req.data + WG_DATA_RECEIVER, sid);
    wg_put_le64(req.data + WG_DATA_COUNTER, 9);
    req.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_rx, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_AUTH], 1);

    /* A message for an id whose slot holds another session, and a datagram of our own
     * protocol for a WireGuard session: no session. */
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_DECRYPT;
    req.meta.len = (uint16_t)unhex(req.data, sizeof(req.data), WGW_DATA_A0);
    wg_put_le32(req.data + WG_DATA_RECEIVER, sid + (2u << SESSION_SLOT_BITS));
    req.meta.session_id = sid + (2u << SESSION_SLOT_BITS);
    worker_handle(&w, &w.rings.in_rx, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_NO_SESSION], 1);
    static const uint8_t any_key[KEY_LEN], ip[20] = { 0x45, 0, 0, 20 };
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_DECRYPT;
    req.meta.session_id = sid;
    req.meta.len = (uint16_t)transport_seal(req.data, MSG_DATA, any_key, sid, 0, 0, ip,
                                            sizeof(ip));
    worker_handle(&w, &w.rings.in_rx, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_NO_SESSION], 2);
    /* A message too short to be one, or with reserved bytes set: malformed. */
    send_transport(WGW_DATA_A0, sid);
    req.meta.len = WG_DATA_MIN_LEN - 1;
    worker_handle(&w, &w.rings.in_rx, &req, 0);
    req.meta.len = WG_DATA_MIN_LEN;
    req.data[2] = 1;
    worker_handle(&w, &w.rings.in_rx, &req, 0);
    cr_assert_eq(w.shm->ctl.drops[DROP_MALFORMED], 2);
}

/* The first OP_ENCRYPT result's message, opened with A's receiving key; returns its length. */
static size_t open_sealed(uint32_t sid, uint64_t want_counter, uint8_t *pt)
{
    cr_assert_eq(w.enc_pending, 1);
    struct pkt_slot *s = result(&w.rings.out_enc, 0);
    uint8_t a_recv[WG_KEY_LEN];
    unhex(a_recv, sizeof(a_recv), WGW_A_RECV);
    cr_assert_eq(s->meta.op, RES_SEALED);
    cr_assert_eq(s->meta.aux, HELLO_WIREGUARD, "sent from the WireGuard socket");
    cr_assert_eq(s->meta.session_id, sid);
    cr_assert_eq(wg_classify(s->data, s->meta.len), WG_MSG_TRANSPORT);
    cr_assert_eq(wg_get_le32(s->data + WG_DATA_RECEIVER), 0x0A0A0A01u);
    cr_assert_eq(wg_get_le64(s->data + WG_DATA_COUNTER), want_counter);
    cr_assert(wg_transport_open(pt, s->data, s->data + WG_DATA_HEADER_LEN,
                                s->meta.len - WG_DATA_HEADER_LEN, a_recv),
              "A's receiving key opens it");
    w.enc_pending = 0;
    return s->meta.len - WG_DATA_HEADER_LEN - WG_TAG_LEN;
}

Test(wg_worker, encrypt_seals_for_the_initiator_and_keepalives_are_empty)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    uint8_t udp[64], pt[SLOT_DATA], zero[16] = { 0 };
    size_t udp_len = unhex(udp, sizeof(udp), WGW_UDP);
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_ENCRYPT;
    req.meta.session_id = sid;
    req.meta.len = (uint16_t)udp_len;
    memcpy(req.data, udp, udp_len);
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    cr_assert_eq(open_sealed(sid, 0, pt), 48, "padded to a multiple of 16");
    cr_assert(memcmp(pt, udp, udp_len) == 0 && memcmp(pt + udp_len, zero, 48 - udp_len) == 0);

    req.meta.len = 0;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    cr_assert_eq(open_sealed(sid, 1, pt), 0, "a keepalive is an empty message");
    cr_assert_eq(w.shm->ctl.packets_encrypted, 2);

    /* The control thread's passive keepalive: the same empty message, asked on in_ctl. */
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_KEEPALIVE;
    req.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
    cr_assert_eq(open_sealed(sid, 2, pt), 0, "OP_WG_KEEPALIVE seals an empty message");

    /* WireGuard has no DISCONNECT: sealing one for its session makes nothing. */
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_SEAL_CONTROL;
    req.meta.aux = MSG_DISCONNECT;
    req.meta.len = DISCONNECT_PLAINTEXT;
    req.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
    assert_nothing_out();
}

/* Our sealed datagrams say they are ours (aux 0), whatever an out ring slot held before. */
Test(wg_worker, our_sealed_datagrams_say_they_are_ours)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_ENCRYPT;
    req.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    cr_assert_eq(w.enc_pending, 1);
    w.enc_pending = 0;      /* the slot keeps HELLO_WIREGUARD in its aux */
    struct key_slot *k = &w.sec->slots[sid & (SESSION_SLOTS - 1)];
    k->format = KEY_FORMAT_OURS;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    cr_assert_eq(w.enc_pending, 1);
    cr_assert_eq(result(&w.rings.out_enc, 0)->meta.aux, 0);
}

Test(wg_worker, keys_die_with_their_peer_and_after_reject_after_time)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    /* The users file loses A (a reload's step 1): its key is refused, erased, and nobody is
     * told (no DISCONNECT in WireGuard). */
    static struct wg_peer_list only_b;
    only_b.count = 1;
    only_b.defs[0] = peers->defs[1];
    cr_assert_eq(wg_peers_retire(&w.sec->wg_peers, &w.sec->users, &only_b, NULL, NULL), 1);
    send_transport(WGW_DATA_A0, sid);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_EXPIRED], 1);
    cr_assert_eq(w.sec->slots[sid & (SESSION_SLOTS - 1)].session_id, 0, "erased");
    cr_assert_eq(w.shm->ctl.sessions, 0);
    /* and A's initiations are from nobody now */
    w.mono_ms += 1000;
    send_hello(WGW_INIT_A_T2);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_WG_PEER], 1);

    /* B's session lives until WG_REJECT_AFTER_TIME_S, then dies silently too. */
    send_accept(WGW_INIT_B_T1, STATUS_OK);
    cr_assert_eq(w.dec_pending, 1);
    sid = result(&w.rings.out_dec, 0)->meta.session_id;
    w.dec_pending = 0;
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_ENCRYPT;
    req.meta.session_id = sid;
    w.mono_ms += WG_REJECT_AFTER_TIME_S * 1000ULL;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    cr_assert_eq(w.enc_pending, 1, "alive until the limit");
    w.enc_pending = 0;
    w.mono_ms += 1;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_EXPIRED], 2);
}

Test(wg_worker, a_re_keyed_peer_and_a_disabled_user_end_the_keys)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    /* The same device with another preshared key: a new entry, the old keys dead. */
    static struct wg_peer_list next;
    next = *peers;
    next.defs[0].psk[0] ^= 1;
    cr_assert_eq(wg_peers_retire(&w.sec->wg_peers, &w.sec->users, &next, NULL, NULL), 1);
    int skipped;
    cr_assert_eq(wg_peers_admit(&w.sec->wg_peers, &w.sec->users, &next, 0, &skipped), 1);
    send_transport(WGW_DATA_A0, sid);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_EXPIRED], 1);

    /* B's keys end when bob's generation moves on (disabled by a reload). */
    send_accept(WGW_INIT_B_T1, STATUS_OK);
    sid = result(&w.rings.out_dec, 0)->meta.session_id;
    w.dec_pending = 0;
    __atomic_add_fetch(&w.sec->users.users[1].gen, 1, __ATOMIC_RELEASE);
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_ENCRYPT;
    req.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_EXPIRED], 2);
}

Test(wg_worker, a_devices_sessions_rekey_in_its_own_record)
{
    /* Three handshakes of A: the newest is the device's current session, the one before its
     * retiring one, the first dead (devices.h), as for our clients. */
    uint32_t s1 = connect_a(WGW_INIT_A_T0);
    w.mono_ms += 1000;
    uint32_t s2 = connect_a(WGW_INIT_A_T1);
    w.mono_ms += 1000;
    uint32_t s3 = connect_a(WGW_INIT_A_T2);
    cr_assert(s1 != s2 && s2 != s3);
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_ENCRYPT;
    req.meta.session_id = s1;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_EXPIRED], 1);
    req.meta.session_id = s2;
    worker_handle(&w, &w.rings.in_tun, &req, 0);
    cr_assert_eq(w.enc_pending, 1);
}

/* A keepalive for one of our sessions (it has PING and PONG) or a gone one: nothing, counted. */
Test(wg_worker, a_keepalive_for_no_wireguard_session_makes_nothing)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    w.sec->slots[sid & (SESSION_SLOTS - 1)].format = KEY_FORMAT_OURS;
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_KEEPALIVE;
    req.meta.session_id = sid;
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
    req.meta.session_id = sid + (2u << SESSION_SLOT_BITS);
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
    assert_nothing_out();
    cr_assert_eq(w.shm->ctl.drops[DROP_NO_SESSION], 2);
}

Test(wg_worker, a_keepalive_with_a_payload_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_KEEPALIVE;
    req.meta.session_id = sid;
    req.meta.len = 1;
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
}

Test(wg_worker, wireguard_requests_without_wireguard_kill, .exit_code = WORKER_EXIT_MALFORMED)
{
    w.sec->wg_enabled = 0;
    send_hello(WGW_INIT_A_T1);
}

Test(wg_worker, a_receiver_other_than_the_session_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    uint32_t sid = connect_a(WGW_INIT_A_T1);
    send_transport(WGW_DATA_A0, sid);
    w.dec_pending = 0;
    req.meta.session_id = sid + (2u << SESSION_SLOT_BITS);
    worker_handle(&w, &w.rings.in_rx, &req, 0);
}

Test(wg_worker, an_accept_block_that_is_no_initiation_kills,
     .exit_code = WORKER_EXIT_MALFORMED)
{
    send_accept(WGW_INIT_A_T1, STATUS_OK);
    w.dec_pending = 0;
    req.data[WG_INIT_LEN] = 1;
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
}

Test(wg_worker, an_accept_with_a_bad_mtu_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    struct hs_config cfg = { .prefix_len = 24, .mtu = 100, .client_ip = A_IP };
    memset(&req, 0, sizeof(req));
    req.meta.op = OP_WG_ACCEPT;
    unhex(req.data, CONNECT_REQ_LEN, WGW_INIT_A_T1);
    req.meta.len = (uint16_t)(CONNECT_REQ_LEN + hs_config_encode(req.data + CONNECT_REQ_LEN, &cfg));
    worker_handle(&w, &w.rings.in_ctl, &req, 0);
}

Test(wg_worker, a_hello_of_another_length_kills, .exit_code = WORKER_EXIT_MALFORMED)
{
    send_hello(WGW_INIT_A_T1);
    w.dec_pending = 0;
    req.meta.len = WG_INIT_LEN - 1;
    worker_handle(&w, &w.rings.in_hs, &req, 0);
}

/* The peer table's stamp packing keeps the 12 bytes' order, and refuses what is no time. */
Test(wg_worker, tai64n_packing)
{
    uint8_t a[WG_TAI64N_LEN], b[WG_TAI64N_LEN];
    uint64_t pa, pb;
    unhex(a, sizeof(a), WGV_TIMESTAMP);
    cr_assert(wg_tai64n_pack(a, &pa));
    memcpy(b, a, sizeof(b));
    b[11] ^= 1;     /* one nanosecond later or earlier */
    cr_assert(wg_tai64n_pack(b, &pb));
    cr_assert_eq(pa < pb, memcmp(a, b, sizeof(a)) < 0);
    b[7] += 1;      /* a second later, fewer nanoseconds */
    b[8] = b[9] = b[10] = b[11] = 0;
    cr_assert(wg_tai64n_pack(b, &pb));
    cr_assert_gt(pb, pa);
    b[8] = 0x40;    /* 2^30 ns: no time */
    cr_assert(!wg_tai64n_pack(b, &pb));
    memset(b, 0, sizeof(b));      /* before the label's epoch */
    cr_assert(!wg_tai64n_pack(b, &pb));
    /* What a peer sends at a Unix time packs to wg_tai64n_at of it (WireGuard's +10 s). */
    put_be64(b, 0x400000000000000aULL + 1734220800);
    put_be32(b + 8, 123000000);
    cr_assert(wg_tai64n_pack(b, &pb));
    cr_assert_eq(pb, wg_tai64n_at(1734220800123ULL));
}
