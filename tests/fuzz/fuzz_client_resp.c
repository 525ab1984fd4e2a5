/* Fuzzes the client's handling of CONNECT_RESP (client/handshake_client.c,
 * hs_client_response) behind the AEAD as well as in front of it: two pending requests, one
 * with extension 1 (hs_client_request, what vpn-client sends) and one base v1
 * (hs_client_request_v1, the binding vectors' request), and responses that are either raw
 * bytes or sealed here with the right key in each of the three forms, around a config block
 * that is any bytes of any length.
 *
 * Input: byte 0 selects the pending request (bit 0: v1) and the form (byte 0 >> 1 % 4):
 *   0 the rest as the datagram;
 *   1 success: header (timestamp, length field as built or from the input) | E_s_pub | the
 *     rest sealed with k_resp (ad = header || E_s_pub || auth_mac), or, bit 7 of byte 1, a
 *     config encoded from fields of the input;
 *   2 extension 1's failure: header | 32 zero bytes | nonce from the input | config sealed
 *     with k_id under that nonce;
 *   3 the base failure form: header | 32 zero bytes | config sealed with k_id, nonce 0...01.
 * Properties: an accepted response was sealed by the server for this request, has status 0,
 * a non-zero session id and exactly the config that was sealed (whatever MTU it pushes: the
 * client clamps it afterwards, push_policy.h, and fuzz_client_rx checks the slots hold it),
 * and gives the server's keys;
 * a rejection carries a non-zero status and comes only in the form that matches the request
 * (no downgrade from extension 1 to the base form, none the other way); the output keys are
 * left untouched or zero unless accepted; the same datagram gets the same verdict twice. */
#include "fuzz_util.h"

#include "../../client/handshake_client.h"
#include "../../client/push_policy.h"
#include "../../enclave/handshake_server.h"
#include "../../enclave/users.h"
#include "vpn/handshake.h"
#include "vpn/proto.h"

static struct hs_client st[2];           /* [0] extension 1, [1] base v1 */
static struct hs_request srv[2];         /* the server's view of each request */
static struct session_keys srv_keys[2];
static uint8_t token[TOKEN_LEN], e_s_pub[KEY_LEN];

static void setup(void)
{
    static struct user_table users;
    uint8_t s_priv[KEY_LEN], s_pub[KEY_LEN], e_priv[KEY_LEN], e_s_priv[KEY_LEN];
    uint8_t req[CONNECT_REQ_LEN];
    if (sodium_init() < 0)
        abort();
    fuzz_unhex(s_priv, KEY_LEN, V_SERVER_STATIC_PRIVATE);
    fuzz_unhex(s_pub, KEY_LEN, V_SERVER_STATIC_PUBLIC);
    fuzz_unhex(e_priv, KEY_LEN, V_CLIENT_EPHEMERAL_PRIVATE);
    fuzz_unhex(e_s_priv, KEY_LEN, V_SERVER_EPHEMERAL_PRIVATE);
    fuzz_unhex(token, TOKEN_LEN, V_AUTH_TOKEN_HEX);
    crypto_scalarmult_base(e_s_pub, e_s_priv);
    users.count = 1;
    strcpy(users.users[0].name, V_USERNAME);
    memcpy(users.users[0].token, token, TOKEN_LEN);
    for (int i = 0; i < 2; i++) {
        bool ok = i == 0 ? hs_client_request(&st[i], e_priv, s_pub, V_USERNAME, token,
                                             V_CONNECT_REQ_TIMESTAMP, req)
                         : hs_client_request_v1(&st[i], e_priv, s_pub, V_USERNAME, token,
                                                V_CONNECT_REQ_TIMESTAMP, req);
        if (!ok || hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &srv[i]) !=
                       HS_AUTHENTICATED ||
            !hs_session_keys(&srv_keys[i], srv[i].ck1, e_s_priv, srv[i].e_c_pub, token))
            abort();
    }
}

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

/* Seals plain (len bytes) after the first `head` bytes of out, which hold the header and what
 * follows it, with ad = out[0 .. head) || auth_mac. */
