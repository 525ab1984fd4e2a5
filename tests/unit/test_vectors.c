/* Every vector of shared/spec/vectors.json, byte for byte, through the real server (enclave)
 * and client code. The vectors are copied here as constants; tests/unit/gen_vectors.py
 * regenerates them from the JSON file. Extension 1 (docs/PROTOCOL.md) has its own vectors,
 * computed independently in Python by tests/unit/gen_ext_vectors.py (vectors_ext.inc). */
#include "testutil.h"

#include "../../client/handshake_client.h"
#include "../../enclave/handshake_server.h"
#include "../../enclave/users.h"
#include "vpn/cookie.h"
#include "vpn/proto.h"
#include "vpn/replay.h"
#include "vpn/transport.h"

#include "vectors.inc"
#include "vectors_ext.inc"

static uint8_t s_priv[32], s_pub[32], token[32];
static struct user_table users;

static void setup(void)
{
    cr_assert_eq(sodium_init() >= 0, 1);
    unhex(s_priv, 32, V_SERVER_STATIC_PRIVATE);
    crypto_scalarmult_base(s_pub, s_priv);
    unhex(token, 32, V_AUTH_TOKEN_HEX);
    memset(&users, 0, sizeof(users));
    users.count = 1;
    strcpy(users.users[0].name, V_USERNAME);
    memcpy(users.users[0].token, token, 32);
}

static void vector_config(struct hs_config *c)
{
    memset(c, 0, sizeof(*c));
    c->status = 0;
    c->prefix_len = 24;
    c->mtu = 1400;
    c->session_id = 439041101;
    c->client_ip = 0x0a08000a;
    c->server_ip = 0x0a080001;
    c->keepalive_s = 25;
    c->idle_timeout_s = 3600;
    c->rekey_s = 600;
    c->route_count = 1;
    c->routes[0].net = 0xc0a86400;
    c->routes[0].prefix = 24;
}

TestSuite(vectors, .init = setup);

Test(vectors, static_public_key_and_token)
{
    uint8_t want[32], t[32];
    unhex(want, 32, V_SERVER_STATIC_PUBLIC);
    assert_bytes_eq(s_pub, want, 32);
    const char *cred = V_USERNAME ":" V_PASSWORD;
    crypto_hash_sha256(t, (const uint8_t *)cred, strlen(cred));
    assert_bytes_eq(t, token, 32);
}

Test(vectors, client_builds_connect_req)
{
    uint8_t e_priv[32], req[CONNECT_REQ_LEN], want[CONNECT_REQ_LEN], k_id[32], mac[32];
    struct hs_client st;
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    cr_assert_eq(unhex(want, sizeof(want), V_CONNECT_REQ), CONNECT_REQ_LEN);
    cr_assert(hs_client_request_v1(&st, e_priv, s_pub, V_USERNAME, token, V_CONNECT_REQ_TIMESTAMP, req));
    assert_bytes_eq(req, want, CONNECT_REQ_LEN);
    unhex(k_id, 32, V_K_ID);
    assert_bytes_eq(st.k_id, k_id, 32);
    unhex(mac, 32, V_AUTH_MAC);
    assert_bytes_eq(st.auth_mac, mac, 32);
}

Test(vectors, server_opens_and_answers)
{
    uint8_t req[CONNECT_REQ_LEN], e_s_priv[32], out[CONNECT_RESP_MAX], want[CONNECT_RESP_MAX];
    uint8_t k[32];
    struct hs_request r;
    struct hs_config c;
    struct session_keys keys;
    unhex(req, sizeof(req), V_CONNECT_REQ);
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_AUTHENTICATED);
    cr_assert_str_eq(r.username, "alice");
    cr_assert_eq(r.ts, V_CONNECT_REQ_TIMESTAMP);
    unhex(e_s_priv, 32, V_SERVER_EPHEMERAL_PRIVATE);
    vector_config(&c);
    size_t n = hs_server_accept(&r, token, e_s_priv, &c, V_CONNECT_RESP_TIMESTAMP, out, &keys);
    size_t want_len = unhex(want, sizeof(want), V_CONNECT_RESP);
    cr_assert_eq(n, want_len);
    assert_bytes_eq(out, want, n);
    unhex(k, 32, V_K_RESP);
    assert_bytes_eq(keys.k_resp, k, 32);
    unhex(k, 32, V_K_C2S);
    assert_bytes_eq(keys.k_c2s, k, 32);
    unhex(k, 32, V_K_S2C);
    assert_bytes_eq(keys.k_s2c, k, 32);
}

