/* The client's policy on the session configuration a server pushes (client/push_policy.c):
 * tunnel prefix /8../30, a usable client address inside the tunnel network, MTU clamped to
 * 576..1500, and pushed routes filtered by pull_routes and narrowed by allowed_routes. One
 * table per rule. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "../../client/push_policy.h"
#include "vpn/limits.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

/* What a well-configured server sends: 10.8.0.10/24, server 10.8.0.1, MTU 1400. */
static struct hs_config good(void)
{
    struct hs_config c;
    memset(&c, 0, sizeof(c));
    c.prefix_len = 24;
    c.mtu = 1400;
    c.session_id = 0x1234;
    c.client_ip = IP(10, 8, 0, 10);
    c.server_ip = IP(10, 8, 0, 1);
    c.keepalive_s = 25;
    return c;
}

Test(push_policy, a_sane_configuration_passes)
{
    struct hs_config c = good();
    cr_expect_null(push_check_tunnel(&c));
}

Test(push_policy, tunnel_prefix_must_be_8_to_30)
{
    static const struct {
        uint8_t prefix;
        uint32_t client, server;
        bool ok;
    } cases[] = {
        { 0, IP(10, 8, 0, 10), IP(10, 8, 0, 1), false },      /* the whole Internet */
        { 1, IP(10, 8, 0, 10), IP(10, 8, 0, 1), false },
        { 7, IP(10, 8, 0, 10), IP(10, 8, 0, 1), false },
        { 8, IP(10, 8, 0, 10), IP(10, 8, 0, 1), true },
        { 16, IP(10, 8, 0, 10), IP(10, 8, 0, 1), true },
        { 24, IP(10, 8, 0, 10), IP(10, 8, 0, 1), true },
        { 30, IP(10, 8, 0, 2), IP(10, 8, 0, 1), true },       /* 10.8.0.0/30: .1 and .2 */
        { 31, IP(10, 8, 0, 1), IP(10, 8, 0, 0), false },
        { 32, IP(10, 8, 0, 10), IP(10, 8, 0, 10), false },
        { 33, IP(10, 8, 0, 10), IP(10, 8, 0, 1), false },
        { 255, IP(10, 8, 0, 10), IP(10, 8, 0, 1), false },
    };
    for (unsigned i = 0; i < N(cases); i++) {
        struct hs_config c = good();
        c.prefix_len = cases[i].prefix;
        c.client_ip = cases[i].client;
        c.server_ip = cases[i].server;
        const char *why = push_check_tunnel(&c);
        cr_expect_eq(why == NULL, cases[i].ok, "/%u: %s", cases[i].prefix, why ? why : "accepted");
        if (!cases[i].ok && why)
            cr_expect(strstr(why, "prefix"), "/%u: %s", cases[i].prefix, why);
    }
}

Test(push_policy, client_address_must_be_a_usable_host_of_the_tunnel)
{
    static const struct {
        uint32_t client, server;
        uint8_t prefix;
        const char *why;        /* NULL: accepted */
    } cases[] = {
        { IP(10, 8, 0, 10), IP(10, 8, 0, 1), 24, NULL },
        { IP(10, 8, 0, 254), IP(10, 8, 0, 1), 24, NULL },
        { IP(10, 8, 0, 1), IP(10, 8, 0, 254), 24, NULL },       /* server at the top */
        { IP(172, 16, 7, 9), IP(172, 16, 0, 1), 16, NULL },
        { 0, IP(10, 8, 0, 1), 24, "0.0.0.0" },
        { 0, 0, 8, "0.0.0.0" },
        { IP(127, 0, 0, 1), IP(127, 0, 0, 2), 8, "loopback" },
        { IP(127, 8, 0, 10), IP(127, 8, 0, 1), 24, "loopback" },
        { IP(224, 0, 0, 1), IP(224, 0, 0, 2), 24, "multicast" },
        { IP(239, 255, 255, 250), IP(239, 255, 255, 1), 24, "multicast" },
        { IP(255, 255, 255, 255), IP(255, 255, 255, 1), 24, "255.255.255.255" },
        { IP(10, 9, 0, 10), IP(10, 8, 0, 1), 24, "outside the tunnel network" },
        { IP(192, 168, 1, 10), IP(10, 8, 0, 1), 24, "outside the tunnel network" },
        { IP(10, 8, 1, 0), IP(10, 8, 0, 1), 24, "outside the tunnel network" },
        { IP(10, 8, 0, 0), IP(10, 8, 0, 1), 24, "network address" },
        { IP(10, 8, 0, 255), IP(10, 8, 0, 1), 24, "broadcast address" },
        { IP(10, 8, 0, 3), IP(10, 8, 0, 1), 30, "broadcast address" },
        { IP(10, 8, 0, 0), IP(10, 8, 0, 1), 30, "network address" },
        { IP(10, 255, 255, 255), IP(10, 0, 0, 1), 8, "broadcast address" },
        { IP(10, 8, 0, 1), IP(10, 8, 0, 1), 24, "server's tunnel address" },
    };
    for (unsigned i = 0; i < N(cases); i++) {
        struct hs_config c = good();
        char a[16], b[16];
        c.client_ip = cases[i].client;
        c.server_ip = cases[i].server;
        c.prefix_len = cases[i].prefix;
        const char *why = push_check_tunnel(&c);
        format_ipv4(c.client_ip, a);
        format_ipv4(c.server_ip, b);
        if (!cases[i].why) {
            cr_expect_null(why, "%s (server %s/%u) refused: %s", a, b, c.prefix_len, why);
            continue;
        }
        cr_expect_not_null(why, "%s (server %s/%u) accepted", a, b, c.prefix_len);
        if (why)
            cr_expect(strstr(why, cases[i].why), "%s (server %s/%u): want \"%s\" in \"%s\"", a,
                      b, c.prefix_len, cases[i].why, why);
    }
}

