/* The worker's WireGuard requests (see wg_worker.h). */
#include "wg_worker.h"

#include <sodium.h>
#include <string.h>

#include "wg_noise.h"
#include "wg_peers.h"
#include "wg_transport.h"
#include "worker_ops.h"
#include "vpn/handshake.h"

/* An initiation that opened: its handshake state, its peer, and its owner's generation. */
struct opened {
    struct wg_initiation in;
    struct wg_peer_view peer;
    uint32_t user_gen;
};

static void opened_wipe(struct opened *o)
{
    wg_initiation_wipe(&o->in);
    wg_peer_view_wipe(&o->peer);
}

enum open_result {
    OPENED,
    NOT_AUTHENTIC,  /* did not open: nothing may come of it */
    REFUSED,        /* authentic, but no session may come of it now (*status says why) */
};

/* The checks both phases make on a private copy of an initiation: mac1 before any
 * Diffie-Hellman and the message opened (wg_noise.c), the peer found by its static key, its
 * user present and enabled, its timestamp newer than the peer's last accepted one and not too
 * soon after it (committed when commit). Each refusal is counted. */
static enum open_result open_initiation(struct worker *w, const uint8_t msg[WG_INIT_LEN],
                                        bool commit, struct opened *o, uint8_t *status)
{
    struct enclave_secrets *s = w->sec;
    memset(o, 0, sizeof(*o));
    if (wg_noise_consume_initiation(&s->wg_id, msg, &o->in) != WG_INIT_OK) {
        worker_count_drop(w, DROP_HANDSHAKE);
        return NOT_AUTHENTIC;
    }
    if (!wg_peers_find(&s->wg_peers, o->in.peer_static, &o->peer)) {
        worker_count_drop(w, DROP_WG_PEER);
        *status = STATUS_AUTH_FAILED;
        goto refused;
    }
    const struct enclave_user *u = &s->users.users[o->peer.user_index];
    /* The generation before the flag: a reload sets the flag first, then moves the
     * generation, so keys made here around a disable carry the old one and die at once. */
    o->user_gen = __atomic_load_n(&u->gen, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&u->disabled, __ATOMIC_ACQUIRE) ||
        !__atomic_load_n(&u->name[0], __ATOMIC_ACQUIRE)) {
        worker_count_drop(w, DROP_DISABLED);
        *status = STATUS_AUTH_FAILED;
        goto refused;
    }
    if (wg_peers_accept_ts(&s->wg_peers, o->peer.index, o->in.timestamp, w->mono_ms, commit) !=
        WG_TS_OK) {
        worker_count_drop(w, DROP_WG_REPLAY);
        *status = STATUS_STALE_TIMESTAMP;
        goto refused;
    }
    return OPENED;
refused:
    opened_wipe(o);
    return REFUSED;
}

/* The user's name, read once from the shared table (a reload may rewrite it; then the accept
 * that follows finds the peer gone). Returns its length, 0 if the entry is free. */
static size_t user_name(const struct worker *w, int user_index, char name[USERNAME_MAX + 1])
{
    const char *src = w->sec->users.users[user_index].name;
    size_t n = 0;
    while (n < USERNAME_MAX && (name[n] = __atomic_load_n(&src[n], __ATOMIC_RELAXED)) != '\0')
        n++;
    name[n] = '\0';
    return n;
}

void wg_worker_hello(struct worker *w, const struct pkt_meta *m, const uint8_t *shared)
{
    uint8_t msg[WG_INIT_LEN], status;
    char name[USERNAME_MAX + 1];
    struct opened o;
    worker_copy_in(msg, shared, sizeof(msg));
    if (open_initiation(w, msg, false, &o, &status) != OPENED)
        return;
    size_t n = user_name(w, o.peer.user_index, name);
    struct pkt_slot *out = n ? worker_dec_result(w) : NULL;
    if (out) {
        /* As our RES_HELLO: the request (here the initiation, zero-padded), which the main
         * process hands back for phase 2, the device id and the user's name. */
        memcpy(out->data, msg, WG_INIT_LEN);
        memset(out->data + WG_INIT_LEN, 0, CONNECT_REQ_LEN - WG_INIT_LEN);
        memcpy(out->data + CONNECT_REQ_LEN, o.peer.device_id, DEVICE_ID_LEN);
        memcpy(out->data + HELLO_USER_OFF, name, n);
        worker_commit_dec(w, out, m, RES_HELLO, (uint16_t)(HELLO_USER_OFF + n));
        out->meta.aux = HELLO_WIREGUARD;
    }
    opened_wipe(&o);
}