Test(vectors, client_opens_connect_resp)
{
    uint8_t e_priv[32], req[CONNECT_REQ_LEN], resp[CONNECT_RESP_MAX], k[32];
    struct hs_client st;
    struct hs_config c;
    struct session_keys keys;
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    cr_assert(hs_client_request_v1(&st, e_priv, s_pub, V_USERNAME, token, V_CONNECT_REQ_TIMESTAMP, req));
    size_t n = unhex(resp, sizeof(resp), V_CONNECT_RESP);
    cr_assert_eq(hs_client_response(&st, resp, n, token, &c, &keys), HSC_ACCEPTED);
    cr_assert_eq(c.session_id, 439041101u);
    cr_assert_eq(c.client_ip, 0x0a08000au);
    cr_assert_eq(c.server_ip, 0x0a080001u);
    cr_assert_eq(c.mtu, 1400);
    cr_assert_eq(c.prefix_len, 24);
    cr_assert_eq(c.keepalive_s, 25);
    cr_assert_eq(c.idle_timeout_s, 3600u);
    cr_assert_eq(c.rekey_s, 600u);
    cr_assert_eq(c.route_count, 1);
    cr_assert_eq(c.routes[0].net, 0xc0a86400u);
    cr_assert_eq(c.routes[0].prefix, 24);
    unhex(k, 32, V_K_C2S);
    assert_bytes_eq(keys.k_c2s, k, 32);
    /* One flipped bit anywhere makes the response unreadable. */
    resp[n - 1] ^= 1;
    cr_assert_eq(hs_client_response(&st, resp, n, token, &c, &keys), HSC_INVALID);
}

Test(vectors, wrong_password_is_refused_with_auth_failed)
{
    uint8_t req[CONNECT_REQ_LEN], out[CONNECT_RESP_MAX], want[CONNECT_RESP_MAX];
    struct hs_request r;
    unhex(req, sizeof(req), V_WRONG_PASSWORD_CONNECT_REQ);
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_AUTH_FAILED);
    size_t want_len = unhex(want, sizeof(want), V_WRONG_PASSWORD_CONNECT_RESP);
    size_t n = hs_server_reject_v1(&r, STATUS_AUTH_FAILED, get_be64(want + 8), out);
    cr_assert_eq(n, want_len);
    assert_bytes_eq(out, want, n);

    /* The client reads the failure with k_id (same ephemeral key as the good request). */
    struct hs_client st;
    uint8_t e_priv[32];
    struct hs_config c;
    struct session_keys keys;
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    memset(&st, 0, sizeof(st));
    cr_assert(hs_chain_identity(st.ck1, st.k_id, e_priv, s_pub, s_pub));
    memcpy(st.auth_mac, req + HDR_LEN + REQ_MAC_OFF, 32);
    cr_assert_eq(hs_client_response(&st, out, n, token, &c, &keys), HSC_REJECTED);
    cr_assert_eq(c.status, STATUS_AUTH_FAILED);
}

Test(vectors, unknown_user_and_garbage)
{
    uint8_t req[CONNECT_REQ_LEN];
    struct hs_request r;
    struct user_table none;
    memset(&none, 0, sizeof(none));
    unhex(req, sizeof(req), V_CONNECT_REQ);
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &none, &r), HS_AUTH_FAILED);
    req[HDR_LEN + 40] ^= 0x80;      /* inside sealed_identity: cannot be opened -> silent drop */
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_DROP);
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req) - 1, &users, &r), HS_DROP);
}

static void check_transport(const char *hex, const char *key_hex, uint8_t type, uint64_t counter,
                            const uint8_t *pt, size_t pt_len)
{
    uint8_t want[2048], out[2048], key[32], back[2048];
    size_t n = unhex(want, sizeof(want), hex);
    unhex(key, 32, key_hex);
    struct vpn_hdr h;
    cr_assert_eq(proto_hdr_parse(want, n, &h), HDR_OK);
    cr_assert_eq(h.type, type);
    uint32_t sid;
    uint64_t ctr;
    cr_assert(proto_transport_ids(want, &h, &sid, &ctr));
    cr_assert_eq(sid, 439041101u);
    cr_assert_eq(ctr, counter);
    size_t m = transport_seal(out, type, key, sid, counter, h.ts, pt, pt_len);
    cr_assert_eq(m, n);
    assert_bytes_eq(out, want, n);
    cr_assert(transport_open(back, want, n, key));
    assert_bytes_eq(back, pt, pt_len);
    want[n - 1] ^= 1;
    cr_assert_not(transport_open(back, want, n, key));
}

