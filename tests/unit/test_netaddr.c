/* Address parsing and formatting shared by server, client and tools. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "vpn/netaddr.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(netaddr, parse_ipv4)
{
    uint32_t a = 0;
    char buf[16];

    cr_expect_eq(parse_ipv4("10.8.0.1", &a), 0);
    cr_expect_eq(a, 0x0a080001);
    cr_expect_eq(parse_ipv4("0.0.0.0", &a), 0);
    cr_expect_eq(a, 0);
    cr_expect_eq(parse_ipv4("255.255.255.255", &a), 0);
    cr_expect_eq(a, 0xffffffff);
    cr_expect_str_eq(format_ipv4(0xc0a86401, buf), "192.168.100.1");
    cr_expect_str_eq(format_ipv4(0xffffffff, buf), "255.255.255.255");

    static const char *const bad[] = { "", "10.8.0", "10.8.0.1.2", "10.8.0.256", "10.8.0.-1",
                                       "10.8.0.1 ", " 10.8.0.1", "10.8.0.01", "10.1",
                                       "0x0a.0.0.1", "::1", "host.example", "10..0.1" };
    for (unsigned i = 0; i < N(bad); i++)
        cr_expect_eq(parse_ipv4(bad[i], &a), -1, "accepted \"%s\"", bad[i]);
}

Test(netaddr, masks_and_networks)
{
    struct ipv4_net n;

    cr_expect_eq(ipv4_mask(0), 0);
    cr_expect_eq(ipv4_mask(1), 0x80000000);
    cr_expect_eq(ipv4_mask(24), 0xffffff00);
    cr_expect_eq(ipv4_mask(32), 0xffffffff);

    cr_assert_eq(parse_ipv4_net("192.168.100.0/24", &n), 0);
    cr_expect_eq(n.addr, 0xc0a86400);
    cr_expect_eq(n.prefix, 24);
    cr_assert_eq(parse_ipv4_net("0.0.0.0/0", &n), 0);
    cr_expect_eq(n.prefix, 0);
    cr_assert_eq(parse_ipv4_net("10.8.0.1/32", &n), 0);
    cr_expect_eq(n.addr, 0x0a080001);

    static const char *const bad[] = { "192.168.100.1/24", /* host bits set */
                                       "192.168.100.0", "192.168.100.0/", "192.168.100.0/33",
                                       "192.168.100.0/-1", "192.168.100.0/24x", "/24",
                                       "192.168.100.0/ 24", "300.0.0.0/8",
                                       "1111111111111111111.0.0.0/8" };
    for (unsigned i = 0; i < N(bad); i++)
        cr_expect_eq(parse_ipv4_net(bad[i], &n), -1, "accepted \"%s\"", bad[i]);

    struct ipv4_net tun = { 0x0a080000, 24 };
    cr_expect(ipv4_net_contains(&tun, 0x0a080000));
    cr_expect(ipv4_net_contains(&tun, 0x0a0800ff));
    cr_expect(!ipv4_net_contains(&tun, 0x0a080100));
    cr_expect(!ipv4_net_contains(&tun, 0x0a07ffff));
    struct ipv4_net all = { 0, 0 };
    cr_expect(ipv4_net_contains(&all, 0xdeadbeef));
}

Test(netaddr, endpoints_v4_mapped_and_v6)
{
    struct sockaddr_in6 a, b;
    char buf[64];

    cr_assert_eq(parse_endpoint("192.168.1.100", 51820, &a), 0);
    cr_expect_eq(a.sin6_family, AF_INET6);
    cr_expect_eq(ntohs(a.sin6_port), 51820);
    cr_expect(IN6_IS_ADDR_V4MAPPED(&a.sin6_addr));
    cr_expect_str_eq(format_endpoint(&a, buf, sizeof(buf)), "192.168.1.100:51820");

    cr_assert_eq(parse_endpoint("2001:db8::1", 443, &b), 0);
    cr_expect(!IN6_IS_ADDR_V4MAPPED(&b.sin6_addr));
    cr_expect_str_eq(format_endpoint(&b, buf, sizeof(buf)), "[2001:db8::1]:443");

    cr_assert_eq(parse_endpoint("::", 0, &b), 0);
    cr_expect_str_eq(format_endpoint(&b, buf, sizeof(buf)), "[::]:0");

    /* The mapped form written out by hand is the same endpoint as the IPv4 literal. */
    cr_assert_eq(parse_endpoint("::ffff:192.168.1.100", 51820, &b), 0);
    cr_expect(endpoint_equal(&a, &b));
    b.sin6_flowinfo = 7;        /* not part of the peer's identity */
    cr_expect(endpoint_equal(&a, &b));
    b.sin6_port = htons(51821);
    cr_expect(!endpoint_equal(&a, &b));
    cr_assert_eq(parse_endpoint("192.168.1.101", 51820, &b), 0);
    cr_expect(!endpoint_equal(&a, &b));

    static const char *const bad[] = { "", "vpn.example.com", "localhost", "[::1]",
                                       "192.168.1.100:51820", "1.2.3", "::1 ", "::g" };
    for (unsigned i = 0; i < N(bad); i++)
        cr_expect_eq(parse_endpoint(bad[i], 1, &a), -1, "accepted \"%s\"", bad[i]);
    cr_expect_eq(parse_endpoint(NULL, 1, &a), -1);

    /* short buffers are cut, not overrun */
    char small[8];
    cr_assert_eq(parse_endpoint("192.168.1.100", 51820, &a), 0);
    format_endpoint(&a, small, sizeof(small));
    cr_expect_str_eq(small, "192.168");
}

