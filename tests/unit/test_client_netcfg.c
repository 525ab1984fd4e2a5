/* What the client's helper hands to ip, nft, iptables and resolv.conf (client/routes.c,
 * killswitch.c, dns_apply.c), and the helper's check of the requests it takes (helper.c):
 * the text each step produces for a given state, byte for byte, and every request outside
 * the rules refused. The programs themselves run in tests/integration/test_full_tunnel.sh
 * and test_kill_switch.sh. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "../../client/dns_apply.h"
#include "../../client/helper.h"
#include "../../client/killswitch.h"
#include "../../client/routes.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((c) << 8) | (d))

Test(routes, a_first_apply_adds_routes_and_the_table_rule)
{
    struct routes r;
    char text[1024];
    routes_init(&r, "tun0", 51830);
    const struct ipv4_net nets[] = { { 0, 0 }, { IP(192, 168, 100, 0), 24 } };
    cr_assert(routes_apply_text(&r, nets, 2, text, sizeof(text)));
    cr_expect_str_eq(text, "route replace 0.0.0.0/0 dev tun0 table 51830\n"
                           "route replace 192.168.100.0/24 dev tun0 table 51830\n"
                           "rule add pref 32762 table 51830 protocol 86\n");
}

Test(routes, a_later_apply_replaces_then_deletes_what_went)
{
    struct routes r;
    char text[1024];
    routes_init(&r, "vpn-1", 4242);
    r.cur[0] = (struct ipv4_net){ IP(10, 0, 0, 0), 8 };
    r.cur[1] = (struct ipv4_net){ IP(192, 168, 100, 0), 24 };
    r.n_cur = 2;
    r.rules_on = true;
    const struct ipv4_net nets[] = { { IP(192, 168, 100, 0), 24 } };
    cr_assert(routes_apply_text(&r, nets, 1, text, sizeof(text)));
    cr_expect_str_eq(text, "route replace 192.168.100.0/24 dev vpn-1 table 4242\n"
                           "route del 10.0.0.0/8 dev vpn-1 table 4242\n");
    cr_assert(routes_apply_text(&r, NULL, 0, text, sizeof(text)));
    cr_expect_str_eq(text, "route del 10.0.0.0/8 dev vpn-1 table 4242\n"
                           "route del 192.168.100.0/24 dev vpn-1 table 4242\n"
                           "rule del pref 32762 table 4242 protocol 86\n",
                     "nothing left: the rule goes too");
}

Test(routes, the_servers_own_address_is_the_throw_routes_place)
{
    struct routes r;
    char text[1024];
    routes_init(&r, "tun0", 51830);
    r.have_throw = true;
    r.throw_addr = IP(172, 31, 0, 1);
    const struct ipv4_net nets[] = { { IP(172, 31, 0, 1), 32 }, { IP(128, 0, 0, 0), 1 } };
    cr_assert(routes_apply_text(&r, nets, 2, text, sizeof(text)));
    cr_expect_str_eq(text, "route replace 128.0.0.0/1 dev tun0 table 51830\n"
                           "rule add pref 32762 table 51830 protocol 86\n");
}

Test(routes, a_batch_that_does_not_fit_is_refused)
{
    struct routes r;
    char text[64];
    routes_init(&r, "tun0", 51830);
    const struct ipv4_net nets[] = { { IP(10, 0, 0, 0), 8 }, { IP(11, 0, 0, 0), 8 } };
    cr_expect_eq(routes_apply_text(&r, nets, 2, text, sizeof(text)), 0);
}

/* The shared main-table rule stays while a rule of ours looks up another table. */
Test(routes, the_shared_rule_stays_while_a_client_needs_it)
{
    cr_expect(routes_rules_need_main("0:\tfrom all lookup local\n"
                                     "32761:\tfrom all lookup main suppress_prefixlength 0 proto 86\n"
                                     "32762:\tfrom all lookup 51831 proto 86\n"
                                     "32766:\tfrom all lookup main\n"));
    cr_expect_not(routes_rules_need_main("0:\tfrom all lookup local\n"
                                         "32761:\tfrom all lookup main suppress_prefixlength 0 proto 86\n"
                                         "32762:\tfrom all lookup 51831\n"
                                         "32762:\tfrom all lookup 51832 proto 861\n"
                                         "32766:\tfrom all lookup main\n"),
                  "not ours: no protocol 86 (861 is another)");
    cr_expect_not(routes_rules_need_main(""));
}

static struct sockaddr_in v4(const char *a, uint16_t port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, a, &sin.sin_addr);
    return sin;
}

Test(killswitch, nft_replaces_its_table_in_one_transaction)
{
    char text[2048];
    struct sockaddr_in ep = v4("172.31.0.1", 51820);
    cr_assert(ks_nft_text("tun0", (struct sockaddr *)&ep, false, text, sizeof(text)));
    cr_expect_str_eq(text,
                     "table inet vpnse_tun0\n"
                     "delete table inet vpnse_tun0\n"
                     "table inet vpnse_tun0 {\n"
                     "    chain output {\n"
                     "        type filter hook output priority filter; policy drop;\n"
                     "        oifname \"lo\" accept\n"
                     "        oifname \"tun0\" accept\n"
                     "        ip daddr 172.31.0.1 udp dport 51820 accept\n"
                     "        counter drop\n"
                     "    }\n"
                     "}\n");
}