Test(vectors, transport_messages)
{
    uint8_t inner[256], ping_ts[8], reason = 0;
    size_t inner_len = unhex(inner, sizeof(inner), V_DATA_INNER_PACKET);
    check_transport(V_DATA_C2S_COUNTER7, V_K_C2S, MSG_DATA, 7, inner, inner_len);
    check_transport(V_PING_C2S_COUNTER8, V_K_C2S, MSG_PING, 8, NULL, 0);
    uint8_t ping[64];
    unhex(ping, sizeof(ping), V_PING_C2S_COUNTER8);
    memcpy(ping_ts, ping + 8, 8);   /* the PONG carries the PING's header timestamp */
    check_transport(V_PONG_S2C_COUNTER0, V_K_S2C, MSG_PONG, 0, ping_ts, 8);
    check_transport(V_DISCONNECT_C2S_COUNTER9, V_K_C2S, MSG_DISCONNECT, 9, &reason, 1);
}

Test(vectors, header_rejections)
{
    uint8_t pkt[512];
    struct vpn_hdr h;
    size_t n = unhex(pkt, sizeof(pkt), V_PING_C2S_COUNTER8);
    cr_assert_eq(proto_hdr_parse(pkt, 15, &h), HDR_SHORT);
    cr_assert_eq(proto_hdr_parse(pkt, n - 1, &h), HDR_BAD_LENGTH);
    pkt[1] = 2;
    cr_assert_eq(proto_hdr_parse(pkt, n, &h), HDR_BAD_VERSION);
    pkt[1] = 1;
    pkt[0] = 9;     /* 7 is SESSION_UNKNOWN, 8 COOKIE_REPLY (extensions 2 and 3) */
    cr_assert_eq(proto_hdr_parse(pkt, n, &h), HDR_BAD_TYPE);
    pkt[0] = MSG_PING;
    pkt[7] ^= 1;        /* sequence no longer equals the counter's low 32 bits */
    cr_assert_eq(proto_hdr_parse(pkt, n, &h), HDR_OK);
    uint32_t sid;
    uint64_t ctr;
    cr_assert_not(proto_transport_ids(pkt, &h, &sid, &ctr));
    /* A transport message shorter than 44 bytes with a consistent length field. */
    proto_hdr_write(pkt, MSG_DATA, 20, 0, 0);
    cr_assert_eq(proto_hdr_parse(pkt, 36, &h), HDR_SHORT);
    /* CONNECT_REQ must carry exactly 256 bytes. */
    proto_hdr_write(pkt, MSG_CONNECT_REQ, 100, 0, 0);
    cr_assert_eq(proto_hdr_parse(pkt, 116, &h), HDR_BAD_LENGTH);
}

/* Extension 1: the client's request and the server's failure answer, byte for byte. */
Test(vectors, ext_request_matches_the_independent_computation)
{
    uint8_t e_priv[32], req[CONNECT_REQ_LEN], want[CONNECT_REQ_LEN], key[32], mac[32];
    struct hs_client st;
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    cr_assert(hs_client_request(&st, e_priv, s_pub, V_USERNAME, token, V_CONNECT_REQ_TIMESTAMP, req));
    cr_assert_eq(unhex(want, sizeof(want), VX_CONNECT_REQ), CONNECT_REQ_LEN);
    assert_bytes_eq(req, want, CONNECT_REQ_LEN);
    hs_mac1_key(mac, s_pub);
    unhex(key, 32, VX_MAC1_KEY);
    assert_bytes_eq(mac, key, 32);
    unhex(mac, 32, VX_AUTH_MAC);
    assert_bytes_eq(st.auth_mac, mac, 32);

    struct hs_request r;
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_AUTHENTICATED);
    cr_assert(r.ext);
    cr_assert_str_eq(r.username, V_USERNAME);
}