Test(push_policy, mtu_is_clamped_to_576_1500)
{
    static const struct {
        uint16_t pushed, used;
    } cases[] = {
        { 0, 576 }, { 68, 576 }, { 575, 576 }, { 576, 576 }, { 1280, 1280 }, { 1400, 1400 },
        { 1500, 1500 }, { 1501, 1500 }, { 9000, 1500 }, { 65535, 1500 },
    };
    for (unsigned i = 0; i < N(cases); i++)
        cr_expect_eq(push_clamp_mtu(cases[i].pushed), cases[i].used, "MTU %u",
                     cases[i].pushed);
    cr_expect_eq(MTU_MIN, 576);
    cr_expect_eq(MTU_MAX, 1500);
}

/* The lab's server: 172.31.0.1. */
static struct push_policy policy(bool pull, const struct ipv4_net *allowed, int n)
{
    struct push_policy p;
    memset(&p, 0, sizeof(p));
    p.pull_routes = pull;
    p.allowed = allowed;
    p.n_allowed = n;
    return p;
}

/* A pushed route, the verdict, and the networks to install (up to 3 here). */
static const struct route_case {
    uint32_t net;
    uint8_t prefix;
    enum push_route_verdict want;
    int n;
    struct ipv4_net parts[3];
} NO_ALLOWLIST[] = {
    { IP(192, 168, 100, 0), 24, ROUTE_INSTALL, 1, { { IP(192, 168, 100, 0), 24 } } },
    { IP(10, 0, 0, 0), 8, ROUTE_INSTALL, 1, { { IP(10, 0, 0, 0), 8 } } },
    /* A full tunnel, and the routes that cover the server's own address: installed as they
     * are (the helper's throw route keeps the server's address out, routes.h). */
    { IP(0, 0, 0, 0), 0, ROUTE_INSTALL, 1, { { 0, 0 } } },
    { IP(128, 0, 0, 0), 1, ROUTE_INSTALL, 1, { { IP(128, 0, 0, 0), 1 } } },
    { IP(172, 31, 0, 1), 32, ROUTE_INSTALL, 1, { { IP(172, 31, 0, 1), 32 } } },
    /* Host bits are ignored, as the kernel ignores them. */
    { IP(172, 31, 0, 77), 24, ROUTE_INSTALL, 1, { { IP(172, 31, 0, 0), 24 } } },
};

static void run_routes(const struct push_policy *p, const struct route_case *cases, size_t n,
                       const char *label)
{
    for (size_t i = 0; i < n; i++) {
        char a[16], b[16];
        struct ipv4_net parts[PUSH_ROUTE_PARTS_MAX];
        int k = -1;
        enum push_route_verdict v = push_route_parts(p, cases[i].net, cases[i].prefix, parts, &k);
        cr_expect_eq(v, cases[i].want, "%s: %s/%u: verdict %d, want %d", label,
                     format_ipv4(cases[i].net, a), cases[i].prefix, v, cases[i].want);
        cr_expect_eq(k, cases[i].n, "%s: %s/%u: %d parts, want %d", label,
                     format_ipv4(cases[i].net, a), cases[i].prefix, k, cases[i].n);
        for (int j = 0; j < k && j < cases[i].n; j++)
            cr_expect(parts[j].addr == cases[i].parts[j].addr &&
                      parts[j].prefix == cases[i].parts[j].prefix,
                      "%s: %s/%u: part %d is %s/%u, want %s/%u", label,
                      format_ipv4(cases[i].net, a), cases[i].prefix, j,
                      format_ipv4(parts[j].addr, b), parts[j].prefix,
                      format_ipv4(cases[i].parts[j].addr, a), cases[i].parts[j].prefix);
    }
}

