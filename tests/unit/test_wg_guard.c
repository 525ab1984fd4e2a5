/* The WireGuard port's front door (core/server/wg_guard.c) and the cookie constructions under
 * it (core/lib/wg_cookie.c): the cookie reply byte for byte against vectors computed
 * independently in Python (tests/unit/gen_wg_vectors.py -> vectors_wg.inc, with R_m and the
 * nonce fixed through the guard's test seam), then the decisions: mac1 before anything,
 * mac2 ignored when quiet, demanded under load and bound to the source address and port,
 * cookies outliving one rotation of R_m but not two, the per-source budgets. */
#include "testaddr.h"

#include "../../core/server/wg_guard.h"
#include "vpn/wg_cookie.h"

#include "vectors_wg.inc"

static struct wg_guard g;
static uint8_t server_pub[WG_KEY_LEN], init_plain[WG_INIT_LEN], init_mac2[WG_INIT_LEN];

static void fixed_nonce(void *buf, size_t len)
{
    cr_assert_eq(unhex(buf, len, WGV_COOKIE_NONCE), len);
}

/* The guard at time 1000 with the vectors' R_m as its current secret and their nonce. */
static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    unhex(server_pub, sizeof(server_pub), WGV_SERVER_PUB);
    cr_assert_eq(unhex(init_plain, sizeof(init_plain), WGV_INITIATION), WG_INIT_LEN);
    cr_assert_eq(unhex(init_mac2, sizeof(init_mac2), WGV_INITIATION_MAC2), WG_INIT_LEN);
    cr_assert_eq(wg_guard_init(&g, server_pub, 1000), 0);
    unhex(g.secrets.secret[0], COOKIE_SECRET_LEN, WGV_COOKIE_SECRET);
    g.random_bytes = fixed_nonce;
}

static void teardown(void)
{
    wg_guard_uninit(&g);
}

TestSuite(wg_guard, .init = setup, .fini = teardown);

static enum wg_guard_verdict check(const uint8_t *init, const char *ip, uint16_t port, bool busy,
                                   uint64_t now)
{
    uint8_t reply[WG_COOKIE_REPLY_LEN];
    size_t len = 0;
    struct sockaddr_in6 from = test_endpoint(ip, port);
    enum wg_guard_verdict v = wg_guard_check(&g, init, &from, busy, now, reply, &len);
    cr_assert_eq(len, v == WG_GUARD_COOKIE ? (size_t)WG_COOKIE_REPLY_LEN : 0u);
    return v;
}

Test(wg_guard, keys_and_cookies_match_the_vectors)
{
    uint8_t key[WG_HASH_LEN], cookie[WG_MAC_LEN];
    assert_hex(g.mac1_key, WG_HASH_LEN, WGV_MAC1_KEY, "mac1 key");
    assert_hex(g.cookie_key, WG_HASH_LEN, WGV_COOKIE_KEY, "cookie key");
    cr_assert(wg_cookie_key(key, server_pub));
    assert_hex(key, WG_HASH_LEN, WGV_COOKIE_KEY, "cookie key (library)");
    struct sockaddr_in6 v4 = test_endpoint("172.31.0.11", 40000);
    struct sockaddr_in6 v6 = test_endpoint("2001:db8:5::11", 51820);
    cr_assert(wg_cookie_make(g.mac, cookie, g.secrets.secret[0], &v4));
    assert_hex(cookie, WG_MAC_LEN, WGV_COOKIE_V4, "IPv4 source's cookie");
    cr_assert(wg_mac1_ok(g.mac, g.mac1_key, init_mac2, WG_INIT_LEN), "mac2 is not under mac1");
    cr_assert(wg_mac2_ok(g.mac, cookie, init_mac2, WG_INIT_LEN));
    cr_assert_not(wg_mac2_ok(g.mac, cookie, init_plain, WG_INIT_LEN), "zero mac2");
    cr_assert(wg_cookie_make(NULL, cookie, g.secrets.secret[0], &v6));
    assert_hex(cookie, WG_MAC_LEN, WGV_COOKIE_V6, "IPv6 source's cookie");
    cr_assert_not(wg_mac2_ok(NULL, cookie, init_mac2, WG_INIT_LEN), "another source's cookie");
    cr_assert(wg_mac1_ok(NULL, g.mac1_key, init_plain, WG_INIT_LEN), "a one-off context");
}