Test(vectors, ext_failure_matches_and_is_read_only_in_its_own_form)
{
    uint8_t e_priv[32], req[CONNECT_REQ_LEN], out[CONNECT_RESP_MAX], want[CONNECT_RESP_MAX];
    uint8_t nonce[NONCE_LEN], k_id[32];
    struct hs_client st;
    struct hs_request r;
    struct hs_config c;
    struct session_keys keys;
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    cr_assert(hs_client_request(&st, e_priv, s_pub, V_USERNAME, token, V_CONNECT_REQ_TIMESTAMP, req));
    cr_assert_eq(hs_server_identify(s_priv, s_pub, req, sizeof(req), &users, &r), HS_IDENTIFIED);
    unhex(nonce, sizeof(nonce), VX_FAILURE_NONCE);
    unhex(k_id, 32, V_K_ID);
    size_t n = hs_build_failure_ext(out, VX_FAILURE_TIMESTAMP, r.k_id, r.auth_mac, nonce,
                                    STATUS_STALE_TIMESTAMP, REFUSAL_NONE);
    assert_bytes_eq(r.k_id, k_id, 32);
    cr_assert_eq(n, unhex(want, sizeof(want), VX_STALE_FAILURE));
    assert_bytes_eq(out, want, n);
    cr_assert_eq(hs_client_response(&st, out, n, token, &c, &keys), HSC_REJECTED);
    cr_assert_eq(c.status, STATUS_STALE_TIMESTAMP);
    cr_assert_eq(c.refusal, REFUSAL_NONE);

    /* Extension 6: an AUTH_FAILED that says why, byte for byte, and read by the client. */
    n = hs_build_failure_ext(out, VX_FAILURE_TIMESTAMP, r.k_id, r.auth_mac, nonce,
                             STATUS_AUTH_FAILED, REFUSAL_QUOTA);
    cr_assert_eq(n, unhex(want, sizeof(want), VX_QUOTA_FAILURE));
    assert_bytes_eq(out, want, n);
    cr_assert_eq(hs_client_response(&st, out, n, token, &c, &keys), HSC_REJECTED);
    cr_assert_eq(c.status, STATUS_AUTH_FAILED);
    cr_assert_eq(c.refusal, REFUSAL_QUOTA);

    /* The server's random nonces differ for two failures of one request. */
    uint8_t a[CONNECT_RESP_MAX], b[CONNECT_RESP_MAX];
    cr_assert_eq(hs_server_reject(&r, STATUS_AUTH_FAILED, 0, 1, a), CONNECT_FAIL_EXT_LEN);
    cr_assert_eq(hs_server_reject(&r, STATUS_AUTH_FAILED, 0, 1, b), CONNECT_FAIL_EXT_LEN);
    cr_assert_neq(memcmp(a + HDR_LEN + KEY_LEN, b + HDR_LEN + KEY_LEN, NONCE_LEN), 0);

    /* No downgrade: the base form (nonce 0...01) is not accepted for an extended request. */
    n = hs_server_reject_v1(&r, STATUS_AUTH_FAILED, 1, out);
    cr_assert_eq(hs_client_response(&st, out, n, token, &c, &keys), HSC_INVALID);
    /* A failure to a request without the extension is not answered at all. */
    r.ext = false;
    cr_assert_eq(hs_server_reject(&r, STATUS_AUTH_FAILED, 0, 1, out), 0);
}

/* The binding vectors' request with extension flags `flags` (the client code), which must be
 * want_hex byte for byte and open at the server with those flags; st and r are its two ends. */
static void flagged_request(uint8_t flags, const char *want_hex, struct hs_client *st,
                            struct hs_request *r)
{
    uint8_t e_priv[32], req[CONNECT_REQ_LEN], want[CONNECT_REQ_LEN];
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    cr_assert(hs_client_request_flags(st, e_priv, s_pub, V_USERNAME, token,
                                      V_CONNECT_REQ_TIMESTAMP, flags, req));
    cr_assert_eq(unhex(want, sizeof(want), want_hex), CONNECT_REQ_LEN);
    assert_bytes_eq(req, want, CONNECT_REQ_LEN);
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, r), HS_AUTHENTICATED);
    cr_assert_eq(r->flags, flags);
}

/* Extension 1's WINDOW flag: the request that asks, and the success response that tells the
 * server's replay window at offset 28, byte for byte; a client that did not ask refuses it. */
Test(vectors, window_flag_request_and_response_match)
{
    uint8_t se_priv[32], out[CONNECT_RESP_MAX], want_resp[CONNECT_RESP_MAX];
    struct hs_client st;
    struct hs_request r;
    struct hs_config cfg, got;
    struct session_keys server_keys, keys;
    unhex(se_priv, 32, V_SERVER_EPHEMERAL_PRIVATE);
    flagged_request(REQ_FLAG_WINDOW, VX_CONNECT_REQ_WINDOW, &st, &r);

    vector_config(&cfg);
    cfg.replay_window_ms = VX_WINDOW_MS;
    size_t n = hs_server_accept(&r, token, se_priv, &cfg, V_CONNECT_RESP_TIMESTAMP, out,
                                &server_keys);
    cr_assert_eq(n, unhex(want_resp, sizeof(want_resp), VX_CONNECT_RESP_WINDOW));
    assert_bytes_eq(out, want_resp, n);
    cr_assert_eq(hs_client_response(&st, out, n, token, &got, &keys), HSC_ACCEPTED);
    cr_assert_eq(got.replay_window_ms, VX_WINDOW_MS);
    assert_bytes_eq(keys.k_c2s, server_keys.k_c2s, KEY_LEN);

    /* The same bytes to a request state that did not ask: refused (an older client reads
     * offset 28 as a reserved field that must be zero). */
    st.flags = 0;
    cr_assert_eq(hs_client_response(&st, out, n, token, &got, &keys), HSC_INVALID);
}