Test(push_policy, without_an_allowlist_every_pushed_route_goes_in)
{
    struct push_policy p = policy(true, NULL, 0);
    run_routes(&p, NO_ALLOWLIST, N(NO_ALLOWLIST), "no allowlist");
}

Test(push_policy, pull_routes_false_installs_nothing)
{
    static const struct ipv4_net lan = { IP(192, 168, 100, 0), 24 };
    static const struct route_case cases[] = {
        { IP(192, 168, 100, 0), 24, ROUTE_SKIP_NOT_PULLING, 0, { { 0, 0 } } },
        { IP(10, 0, 0, 0), 8, ROUTE_SKIP_NOT_PULLING, 0, { { 0, 0 } } },
        { IP(0, 0, 0, 0), 0, ROUTE_SKIP_NOT_PULLING, 0, { { 0, 0 } } },
    };
    struct push_policy p = policy(false, NULL, 0);
    run_routes(&p, cases, N(cases), "pull_routes = false");
    p = policy(false, &lan, 1);
    run_routes(&p, cases, N(cases), "pull_routes = false with allowed_routes");
}

/* allowed_routes: what of each pushed route overlaps them. Two networks overlap only as one
 * inside the other: the pushed route inside an allowed one goes in whole, allowed ones inside
 * the pushed route go in instead of it (a split tunnel taken from a full one). */
Test(push_policy, allowed_routes_install_the_overlap)
{
    static const struct ipv4_net allowed[] = {
        { IP(192, 168, 100, 0), 24 },
        { IP(10, 0, 0, 0), 8 },
        { IP(10, 1, 0, 0), 16 },    /* inside the one before: 10/8 wins for what it holds */
    };
    static const struct route_case cases[] = {
        { IP(192, 168, 100, 0), 24, ROUTE_INSTALL, 1, { { IP(192, 168, 100, 0), 24 } } },
        { IP(192, 168, 100, 128), 25, ROUTE_INSTALL, 1, { { IP(192, 168, 100, 128), 25 } } },
        { IP(192, 168, 100, 7), 32, ROUTE_INSTALL, 1, { { IP(192, 168, 100, 7), 32 } } },
        { IP(10, 20, 0, 0), 16, ROUTE_INSTALL, 1, { { IP(10, 20, 0, 0), 16 } } },
        { IP(192, 168, 0, 0), 16, ROUTE_INSTALL_PARTS, 1, { { IP(192, 168, 100, 0), 24 } } },
        { IP(0, 0, 0, 0), 0, ROUTE_INSTALL_PARTS, 3,
          { { IP(192, 168, 100, 0), 24 }, { IP(10, 0, 0, 0), 8 }, { IP(10, 1, 0, 0), 16 } } },
        { IP(0, 0, 0, 0), 1, ROUTE_INSTALL_PARTS, 2,
          { { IP(10, 0, 0, 0), 8 }, { IP(10, 1, 0, 0), 16 } } },
        { IP(128, 0, 0, 0), 1, ROUTE_INSTALL_PARTS, 1, { { IP(192, 168, 100, 0), 24 } } },
        { IP(192, 168, 101, 0), 24, ROUTE_SKIP_NOT_ALLOWED, 0, { { 0, 0 } } },  /* beside */
        { IP(11, 0, 0, 0), 8, ROUTE_SKIP_NOT_ALLOWED, 0, { { 0, 0 } } },
    };
    struct push_policy p = policy(true, allowed, (int)N(allowed));
    run_routes(&p, cases, N(cases), "allowed_routes");
}

Test(push_policy, policy_from_the_configuration)
{
    struct client_config cfg;
    struct push_policy p;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pull_routes = true;
    cfg.allowed_routes[0] = (struct ipv4_net){ IP(10, 0, 0, 0), 8 };
    cfg.n_allowed_routes = 1;
    push_policy_init(&p, &cfg);
    cr_expect(p.pull_routes && p.n_allowed == 1 && p.allowed == cfg.allowed_routes);
    cfg.pull_routes = false;
    push_policy_init(&p, &cfg);
    cr_expect(!p.pull_routes);
}
