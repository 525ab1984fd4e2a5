/* The CONNECT_REQ front door (core/server/handshake_guard.c): mac1 before anything, load from
 * the request rate or a busy ring, cookies demanded under load and accepted from the right
 * source only, base v1 requests dropped under load, and the answer never larger than the
 * request. */
#include "testaddr.h"

#include "../../client/handshake_client.h"
#include "../../core/server/handshake_guard.h"
#include "vpn/cookie.h"
#include "vpn/proto.h"

static struct handshake_guard g;
static uint8_t s_pub[32], token[32];

static void setup(void)
{
    uint8_t s_priv[32];
    cr_assert(sodium_init() >= 0);
    randombytes_buf(s_priv, sizeof(s_priv));
    crypto_scalarmult_base(s_pub, s_priv);
    randombytes_buf(token, sizeof(token));
    handshake_guard_init(&g, s_pub, 1000);
}

TestSuite(handshake_guard, .init = setup);

static void request(uint8_t *req, bool v1)
{
    struct hs_client st;
    uint8_t e[32];
    randombytes_buf(e, sizeof(e));
    if (v1)
        cr_assert(hs_client_request_v1(&st, e, s_pub, "alice", token, 1, req));
    else
        cr_assert(hs_client_request(&st, e, s_pub, "alice", token, 1, req));
}

static enum guard_verdict check(const uint8_t *req, const struct sockaddr_in6 *from, bool busy,
                                uint64_t now, uint8_t *reply, size_t *len)
{
    return handshake_guard_check(&g, req, from, busy, now, 1734220800000ULL, reply, len);
}

Test(handshake_guard, quiet_server_passes_both_forms)
{
    uint8_t req[CONNECT_REQ_LEN], reply[COOKIE_REPLY_LEN];
    size_t len = 0;
    struct sockaddr_in6 a = test_endpoint("172.31.0.11", 40000);
    request(req, false);
    cr_assert_eq(check(req, &a, false, 2000, reply, &len), GUARD_PASS);
    request(req, true);
    cr_assert_eq(check(req, &a, false, 2000, reply, &len), GUARD_PASS, "v1 served when quiet");
    cr_assert_not(handshake_guard_loaded(&g, 2000));
}

Test(handshake_guard, wrong_mac1_is_dropped_before_anything)
{
    uint8_t req[CONNECT_REQ_LEN], reply[COOKIE_REPLY_LEN];
    size_t len = 0;
    struct sockaddr_in6 a = test_endpoint("172.31.0.11", 40000);
    request(req, false);
    req[HDR_LEN + REQ_MAC1_OFF] ^= 1;
    cr_assert_eq(check(req, &a, false, 2000, reply, &len), GUARD_BAD_MAC1);
}

Test(handshake_guard, under_load_a_cookie_from_the_same_source_is_required)
{
    uint8_t req[CONNECT_REQ_LEN], reply[COOKIE_REPLY_LEN], cookie[COOKIE_LEN], key[32];
    size_t len = 0;
    struct sockaddr_in6 a = test_endpoint("172.31.0.11", 40000);
    struct sockaddr_in6 b = test_endpoint("172.31.0.12", 40000);
    request(req, false);
    /* A busy handshake ring means load. */
    cr_assert_eq(check(req, &a, true, 2000, reply, &len), GUARD_COOKIE);
    cr_assert(handshake_guard_loaded(&g, 2000));
    cr_assert_eq(len, COOKIE_REPLY_LEN);
    cr_assert_lt(len, CONNECT_REQ_LEN);
    cookie_key(key, s_pub);
    cr_assert(cookie_reply_open(reply, len, key, req + HDR_LEN + REQ_MAC1_OFF, cookie));
    /* The request again with mac2: passes from a, not from b (another address). */
    request(req, false);
    cookie_mac2(req + HDR_LEN + REQ_MAC2_OFF, cookie, req);
    cr_assert_eq(check(req, &a, false, 2100, reply, &len), GUARD_PASS_PROVEN);
    cr_assert_eq(check(req, &b, false, 2100, reply, &len), GUARD_COOKIE);
    /* Base v1 requests cannot carry mac2: dropped while loaded. */
    uint8_t v1[CONNECT_REQ_LEN];
    request(v1, true);
    cr_assert_eq(check(v1, &a, false, 2200, reply, &len), GUARD_LEGACY_LOADED);
    /* Load ends GUARD_LOAD_HOLD_MS after it was last seen. */
    cr_assert_eq(check(v1, &a, false, 2000 + GUARD_LOAD_HOLD_MS + 1, reply, &len), GUARD_PASS);
}

Test(handshake_guard, the_request_rate_alone_means_load)
{
    uint8_t req[CONNECT_REQ_LEN], reply[COOKIE_REPLY_LEN];
    size_t len = 0;
    request(req, false);
    int cookies = 0;
    char ip[32];
    for (int i = 0; i < 2 * GUARD_LOAD_RATE; i++) {
        snprintf(ip, sizeof(ip), "10.99.%d.%d", i / 250, i % 250 + 1);
        struct sockaddr_in6 a = test_endpoint(ip, 1234);
        cookies += check(req, &a, false, 5000 + (uint64_t)i / 10, reply, &len) == GUARD_COOKIE;
    }
    cr_assert_gt(cookies, GUARD_LOAD_RATE / 2, "%d cookie replies", cookies);
}

/* A request from a with mac2, made with the cookie the loaded guard sent a at time 2000. */
static void request_with_cookie(uint8_t *req, const struct sockaddr_in6 *a)
{
    uint8_t reply[COOKIE_REPLY_LEN], cookie[COOKIE_LEN], key[32];
    size_t len = 0;
    request(req, false);
    cr_assert_eq(check(req, a, true, 2000, reply, &len), GUARD_COOKIE);
    cookie_key(key, s_pub);
    cr_assert(cookie_reply_open(reply, len, key, req + HDR_LEN + REQ_MAC1_OFF, cookie));
    request(req, false);
    cookie_mac2(req + HDR_LEN + REQ_MAC2_OFF, cookie, req);
}

Test(handshake_guard, cookies_survive_one_rotation_only)
{
    uint8_t req[CONNECT_REQ_LEN], reply[COOKIE_REPLY_LEN];
    size_t len = 0;
    struct sockaddr_in6 a = test_endpoint("172.31.0.11", 40000);
    request_with_cookie(req, &a);
    uint64_t t = 2000 + COOKIE_SECRET_ROTATE_MS + 10;     /* one rotation: still good */
    cr_assert_eq(check(req, &a, true, t, reply, &len), GUARD_PASS_PROVEN);
    t += COOKIE_SECRET_ROTATE_MS + 10;                    /* two: a new cookie is asked for */
    cr_assert_eq(check(req, &a, true, t, reply, &len), GUARD_COOKIE);
}

/* The secret rotates lazily, at the first request of a new period: after a quiet spell of two
 * periods or more, the old cookie must be gone too (it used to survive as "previous"). */
Test(handshake_guard, a_quiet_spell_does_not_stretch_a_cookie)
{
    uint8_t req[CONNECT_REQ_LEN], reply[COOKIE_REPLY_LEN];
    size_t len = 0;
    struct sockaddr_in6 a = test_endpoint("172.31.0.11", 40000);
    request_with_cookie(req, &a);
    uint64_t t = 1000 + 2 * COOKIE_SECRET_ROTATE_MS + 10;    /* no request in between */
    cr_assert_eq(check(req, &a, true, t, reply, &len), GUARD_COOKIE);
}