/* The config block's offset 28 under each request flag (vpn/handshake.h). */
Test(vectors, window_field_is_read_only_when_asked_and_in_range)
{
    static const struct { uint32_t window; uint8_t flags; bool ok; } cases[] = {
        { 0, 0, true },
        { 0, REQ_FLAG_WINDOW, true },           /* a server may leave it zero: the default */
        { 5000, 0, false },                     /* not asked */
        { 5000, REQ_FLAG_WINDOW, true },
        { REPLAY_WINDOW_MS_MIN, REQ_FLAG_WINDOW, true },
        { REPLAY_WINDOW_MS_MAX, REQ_FLAG_WINDOW, true },
        { REPLAY_WINDOW_MS_MIN - 1, REQ_FLAG_WINDOW, false },
        { REPLAY_WINDOW_MS_MAX + 1, REQ_FLAG_WINDOW, false },
        { 0xffffffff, REQ_FLAG_WINDOW, false },
    };
    struct hs_config c, got;
    uint8_t block[RESP_CONFIG_MAX];
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vector_config(&c);
        c.replay_window_ms = cases[i].window;
        size_t n = hs_config_encode(block, &c);
        cr_expect_eq(get_be32(block + RESP_CONFIG_WINDOW_OFF), cases[i].window);
        bool ok = hs_config_decode_flags(block, n, cases[i].flags, &got);
        cr_expect_eq(ok, cases[i].ok, "window %u, flags %u", cases[i].window, cases[i].flags);
        if (ok)
            cr_expect_eq(got.replay_window_ms, cases[i].window);
        cr_expect_eq(hs_config_decode(block, n, &got), cases[i].window == 0,
                     "hs_config_decode takes no window (%u)", cases[i].window);
    }
    vector_config(&c);
    size_t n = hs_config_encode(block, &c);
    block[19] = 1;
    cr_expect_not(hs_config_decode_flags(block, n, REQ_FLAG_WINDOW, &got),
                  "offset 19 stays reserved");
}

/* Extension 4: the request with the WINDOW and DNS flags, and the success response whose
 * config carries the DNS block after the routes, byte for byte (gen_ext_vectors.py); a client
 * that did not ask for DNS refuses it, as an old client would. */
Test(vectors, dns_flag_request_and_response_match)
{
    uint8_t se_priv[32], out[CONNECT_RESP_MAX], want_resp[CONNECT_RESP_MAX];
    struct hs_client st;
    struct hs_request r;
    struct hs_config cfg, got;
    struct session_keys server_keys, keys;
    unhex(se_priv, 32, V_SERVER_EPHEMERAL_PRIVATE);
    flagged_request(REQ_FLAG_WINDOW | REQ_FLAG_DNS, VX_CONNECT_REQ_DNS, &st, &r);

    vector_config(&cfg);
    cfg.replay_window_ms = VX_WINDOW_MS;
    cfg.dns_block = true;
    cfg.dns_count = 2;
    cfg.dns[0] = 0x0a080001;
    cfg.dns[1] = 0x09090909;
    strcpy(cfg.dns_search, VX_DNS_SEARCH);
    size_t n = hs_server_accept(&r, token, se_priv, &cfg, V_CONNECT_RESP_TIMESTAMP, out,
                                &server_keys);
    cr_assert_eq(n, unhex(want_resp, sizeof(want_resp), VX_CONNECT_RESP_DNS));
    assert_bytes_eq(out, want_resp, n);
    cr_assert_lt(n, CONNECT_REQ_LEN, "never larger than the request");
    cr_assert_eq(hs_client_response(&st, out, n, token, &got, &keys), HSC_ACCEPTED);
    cr_expect(got.dns_block);
    cr_expect_eq(got.dns_count, 2);
    cr_expect_eq(got.dns[0], 0x0a080001);
    cr_expect_eq(got.dns[1], 0x09090909);
    cr_expect_str_eq(got.dns_search, VX_DNS_SEARCH);
    cr_expect_eq(got.replay_window_ms, VX_WINDOW_MS);
    cr_expect_eq(got.route_count, cfg.route_count);

    st.flags = REQ_FLAG_WINDOW;
    cr_assert_eq(hs_client_response(&st, out, n, token, &got, &keys), HSC_INVALID,
                 "not asked: the longer config is refused");
}