/* A refusal of an accept: nothing to send (WireGuard has no refusal message), the status for
 * the main process's books. */
static void refuse(struct worker *w, const struct pkt_meta *m, uint8_t status)
{
    struct pkt_slot *out = worker_dec_result(w);
    if (!out)
        return;
    worker_commit_dec(w, out, m, RES_REPLY, 0);
    out->meta.aux = status;
}

void wg_worker_accept(struct worker *w, const struct pkt_meta *m, const uint8_t *shared)
{
    uint8_t buf[CONNECT_REQ_LEN + RESP_CONFIG_MAX], status = STATUS_AUTH_FAILED;
    struct hs_config cfg;
    struct opened o;
    worker_copy_in(buf, shared, m->len);
    /* The request block is RES_HELLO's: the initiation, then zeros up to CONNECT_REQ_LEN. The
     * config block gives the device's address and the session's MTU. */
    if (!sodium_is_zero(buf + WG_INIT_LEN, CONNECT_REQ_LEN - WG_INIT_LEN))
        worker_fatal(w, "WireGuard accept whose request block is no initiation");
    if (!hs_config_decode_from_main(buf + CONNECT_REQ_LEN, m->len - CONNECT_REQ_LEN, &cfg) ||
        cfg.mtu < MTU_MIN || cfg.mtu > MTU_MAX)
        worker_fatal(w, "WireGuard accept without a valid config block");
    switch (open_initiation(w, buf, true, &o, &status)) {
    case NOT_AUTHENTIC:
        return;
    case REFUSED:
        refuse(w, m, status);
        return;
    case OPENED:
        break;
    }
    uint32_t idx = 0;
    struct key_slot *k = m->aux == STATUS_OK ? worker_alloc_slot(w, &idx) : NULL;
    if (!k) {
        /* aux: the main process's decision, a refusal's reason in its high byte. */
        refuse(w, m, m->aux == STATUS_OK ? STATUS_SERVER_FULL : (uint8_t)(m->aux & 0xff));
        goto out;
    }
    struct pkt_slot *out = worker_dec_result(w);
    if (!out)
        goto out;
    /* Our index is the session id (made as for ours: it names the slot and its worker), so
     * the initiator's transport messages name their session themselves. */
    uint32_t sid = worker_new_session_id(idx), sender = o.in.sender;
    uint8_t e_priv[WG_KEY_LEN];
    struct wg_keypair keys;
    if (w->wg_test_ephemeral)
        memcpy(e_priv, w->wg_test_ephemeral, sizeof(e_priv));
    else
        randombytes_buf(e_priv, sizeof(e_priv));
    bool made = wg_noise_create_response(&o.in, o.peer.psk, e_priv, sid, out->data, &keys);
    sodium_memzero(e_priv, sizeof(e_priv));
    if (!made) {
        worker_count_drop(w, DROP_HANDSHAKE);
        goto out;
    }
    memset(k, 0, sizeof(*k));
    memcpy(k->k_c2s, keys.recv, WG_KEY_LEN);
    memcpy(k->k_s2c, keys.send, WG_KEY_LEN);
    sodium_memzero(&keys, sizeof(keys));
    k->format = KEY_FORMAT_WG;
    k->client_ip = cfg.client_ip;
    k->mtu = cfg.mtu;
    k->peer_index = sender;
    k->user_index = o.peer.user_index;
    k->user_gen = o.user_gen;
    k->wg_peer = o.peer.index;
    k->wg_peer_gen = o.peer.gen;
    k->created_ms = w->mono_ms;
    k->peer = m->peer;
    k->has_peer = true;
    replay_init(&k->rx);
    if (!worker_publish_slot(w, k, sid, o.peer.device_id)) {
        /* USER_DEVICES_MAX devices of this user are online. */
        worker_commit_dec(w, out, m, RES_REPLY, 0);
        out->meta.aux = STATUS_SERVER_FULL;
        goto out;
    }
    worker_commit_dec(w, out, m, RES_ACCEPTED, WG_RESP_LEN);
    out->meta.session_id = sid;
    out->meta.aux = HELLO_WIREGUARD;
out:
    opened_wipe(&o);
}