static size_t seal(uint8_t *out, size_t head, const uint8_t *plain, size_t len,
                   const uint8_t nonce[NONCE_LEN], const uint8_t key[KEY_LEN],
                   const uint8_t auth_mac[32])
{
    uint8_t ad[HDR_LEN + KEY_LEN + NONCE_LEN + 32];
    memcpy(ad, out, head);
    memcpy(ad + head, auth_mac, 32);
    crypto_aead_chacha20poly1305_ietf_encrypt(out + head, NULL, plain, len, ad, head + 32,
                                              NULL, nonce, key);
    return head + len + TAG_LEN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    static uint8_t dg[1024];
    if (!ready) {
        setup();
        ready = true;
    }
    if (size < 2)
        return 0;
    int which = data[0] & 1;
    int form = (data[0] >> 1) % 4;
    uint8_t opts = data[1];
    struct cur c = { data + 2, size - 2 };
    uint8_t plain[RESP_CONFIG_MAX + 32];
    size_t plain_len = 0, len;
    const struct hs_request *r = &srv[which];

    if (form == 0) {
        len = c.n > sizeof(dg) ? sizeof(dg) : c.n;
        memcpy(dg, c.p, len);
    } else {
        uint64_t ts = V_CONNECT_REQ_TIMESTAMP;
        for (int i = 0; i < 2; i++)
            ts += (uint64_t)take(&c) << (8 * i);
        if (form == 1 && (opts & 0x80)) {
            struct hs_config cfg = { 0 };
            cfg.status = opts & 0x40 ? take(&c) : STATUS_OK;
            cfg.prefix_len = take(&c);
            cfg.mtu = (uint16_t)(take(&c) << 8 | take(&c));
            for (int i = 0; i < 4; i++)
                cfg.session_id = cfg.session_id << 8 | take(&c);
            cfg.client_ip = 0x0a080000u | take(&c);
            cfg.server_ip = 0x0a080001u;
            cfg.keepalive_s = take(&c);
            cfg.route_count = take(&c) % (MAX_ROUTES + 1);
            for (int i = 0; i < cfg.route_count; i++) {
                cfg.routes[i].net = (uint32_t)take(&c) << 24 | (uint32_t)take(&c) << 16;
                cfg.routes[i].prefix = take(&c) % 33;
            }
            cfg.rekey_s = take(&c);
            cfg.idle_timeout_s = take(&c);
            plain_len = hs_config_encode(plain, &cfg);
        } else {
            plain_len = take(&c) % sizeof(plain);
            for (size_t i = 0; i < plain_len; i++)
                plain[i] = take(&c);
        }
        size_t head = HDR_LEN + KEY_LEN + (form == 2 ? NONCE_LEN : 0);
        size_t total = head + plain_len + TAG_LEN;
        uint16_t length = (uint16_t)(total - HDR_LEN);
        if (opts & 1)
            length = (uint16_t)(length + (int8_t)take(&c));     /* a lying length field */
        proto_hdr_write(dg, MSG_CONNECT_RESP, length, 0, ts);
        if (opts & 2)
            dg[4 + take(&c) % 4] = take(&c);                   /* a non-zero sequence */
        uint8_t nonce[NONCE_LEN] = { 0 };
        if (form == 1) {
            memcpy(dg + HDR_LEN, e_s_pub, KEY_LEN);
            len = seal(dg, head, plain, plain_len, nonce, srv_keys[which].k_resp, r->auth_mac);
        } else {
            memset(dg + HDR_LEN, 0, KEY_LEN);
            if (form == 2) {
                for (int i = 0; i < NONCE_LEN; i++)
                    nonce[i] = take(&c);
                memcpy(dg + HDR_LEN + KEY_LEN, nonce, NONCE_LEN);
            } else {
                nonce[NONCE_LEN - 1] = 1;
            }
            len = seal(dg, head, plain, plain_len, nonce, r->k_id, r->auth_mac);
        }
        if (opts & 4 && len > 0)
            dg[take(&c) % len] ^= (uint8_t)(1 << (take(&c) % 8));  /* one bit flipped */
        if (opts & 8)
            len = len > 0 ? len - 1 - take(&c) % len : 0;         /* cut short */
    }

    /* The datagram in a heap block of its exact length, so that ASan sees any overread. */
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, dg, len);
    struct hs_config cfg;
    struct session_keys keys;
    memset(&keys, 0xaa, sizeof(keys));
    enum hs_client_verdict v = hs_client_response(&st[which], buf, len, token, &cfg, &keys);
    FUZZ_ASSERT(v == HSC_INVALID || v == HSC_REJECTED || v == HSC_ACCEPTED);

    if (v == HSC_ACCEPTED) {
        FUZZ_ASSERT(cfg.status == STATUS_OK && cfg.session_id != 0);
        /* The client's TUN thread has MTU_MAX-byte slots: what it configures is clamped. */
        FUZZ_ASSERT(push_clamp_mtu(cfg.mtu) >= MTU_MIN && push_clamp_mtu(cfg.mtu) <= MTU_MAX);
        FUZZ_ASSERT(cfg.route_count <= MAX_ROUTES);
        FUZZ_ASSERT(memcmp(&keys, &srv_keys[which], sizeof(keys)) == 0);
        if (form != 0) {
            /* Exactly what the server sealed, nothing else. */
            uint8_t again[RESP_CONFIG_MAX];
            FUZZ_ASSERT(form == 1);
            FUZZ_ASSERT(hs_config_encode(again, &cfg) == plain_len &&
                        memcmp(again, plain, plain_len) == 0);
        }
    } else {
        static uint8_t fill[sizeof(keys)], zero[sizeof(keys)];
        if (!fill[0])
            memset(fill, 0xaa, sizeof(fill));
        FUZZ_ASSERT(memcmp(&keys, fill, sizeof(keys)) == 0 ||
                    memcmp(&keys, zero, sizeof(keys)) == 0);
    }
    if (v == HSC_REJECTED) {
        FUZZ_ASSERT(cfg.status != STATUS_OK);
        if (form != 0) {
            /* No downgrade: the failure form must match the request's. */
            FUZZ_ASSERT(which == 0 ? form == 2 && len == CONNECT_FAIL_EXT_LEN : form == 3);
        }
    }
    struct hs_config cfg2;
    struct session_keys keys2;
    FUZZ_ASSERT(hs_client_response(&st[which], buf, len, token, &cfg2, &keys2) == v);
    free(buf);
    return 0;
}
