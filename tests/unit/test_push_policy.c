/* The client's policy on the session configuration a server pushes (client/push_policy.c):
 * tunnel prefix /8../30, a usable client address inside the tunnel network, MTU clamped to
 * 576..1500, and pushed routes filtered by pull_routes, accept_routes and the server's own
 * underlay address. One table per rule. */
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
static const uint32_t ENDPOINT = IP(172, 31, 0, 1);

static struct push_policy policy(bool pull, const struct ipv4_net *accept, int n)
{
    struct push_policy p;
    memset(&p, 0, sizeof(p));
    p.pull_routes = pull;
    p.accept = accept;
    p.n_accept = n;
    p.have_endpoint = true;
    p.endpoint = ENDPOINT;
    return p;
}

static const struct route_case {
    uint32_t net;
    uint8_t prefix;
    enum push_route_verdict want;
} ANY_ACCEPTED[] = {
    { IP(192, 168, 100, 0), 24, ROUTE_INSTALL },
    { IP(10, 0, 0, 0), 8, ROUTE_INSTALL },
    { IP(172, 31, 1, 0), 24, ROUTE_INSTALL },               /* next to the endpoint */
    { IP(172, 31, 0, 2), 32, ROUTE_INSTALL },               /* a neighbour host */
    /* The classic full-tunnel pair, each half covering some endpoint. */
    { IP(0, 0, 0, 0), 1, ROUTE_INSTALL },                   /* 0/1 does not hold 172.x */
    { IP(128, 0, 0, 0), 1, ROUTE_SKIP_COVERS_ENDPOINT },
    { IP(0, 0, 0, 0), 0, ROUTE_SKIP_COVERS_ENDPOINT },      /* default route */
    { IP(172, 16, 0, 0), 12, ROUTE_SKIP_COVERS_ENDPOINT },
    { IP(172, 31, 0, 0), 24, ROUTE_SKIP_COVERS_ENDPOINT },  /* the underlay network */
    { IP(172, 31, 0, 1), 32, ROUTE_SKIP_COVERS_ENDPOINT },  /* the server itself */
    { IP(172, 31, 0, 77), 24, ROUTE_SKIP_COVERS_ENDPOINT }, /* host bits are ignored */
};

static void run_routes(const struct push_policy *p, const struct route_case *cases, size_t n,
                       const char *label)
{
    for (size_t i = 0; i < n; i++) {
        char a[16];
        enum push_route_verdict v = push_route_verdict(p, cases[i].net, cases[i].prefix);
        cr_expect_eq(v, cases[i].want, "%s: %s/%u: verdict %d, want %d", label,
                     format_ipv4(cases[i].net, a), cases[i].prefix, v, cases[i].want);
    }
}

Test(push_policy, routes_covering_the_server_address_are_refused)
{
    struct push_policy p = policy(true, NULL, 0);
    run_routes(&p, ANY_ACCEPTED, N(ANY_ACCEPTED), "no allowlist");
}

Test(push_policy, endpoint_seam_a_host_route_outside_makes_covering_routes_harmless)
{
    struct push_policy p = policy(true, NULL, 0);
    cr_expect(push_route_endangers_endpoint(&p, 0, 0));
    cr_expect(push_route_endangers_endpoint(&p, IP(128, 0, 0, 0), 1));
    cr_expect(!push_route_endangers_endpoint(&p, 0, 1));
    p.endpoint_host_route = true;   /* what the full-tunnel feature will set */
    cr_expect(!push_route_endangers_endpoint(&p, 0, 0));
    cr_expect_eq(push_route_verdict(&p, IP(128, 0, 0, 0), 1), ROUTE_INSTALL);
}

Test(push_policy, an_ipv6_server_cannot_be_covered_by_ipv4_routes)
{
    struct push_policy p = policy(true, NULL, 0);
    p.have_endpoint = false;
    cr_expect_eq(push_route_verdict(&p, 0, 0), ROUTE_INSTALL);
    cr_expect_eq(push_route_verdict(&p, IP(128, 0, 0, 0), 1), ROUTE_INSTALL);
}