/* The DNS block's decoding (vpn/handshake.h): present exactly when asked, every length
 * consistent, at most 3 resolvers, a search list as vpn/dns.h says. */
Test(vectors, dns_block_is_read_only_when_asked_and_well_formed)
{
    struct hs_config c, got;
    uint8_t block[RESP_CONFIG_MAX + 8];
    vector_config(&c);
    size_t base = hs_config_encode(block, &c);
    cr_expect(hs_config_decode_flags(block, base, 0, &got));
    cr_expect_not(hs_config_decode_flags(block, base, REQ_FLAG_DNS, &got), "asked, none there");

    c.dns_block = true;
    size_t n = hs_config_encode(block, &c);
    cr_expect_eq(n, base + RESP_DNS_BLOCK_MIN, "an empty block: count 0, search length 0");
    cr_expect(hs_config_decode_flags(block, n, REQ_FLAG_DNS, &got));
    cr_expect(got.dns_block);
    cr_expect_not(hs_config_decode_flags(block, n, 0, &got), "there, not asked");
    cr_expect_not(hs_config_decode(block, n, &got));

    c.dns_count = DNS_SERVERS_MAX;
    c.dns[0] = 1, c.dns[1] = 2, c.dns[2] = 3;
    memset(c.dns_search, 'a', DNS_SEARCH_MAX);
    c.dns_search[DNS_SEARCH_MAX] = '\0';
    n = hs_config_encode(block, &c);
    cr_expect_eq(n, base + RESP_DNS_BLOCK_MAX);
    cr_expect_not(hs_config_decode_flags(block, n, REQ_FLAG_DNS, &got),
                  "a 64-character label is no name");
    memset(c.dns_search, 'a', DNS_SEARCH_MAX);
    for (int i = 10; i < DNS_SEARCH_MAX; i += 11)
        c.dns_search[i] = '.';
    n = hs_config_encode(block, &c);
    cr_expect(hs_config_decode_flags(block, n, REQ_FLAG_DNS, &got), "the largest block");
    cr_expect_str_eq(got.dns_search, c.dns_search);
    cr_expect_eq(got.dns[2], 3);
    cr_expect_not(hs_config_decode_flags(block, n - 1, REQ_FLAG_DNS, &got), "cut short");
    block[n] = 0;
    cr_expect_not(hs_config_decode_flags(block, n + 1, REQ_FLAG_DNS, &got), "a byte after it");
    block[base] = DNS_SERVERS_MAX + 1;
    cr_expect_not(hs_config_decode_flags(block, n, REQ_FLAG_DNS, &got), "4 resolvers");

    static const char *const bad[] = { "home.lan\nnameserver 6.6.6.6", "-option", "a..b",
                                       ".lan", "lan.", "a  b", " a", "a;b", "a#b" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vector_config(&c);
        c.dns_block = true;
        snprintf(c.dns_search, sizeof(c.dns_search), "%s", bad[i]);
        n = hs_config_encode(block, &c);
        cr_expect_not(hs_config_decode_flags(block, n, REQ_FLAG_DNS, &got), "search \"%s\"",
                      bad[i]);
    }
}