Test(killswitch, nft_before_the_address_is_known_and_during_a_lookup)
{
    char text[2048];
    cr_assert(ks_nft_text("my-vpn.0", NULL, true, text, sizeof(text)));
    cr_expect(strstr(text, "table inet vpnse_my_vpn_0 {\n"), "an nft identifier: %s", text);
    cr_expect(strstr(text, "oifname \"my-vpn.0\" accept\n"));
    cr_expect(!strstr(text, "daddr"), "no endpoint yet");
    cr_expect(strstr(text, "meta l4proto { tcp, udp } th dport 53 accept\n"));
    struct sockaddr_in6 ep6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
    inet_pton(AF_INET6, "2001:db8::1", &ep6.sin6_addr);
    cr_assert(ks_nft_text("tun0", (struct sockaddr *)&ep6, false, text, sizeof(text)));
    cr_expect(strstr(text, "ip6 daddr 2001:db8::1 udp dport 443 accept\n"));
    cr_expect(!strstr(text, "dport 53"));
}

Test(killswitch, iptables_per_family)
{
    char text[2048];
    struct sockaddr_in ep = v4("172.31.0.1", 51820);
    cr_assert(ks_iptables_text("tun0", AF_INET, (struct sockaddr *)&ep, false, text,
                               sizeof(text)));
    cr_expect_str_eq(text, "*filter\n"
                           ":vpnse-tun0 - [0:0]\n"
                           "-A vpnse-tun0 -o lo -j ACCEPT\n"
                           "-A vpnse-tun0 -o tun0 -j ACCEPT\n"
                           "-A vpnse-tun0 -d 172.31.0.1 -p udp --dport 51820 -j ACCEPT\n"
                           "-A vpnse-tun0 -j DROP\n"
                           "COMMIT\n");
    cr_assert(ks_iptables_text("tun0", AF_INET6, (struct sockaddr *)&ep, true, text,
                               sizeof(text)));
    cr_expect(!strstr(text, "172.31.0.1"), "an IPv4 endpoint is not in the IPv6 set");
    cr_expect(strstr(text, "-A vpnse-tun0 -p udp --dport 53 -j ACCEPT\n"
                           "-A vpnse-tun0 -p tcp --dport 53 -j ACCEPT\n"
                           "-A vpnse-tun0 -j DROP\n"));
}

Test(dns, resolv_conf_names_tun_and_backup_and_keeps_options)
{
    char text[1024];
    const uint32_t servers[] = { IP(10, 8, 0, 1), IP(9, 9, 9, 9) };
    cr_assert(dns_resolv_conf_text("tun0", "/var/lib/vpn-client/resolv.conf.tun0", servers, 2,
                                   "home.lan corp.example",
                                   "# by DHCP\nnameserver 192.168.1.1\noptions edns0 trust-ad\n"
                                   "search lan\noptions\ttimeout:1",
                                   text, sizeof(text)));
    cr_expect_str_eq(text,
                     "# vpn-client (tun0): the resolvers the VPN server pushed. The file as it "
                     "was is in /var/lib/vpn-client/resolv.conf.tun0 and comes back when the "
                     "client exits.\n"
                     "nameserver 10.8.0.1\n"
                     "nameserver 9.9.9.9\n"
                     "search home.lan corp.example\n"
                     "options edns0 trust-ad\n"
                     "options\ttimeout:1\n");
    cr_assert(dns_resolv_conf_text("tun0", "/b", NULL, 0, "home.lan", NULL, text, sizeof(text)));
    cr_expect(strstr(text, "\nsearch home.lan\n") && !strstr(text, "nameserver"));
    cr_expect_eq(dns_resolv_conf_text("tun0", "/b", servers, 2, "", NULL, text, 40), 0,
                 "too long for the buffer: refused, never cut");
}

static struct helper_request good_apply(void)
{
    struct helper_request q;
    memset(&q, 0, sizeof(q));
    q.op = HELPER_APPLY;
    q.n_routes = 2;
    q.routes[0] = (struct ipv4_net){ 0, 0 };
    q.routes[1] = (struct ipv4_net){ IP(192, 168, 100, 77), 24 };
    q.n_dns = 1;
    q.dns[0] = IP(10, 8, 0, 1);
    strcpy(q.dns_search, "home.lan");
    return q;
}

Test(helper, a_request_within_the_rules_passes_with_its_networks_masked)
{
    struct helper_request q = good_apply();
    cr_expect_null(helper_check_apply(&q));
    cr_expect_eq(q.routes[1].addr, IP(192, 168, 100, 0));
}

Test(helper, every_value_outside_the_rules_is_refused)
{
    struct helper_request q;
    q = good_apply(), q.n_routes = ROUTES_MAX + 1;
    cr_expect_not_null(helper_check_apply(&q), "too many routes");
    q = good_apply(), q.routes[0].prefix = 33;
    cr_expect_not_null(helper_check_apply(&q), "prefix 33");
    q = good_apply(), q.n_dns = DNS_SERVERS_MAX + 1;
    cr_expect_not_null(helper_check_apply(&q), "4 resolvers");
    q = good_apply(), q.dns[0] = IP(127, 0, 0, 1);
    cr_expect_not_null(helper_check_apply(&q), "a loopback resolver");
    q = good_apply(), q.dns[0] = IP(239, 1, 1, 1);
    cr_expect_not_null(helper_check_apply(&q), "a multicast resolver");
    q = good_apply(), strcpy(q.dns_search, "home.lan\nnameserver 6.6.6.6");
    cr_expect_not_null(helper_check_apply(&q), "a line in the search list");
    q = good_apply(), strcpy(q.dns_search, "-x");
    cr_expect_not_null(helper_check_apply(&q), "an option as a search domain");
    q = good_apply(), memset(q.dns_search, 'a', sizeof(q.dns_search));
    cr_expect_not_null(helper_check_apply(&q), "no end to the search list");
    q = good_apply(), q.n_dns = 0, q.dns_search[0] = '\0', q.n_routes = 0;
    cr_expect_null(helper_check_apply(&q), "nothing at all is fine");
}