Test(push_policy, pull_routes_false_installs_nothing)
{
    static const struct ipv4_net lan = { IP(192, 168, 100, 0), 24 };
    static const struct route_case cases[] = {
        { IP(192, 168, 100, 0), 24, ROUTE_SKIP_NOT_PULLING },
        { IP(10, 0, 0, 0), 8, ROUTE_SKIP_NOT_PULLING },
        { IP(0, 0, 0, 0), 0, ROUTE_SKIP_NOT_PULLING },
    };
    struct push_policy p = policy(false, NULL, 0);
    run_routes(&p, cases, N(cases), "pull_routes = false");
    p = policy(false, &lan, 1);
    run_routes(&p, cases, N(cases), "pull_routes = false with accept_routes");
}

Test(push_policy, accept_routes_is_an_allowlist_of_networks)
{
    static const struct ipv4_net accept[] = {
        { IP(192, 168, 100, 0), 24 },
        { IP(10, 0, 0, 0), 8 },
    };
    static const struct route_case cases[] = {
        { IP(192, 168, 100, 0), 24, ROUTE_INSTALL },            /* equal */
        { IP(192, 168, 100, 128), 25, ROUTE_INSTALL },          /* inside */
        { IP(192, 168, 100, 7), 32, ROUTE_INSTALL },
        { IP(10, 20, 0, 0), 16, ROUTE_INSTALL },                /* inside the second */
        { IP(192, 168, 0, 0), 16, ROUTE_SKIP_NOT_ACCEPTED },    /* larger than allowed */
        { IP(192, 168, 101, 0), 24, ROUTE_SKIP_NOT_ACCEPTED },  /* beside */
        { IP(0, 0, 0, 0), 1, ROUTE_SKIP_NOT_ACCEPTED },         /* covers an allowed one */
        { IP(0, 0, 0, 0), 0, ROUTE_SKIP_NOT_ACCEPTED },
        { IP(11, 0, 0, 0), 8, ROUTE_SKIP_NOT_ACCEPTED },
    };
    struct push_policy p = policy(true, accept, (int)N(accept));
    run_routes(&p, cases, N(cases), "accept_routes");
}

Test(push_policy, accept_routes_does_not_override_the_endpoint_rule)
{
    static const struct ipv4_net everything = { 0, 0 };
    static const struct route_case cases[] = {
        { IP(192, 168, 100, 0), 24, ROUTE_INSTALL },
        { IP(128, 0, 0, 0), 1, ROUTE_SKIP_COVERS_ENDPOINT },
        { IP(172, 31, 0, 0), 16, ROUTE_SKIP_COVERS_ENDPOINT },
    };
    struct push_policy p = policy(true, &everything, 1);
    run_routes(&p, cases, N(cases), "accept_routes = 0.0.0.0/0");
}

Test(push_policy, policy_from_the_configuration_and_the_server_address)
{
    struct client_config cfg;
    struct push_policy p;
    memset(&cfg, 0, sizeof(cfg));
    cfg.pull_routes = true;
    cfg.accept_routes[0] = (struct ipv4_net){ IP(10, 0, 0, 0), 8 };
    cfg.n_accept_routes = 1;

    struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ENDPOINT) };
    push_policy_init(&p, &cfg, (const struct sockaddr *)&v4);
    cr_expect(p.pull_routes && p.n_accept == 1 && p.accept == cfg.accept_routes);
    cr_expect(p.have_endpoint && p.endpoint == ENDPOINT && !p.endpoint_host_route);

    struct sockaddr_in6 mapped = { .sin6_family = AF_INET6 };
    cr_assert_eq(inet_pton(AF_INET6, "::ffff:172.31.0.1", &mapped.sin6_addr), 1);
    push_policy_init(&p, &cfg, (const struct sockaddr *)&mapped);
    cr_expect(p.have_endpoint && p.endpoint == ENDPOINT);

    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
    cr_assert_eq(inet_pton(AF_INET6, "fd00:31::1", &v6.sin6_addr), 1);
    cfg.pull_routes = false;
    push_policy_init(&p, &cfg, (const struct sockaddr *)&v6);
    cr_expect(!p.have_endpoint && !p.pull_routes);
}