/* M1: a flipped padding byte (extended or not) is dropped, never answered with AUTH_FAILED. */
Test(vectors, tampered_padding_is_dropped)
{
    uint8_t e_priv[32], req[CONNECT_REQ_LEN], bad[CONNECT_REQ_LEN];
    struct hs_client st;
    struct hs_request r;
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    uint8_t dev[DEVICE_ID_LEN];
    unhex(dev, sizeof(dev), VX_DEVICE_ID);
    /* ext 0: base v1; 1: extension 1; 2: with extension 5's sealed device id in the tail. */
    for (int ext = 0; ext < 3; ext++) {
        if (ext == 2)
            cr_assert(hs_client_request_device(&st, e_priv, s_pub, V_USERNAME, token, 1,
                                               REQ_FLAG_DEVICE, dev, req));
        else if (ext)
            cr_assert(hs_client_request(&st, e_priv, s_pub, V_USERNAME, token, 1, req));
        else
            cr_assert(hs_client_request_v1(&st, e_priv, s_pub, V_USERNAME, token, 1, req));
        for (int off = REQ_PAD_OFF; off < REQ_MAC_OFF; off++) {
            memcpy(bad, req, sizeof(bad));
            bad[HDR_LEN + off] ^= 0x01;
            /* mac2 (extension 3) is outside auth_mac: changing it changes nothing here. */
            bool mac2 = ext && off >= REQ_MAC2_OFF && off < REQ_MAC2_OFF + REQ_MACX_LEN;
            cr_assert_eq(hs_server_open(s_priv, s_pub, bad, sizeof(bad), &users, &r),
                         mac2 ? HS_AUTHENTICATED : HS_DROP,
                         "ext %d, flipped padding byte %d", ext, off);
        }
        /* A recomputed mac1 does not help: the extension header is bound to the identity. */
        if (ext) {
            uint8_t key[32];
            memcpy(bad, req, sizeof(bad));
            bad[HDR_LEN + REQ_EXT_OFF + 1] = 0x80;
            hs_mac1_key(key, s_pub);
            hs_mac1(bad + HDR_LEN + REQ_MAC1_OFF, key, bad);
            cr_assert_eq(hs_server_open(s_priv, s_pub, bad, sizeof(bad), &users, &r), HS_DROP);
        }
    }
}

/* Extension 5: the request with the WINDOW and DEVICE flags, byte for byte as computed in
 * Python; the enclave reads the device id back; the flag needs a device id and vice versa. */
Test(vectors, device_request_matches_and_opens)
{
    uint8_t e_priv[32], req[CONNECT_REQ_LEN], want[CONNECT_REQ_LEN], dev[DEVICE_ID_LEN];
    uint8_t zero[DEVICE_ID_LEN] = { 0 };
    struct hs_client st;
    struct hs_request r;
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    unhex(dev, sizeof(dev), VX_DEVICE_ID);
    cr_assert(hs_client_request_device(&st, e_priv, s_pub, V_USERNAME, token,
                                       V_CONNECT_REQ_TIMESTAMP,
                                       REQ_FLAG_WINDOW | REQ_FLAG_DEVICE, dev, req));
    cr_assert_eq(unhex(want, sizeof(want), VX_CONNECT_REQ_DEVICE), CONNECT_REQ_LEN);
    assert_bytes_eq(req, want, CONNECT_REQ_LEN);
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_AUTHENTICATED);
    cr_assert(r.has_device);
    assert_bytes_eq(r.device_id, dev, DEVICE_ID_LEN);
    cr_assert_eq(r.flags, REQ_FLAG_WINDOW | REQ_FLAG_DEVICE);

    /* Without the flag: no device (the user's implicit one). */
    cr_assert(hs_client_request_flags(&st, e_priv, s_pub, V_USERNAME, token, 1, REQ_FLAG_WINDOW,
                                      req));
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_AUTHENTICATED);
    cr_assert_not(r.has_device);
    assert_bytes_eq(r.device_id, zero, DEVICE_ID_LEN);

    /* The client refuses the flag without an id, an id without the flag, and a zero id. */
    cr_assert_not(hs_client_request_flags(&st, e_priv, s_pub, V_USERNAME, token, 1,
                                          REQ_FLAG_DEVICE, req));
    cr_assert_not(hs_client_request_device(&st, e_priv, s_pub, V_USERNAME, token, 1, 0, dev,
                                           req));
    cr_assert_not(hs_client_request_device(&st, e_priv, s_pub, V_USERNAME, token, 1,
                                           REQ_FLAG_DEVICE, zero, req));

    /* A flag with a zero tail (as a server-side forger without k_id would send), or a sealed
     * zero id, is dropped: never a genuine AUTH_FAILED, never the implicit device. */
    uint8_t bad[CONNECT_REQ_LEN], key[32];
    cr_assert(hs_client_request_flags(&st, e_priv, s_pub, V_USERNAME, token, 1, REQ_FLAG_WINDOW,
                                      bad));
    bad[HDR_LEN + REQ_EXT_FLAGS_OFF] |= REQ_FLAG_DEVICE;
    hs_mac1_key(key, s_pub);
    hs_mac1(bad + HDR_LEN + REQ_MAC1_OFF, key, bad);
    cr_assert_eq(hs_server_open(s_priv, s_pub, bad, sizeof(bad), &users, &r), HS_DROP);
    cr_assert(hs_client_request_device(&st, e_priv, s_pub, V_USERNAME, token, 1,
                                       REQ_FLAG_DEVICE, dev, bad));
    hs_device_seal(bad, st.k_id, zero);
    hs_auth_mac(bad + HDR_LEN + REQ_MAC_OFF, st.ck1, token, bad);
    cr_assert_eq(hs_server_open(s_priv, s_pub, bad, sizeof(bad), &users, &r), HS_DROP);
    /* A byte after the sealed id (the rest of the tail stays zero). */
    cr_assert(hs_client_request_device(&st, e_priv, s_pub, V_USERNAME, token, 1,
                                       REQ_FLAG_DEVICE, dev, bad));
    bad[HDR_LEN + REQ_DEVICE_END] = 1;
    hs_auth_mac(bad + HDR_LEN + REQ_MAC_OFF, st.ck1, token, bad);
    cr_assert_eq(hs_server_open(s_priv, s_pub, bad, sizeof(bad), &users, &r), HS_DROP);
}