Test(wg_guard, under_load_the_reply_is_the_vectors_and_smaller_than_the_initiation)
{
    uint8_t reply[WG_COOKIE_REPLY_LEN];
    size_t len = 0;
    struct sockaddr_in6 from = test_endpoint("172.31.0.11", 40000);
    cr_assert_eq(wg_guard_check(&g, init_plain, &from, true, 2000, reply, &len), WG_GUARD_COOKIE);
    cr_assert(wg_guard_loaded(&g, 2000));
    cr_assert_eq(len, WG_COOKIE_REPLY_LEN);
    cr_assert_lt(len, WG_INIT_LEN, "no amplification");
    assert_hex(reply, len, WGV_COOKIE_REPLY, "cookie reply");
    cr_assert_eq(wg_classify(reply, (unsigned)len), WG_MSG_COOKIE_REPLY);
}

Test(wg_guard, a_quiet_server_passes_without_mac2)
{
    cr_assert_eq(check(init_plain, "172.31.0.11", 40000, false, 2000), WG_GUARD_PASS);
    cr_assert_not(wg_guard_loaded(&g, 2000));
    /* mac2 is not looked at without load: a stale one does not matter either. */
    uint8_t stale[WG_INIT_LEN];
    memcpy(stale, init_mac2, sizeof(stale));
    stale[WG_INIT_MAC2] ^= 1;
    cr_assert_eq(check(stale, "172.31.0.11", 40000, false, 2000), WG_GUARD_PASS);
}

Test(wg_guard, under_load_mac2_must_come_from_the_same_address_and_port)
{
    cr_assert_eq(check(init_plain, "172.31.0.11", 40000, true, 2000), WG_GUARD_COOKIE);
    cr_assert_eq(check(init_mac2, "172.31.0.11", 40000, true, 2100), WG_GUARD_PASS);
    cr_assert_eq(check(init_mac2, "172.31.0.11", 40001, true, 2100), WG_GUARD_COOKIE,
                 "another source port");
    cr_assert_eq(check(init_mac2, "172.31.0.12", 40000, true, 2100), WG_GUARD_COOKIE,
                 "another address");
    uint8_t bent[WG_INIT_LEN];
    memcpy(bent, init_mac2, sizeof(bent));
    bent[WG_INIT_MAC2 + 15] ^= 0x80;
    cr_assert_eq(check(bent, "172.31.0.11", 40000, true, 2100), WG_GUARD_COOKIE, "a bent mac2");
    /* Load is held GUARD_LOAD_HOLD_MS after it was last seen, then mac2 is not needed. */
    cr_assert_eq(check(init_plain, "172.31.0.11", 40000, false, 2100 + GUARD_LOAD_HOLD_MS),
                 WG_GUARD_PASS);
}

/* What wireguard-go does with a reply: open the cookie with the mac1 it sent, put mac2 on its
 * next initiation. Here with a nonce and R_m of the guard's own (the seam undone). */
Test(wg_guard, a_cookie_opened_from_a_random_reply_passes)
{
    uint8_t reply[WG_COOKIE_REPLY_LEN], cookie[WG_MAC_LEN], init[WG_INIT_LEN];
    size_t len = 0;
    struct sockaddr_in6 from = test_endpoint("2001:db8:5::11", 51820);
    g.random_bytes = randombytes_buf;
    randombytes_buf(g.secrets.secret[0], COOKIE_SECRET_LEN);
    cr_assert_eq(wg_guard_check(&g, init_plain, &from, true, 2000, reply, &len), WG_GUARD_COOKIE);
    cr_assert_eq(crypto_aead_xchacha20poly1305_ietf_decrypt(
                     cookie, NULL, NULL, reply + WG_COOKIE_SEALED, WG_COOKIE_REPLY_LEN -
                     WG_COOKIE_SEALED, init_plain + WG_INIT_MAC1, WG_MAC_LEN,
                     reply + WG_COOKIE_NONCE, g.cookie_key), 0);
    memcpy(init, init_plain, sizeof(init));
    cr_assert(wg_mac(init + WG_INIT_MAC2, cookie, WG_MAC_LEN, init, WG_INIT_MAC2));
    cr_assert_eq(wg_guard_check(&g, init, &from, true, 2100, reply, &len), WG_GUARD_PASS);
}