Test(netaddr, interface_names)
{
    static const char *const good[] = { "tun0", "eth0", "wlan0", "br-lan", "enp0s31f6",
                                        "vpn_1.2", "a", "abcdefghijklmno" /* 15 */ };
    static const char *const bad[] = { "", ".", "..", "abcdefghijklmnop" /* 16 */, "tun 0",
                                       "tun/0", "tun:0", "tun0\t", "t\xc3\xbcn", "$(reboot)" };

    for (unsigned i = 0; i < N(good); i++)
        cr_expect(ifname_valid(good[i]), "refused \"%s\"", good[i]);
    for (unsigned i = 0; i < N(bad); i++)
        cr_expect(!ifname_valid(bad[i]), "accepted \"%s\"", bad[i]);
}

Test(netaddr, network_lists)
{
    struct ipv4_net n[4];
    char bad[32] = "";

    cr_assert_eq(parse_ipv4_net_list("10.0.0.0/8", n, 4, bad, sizeof(bad)), 1);
    cr_expect(n[0].addr == 0x0a000000 && n[0].prefix == 8);
    cr_assert_eq(parse_ipv4_net_list(" 10.0.0.0/8 ,\t192.168.1.0/24,0.0.0.0/0 ", n, 4, bad,
                                     sizeof(bad)), 3);
    cr_expect(n[1].addr == 0xc0a80100 && n[1].prefix == 24);
    cr_expect(n[2].addr == 0 && n[2].prefix == 0);
    cr_expect_eq(parse_ipv4_net_list("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8", n, 4,
                                     bad, sizeof(bad)), -2);

    static const struct {
        const char *list, *bad_item;
    } cases[] = {
        { "", "" },
        { "10.0.0.0/8,", "" },
        { ",10.0.0.0/8", "" },
        { "10.0.0.0/8,,10.1.0.0/16", "" },
        { "10.0.0.1/8", "10.0.0.1/8" },
        { "10.0.0.0/8, 10.0.0.0", "10.0.0.0" },
        { "10.0.0.0/8 10.1.0.0/16", "10.0.0.0/8 10.1.0.0/16" },
    };
    for (unsigned i = 0; i < N(cases); i++) {
        strcpy(bad, "unchanged");
        cr_expect_eq(parse_ipv4_net_list(cases[i].list, n, 4, bad, sizeof(bad)), -1,
                     "accepted \"%s\"", cases[i].list);
        cr_expect_str_eq(bad, cases[i].bad_item, "\"%s\"", cases[i].list);
    }
}

Test(netaddr, subnets)
{
    static const struct {
        struct ipv4_net inner, outer;
        bool within;
    } cases[] = {
        { { 0xc0a86400, 24 }, { 0xc0a80000, 16 }, true },
        { { 0xc0a86400, 24 }, { 0xc0a86400, 24 }, true },     /* the same network */
        { { 0xc0a86400, 24 }, { 0, 0 }, true },               /* everything is in 0/0 */
        { { 0xc0a80000, 16 }, { 0xc0a86400, 24 }, false },    /* larger than the outer one */
        { { 0xc0a96400, 24 }, { 0xc0a80000, 16 }, false },    /* elsewhere */
        { { 0, 1 }, { 0x0a000000, 8 }, false },
        { { 0x0a000001, 32 }, { 0x0a000000, 8 }, true },
    };
    for (unsigned i = 0; i < N(cases); i++)
        cr_expect_eq(ipv4_net_within(&cases[i].inner, &cases[i].outer), cases[i].within,
                     "case %u", i);
}

/* "ADDRESS:PORT" as [metrics] listen takes it. */
Test(netaddr, host_port)
{
    static const struct {
        const char *in;
        int rc;
        const char *out;        /* format_endpoint of the result */
    } cases[] = {
        { "127.0.0.1:9586", 0, "127.0.0.1:9586" },
        { "[::1]:9586", 0, "[::1]:9586" },
        { "0.0.0.0:1", 0, "0.0.0.0:1" },
        { "[2001:db8::1]:65535", 0, "[2001:db8::1]:65535" },
        { "127.0.0.1", -1, NULL },
        { "127.0.0.1:", -1, NULL },
        { "127.0.0.1:0", -1, NULL },
        { "127.0.0.1:65536", -1, NULL },
        { "127.0.0.1:95a6", -1, NULL },
        { "127.0.0.1:+95", -1, NULL },
        { "::1:9586", -1, NULL },
        { "[::1]9586", -1, NULL },
        { "[127.0.0.1]:9586", 0, "127.0.0.1:9586" },
        { "localhost:9586", -1, NULL },
        { ":9586", -1, NULL },
        { "[]:9586", -1, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_in6 sa;
        char buf[64];
        cr_expect_eq(parse_host_port(cases[i].in, &sa), cases[i].rc, "%s", cases[i].in);
        if (cases[i].rc == 0)
            cr_expect_str_eq(format_endpoint(&sa, buf, sizeof(buf)), cases[i].out, "%s",
                             cases[i].in);
    }
}