/* Extension 2: the SESSION_UNKNOWN hint, byte for byte, and its strict length. */
Test(vectors, session_unknown_hint)
{
    uint8_t want[64], out[64];
    struct vpn_hdr h;
    size_t n = unhex(want, sizeof(want), VX_SESSION_UNKNOWN);
    cr_assert_eq(proto_session_unknown(out, 439041101u, 7, VX_FAILURE_TIMESTAMP), n);
    assert_bytes_eq(out, want, n);
    cr_assert_eq(proto_hdr_parse(want, n, &h), HDR_OK);
    cr_assert_eq(h.type, MSG_SESSION_UNKNOWN);
    cr_assert_lt(n, TRANSPORT_OVERHEAD, "smaller than any message that can cause it");
    put_be16(want + 2, 13);
    cr_assert_eq(proto_hdr_parse(want, n + 1, &h), HDR_BAD_LENGTH);
}

/* Extension 3: the cookie of a source, the COOKIE_REPLY (XChaCha20-Poly1305, computed in
 * Python from HChaCha20 up) and mac2, byte for byte; the reply opens only for its request. */
Test(vectors, cookie_reply_and_mac2)
{
    uint8_t secret[32], cookie[COOKIE_LEN], want_cookie[COOKIE_LEN], nonce[COOKIE_NONCE_LEN];
    uint8_t key[32], reply[COOKIE_REPLY_LEN], want[COOKIE_REPLY_LEN], req[CONNECT_REQ_LEN];
    uint8_t want_req[CONNECT_REQ_LEN], got[COOKIE_LEN];
    uint8_t addr[16] = { [10] = 0xff, [11] = 0xff, [12] = 172, [13] = 31, [14] = 0, [15] = 11 };
    unhex(secret, sizeof(secret), VX_COOKIE_SECRET);
    cookie_make(cookie, secret, addr, 40000);
    unhex(want_cookie, sizeof(want_cookie), VX_COOKIE);
    assert_bytes_eq(cookie, want_cookie, COOKIE_LEN);

    unhex(req, sizeof(req), VX_CONNECT_REQ);
    unhex(nonce, sizeof(nonce), VX_COOKIE_NONCE);
    cookie_key(key, s_pub);
    cr_assert_eq(cookie_reply_build(reply, VX_FAILURE_TIMESTAMP, key, req + HDR_LEN + REQ_MAC1_OFF,
                                    cookie, nonce), COOKIE_REPLY_LEN);
    cr_assert_eq(unhex(want, sizeof(want), VX_COOKIE_REPLY), COOKIE_REPLY_LEN);
    assert_bytes_eq(reply, want, COOKIE_REPLY_LEN);
    cr_assert(cookie_reply_open(reply, sizeof(reply), key, req + HDR_LEN + REQ_MAC1_OFF, got));
    assert_bytes_eq(got, cookie, COOKIE_LEN);
    uint8_t other_mac1[REQ_MACX_LEN] = { 1 };
    cr_assert_not(cookie_reply_open(reply, sizeof(reply), key, other_mac1, got),
                  "bound to the request's mac1");
    struct vpn_hdr h;
    cr_assert_eq(proto_hdr_parse(reply, sizeof(reply), &h), HDR_OK);
    cr_assert_lt(sizeof(reply), CONNECT_REQ_LEN, "never larger than the request it answers");

    cookie_mac2(req + HDR_LEN + REQ_MAC2_OFF, cookie, req);
    unhex(want_req, sizeof(want_req), VX_CONNECT_REQ_MAC2);
    assert_bytes_eq(req, want_req, CONNECT_REQ_LEN);
    /* The enclave's answer does not depend on mac2. */
    struct hs_request r;
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_AUTHENTICATED);
}