Test(wg_guard, cookies_outlive_one_rotation_but_not_two)
{
    uint64_t t = 1000 + COOKIE_SECRET_ROTATE_MS + 10;        /* the vectors' R_m is previous */
    cr_assert_eq(check(init_mac2, "172.31.0.11", 40000, true, t), WG_GUARD_PASS);
    t += COOKIE_SECRET_ROTATE_MS;                             /* gone */
    cr_assert_eq(check(init_mac2, "172.31.0.11", 40000, true, t), WG_GUARD_COOKIE);
}

Test(wg_guard, a_quiet_spell_of_two_periods_forgets_the_cookie)
{
    cr_assert_eq(check(init_mac2, "172.31.0.11", 40000, true, 2000), WG_GUARD_PASS);
    uint64_t t = 1000 + 2 * COOKIE_SECRET_ROTATE_MS;          /* nothing in between */
    cr_assert_eq(check(init_mac2, "172.31.0.11", 40000, true, t), WG_GUARD_COOKIE);
}

Test(wg_guard, a_bad_mac1_is_dropped_before_anything_else)
{
    uint8_t bad[WG_INIT_LEN];
    memcpy(bad, init_mac2, sizeof(bad));
    bad[WG_INIT_MAC1] ^= 1;
    /* Busy, and the source over every budget: still BAD_MAC1, no reply, no load counted. */
    for (int i = 0; i < WG_HANDSHAKE_BURST; i++)
        check(init_plain, "172.31.0.11", 40000, false, 2000);
    cr_assert_eq(check(init_plain, "172.31.0.11", 40000, false, 2000), WG_GUARD_RATE);
    cr_assert_eq(check(bad, "172.31.0.11", 40000, true, 2000), WG_GUARD_BAD_MAC1);
    cr_assert_not(wg_guard_loaded(&g, 2000), "a bad mac1 is not load");
    /* A changed byte under mac1 fails it as well. */
    memcpy(bad, init_plain, sizeof(bad));
    bad[WG_INIT_EPHEMERAL] ^= 1;
    cr_assert_eq(check(bad, "172.31.0.12", 40000, true, 2000), WG_GUARD_BAD_MAC1);
}

Test(wg_guard, per_source_handshake_budget)
{
    /* Fewer than GUARD_LOAD_RATE in all, so that load does not step in. */
    int passed = 0;
    for (int i = 0; i < WG_HANDSHAKE_BURST + 10; i++)
        passed += check(init_plain, "172.31.0.11", 40000, false, 2000) == WG_GUARD_PASS;
    cr_assert_eq(passed, WG_HANDSHAKE_BURST);
    cr_assert_eq(check(init_plain, "172.31.0.11", 40001, false, 2000), WG_GUARD_RATE,
                 "the source is its address, not its port");
    cr_assert_eq(check(init_plain, "172.31.0.12", 40000, false, 2000), WG_GUARD_PASS,
                 "another source has its own budget");
    cr_assert_eq(check(init_plain, "172.31.0.11", 40000, false, 2000 + 1000 / WG_HANDSHAKE_RATE),
                 WG_GUARD_PASS, "refilled at WG_HANDSHAKE_RATE");
}

Test(wg_guard, per_source_cookie_reply_budget)
{
    int replies = 0;
    for (int i = 0; i < 2 * WG_REPLY_BURST; i++)
        replies += check(init_plain, "172.31.0.11", 40000, true, 2000) == WG_GUARD_COOKIE;
    cr_assert_eq(replies, WG_REPLY_BURST);
    cr_assert_eq(check(init_plain, "172.31.0.11", 40000, true, 2000), WG_GUARD_COOKIE_LIMITED);
    cr_assert_eq(check(init_plain, "172.31.0.13", 40000, true, 2000), WG_GUARD_COOKIE,
                 "another source still gets its cookie");
    /* The proven source is unaffected by its reply budget. */
    cr_assert_eq(check(init_mac2, "172.31.0.11", 40000, true, 2000), WG_GUARD_PASS);
}

Test(wg_guard, the_initiation_rate_alone_means_load)
{
    char ip[32];
    int cookies = 0;
    for (int i = 0; i < 2 * GUARD_LOAD_RATE; i++) {
        snprintf(ip, sizeof(ip), "10.99.%d.%d", i / 250, i % 250 + 1);
        cookies += check(init_plain, ip, 1234, false, 5000 + (uint64_t)i / 10) == WG_GUARD_COOKIE;
    }
    cr_assert_gt(cookies, GUARD_LOAD_RATE / 2, "%d cookie replies", cookies);
}