void wg_worker_decrypt(struct worker *w, const struct pkt_meta *m, const uint8_t *shared)
{
    uint8_t head[WG_DATA_HEADER_LEN];
    size_t len = m->len;
    if (len < WG_DATA_MIN_LEN) {
        worker_count_drop(w, DROP_MALFORMED);
        return;
    }
    worker_copy_in(head, shared, sizeof(head));
    if (head[0] != WG_MSG_TRANSPORT || (head[1] | head[2] | head[3])) {
        worker_count_drop(w, DROP_MALFORMED);
        return;
    }
    uint32_t receiver = wg_get_le32(head + WG_DATA_RECEIVER);
    if (receiver != m->session_id)
        worker_fatal(w, "receiver index differs from the session id");
    struct key_slot *k = worker_find_slot(w, receiver);
    if (!k)
        return;
    if (k->format != KEY_FORMAT_WG) {
        worker_count_drop(w, DROP_NO_SESSION);     /* one of our sessions' ids on its port */
        return;
    }
    uint64_t counter = wg_get_le64(head + WG_DATA_COUNTER);
    if (counter >= WG_REJECT_AFTER_MESSAGES || !replay_check(&k->rx, counter)) {
        worker_count_drop(w, DROP_REPLAY);
        return;
    }
    struct pkt_slot *out = worker_dec_result(w);
    if (!out)
        return;
    size_t sealed_len = len - WG_DATA_HEADER_LEN;
    if (!wg_transport_open(out->data, head, shared + WG_DATA_HEADER_LEN, sealed_len,
                           k->k_c2s)) {
        worker_count_drop(w, DROP_AUTH);
        return;
    }
    replay_mark(&k->rx, counter);
    k->peer = m->peer;      /* authenticated: the endpoint follows the initiator (roaming) */
    k->has_peer = true;
    counter_inc(&w->shm->ctl.packets_decrypted);
    size_t pt_len = sealed_len - WG_TAG_LEN;
    if (pt_len == 0) {
        worker_commit_dec(w, out, m, RES_KEEPALIVE, 0);
        return;
    }
    /* Allowed IPs: the device's address only; padding beyond the total length is trimmed. */
    if (!worker_inner_ok(w, k, out->data, &pt_len))
        return;
    worker_commit_dec(w, out, m, RES_DATA, (uint16_t)pt_len);
}

void wg_worker_keepalive(struct worker *w, const struct pkt_meta *m)
{
    static const uint8_t nothing[1];
    struct key_slot *k = worker_find_slot(w, m->session_id);
    if (!k)
        return;
    if (k->format != KEY_FORMAT_WG) {
        worker_count_drop(w, DROP_NO_SESSION);     /* one of our sessions: it has PING/PONG */
        return;
    }
    wg_worker_seal(w, k, m, nothing);     /* m->len is 0 */
}

void wg_worker_seal(struct worker *w, struct key_slot *k, const struct pkt_meta *m,
                    const uint8_t *pt)
{
    if (k->send_counter >= WG_REJECT_AFTER_MESSAGES)
        return;     /* never reuse a nonce; the initiator rekeys long before */
    struct pkt_slot *out = worker_enc_result(w);
    if (!out)
        return;
    size_t n = wg_transport_seal(out->data, k->peer_index, k->send_counter++, k->k_s2c, pt,
                                 m->len, k->mtu);
    out->meta.op = RES_SEALED;
    out->meta.len = (uint16_t)n;
    out->meta.aux = HELLO_WIREGUARD;    /* sent from the WireGuard socket */
    out->meta.session_id = k->session_id;
    out->meta.worker = (uint16_t)w->index;
    out->meta.peer = m->peer;
    w->enc_pending++;
    counter_inc(&w->shm->ctl.packets_encrypted);
}
