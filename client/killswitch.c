/* The kill switch through nft, else iptables (see killswitch.h for what it lets out, and
 * why). */
#include "killswitch.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "vpn/run.h"
#include "vpn/text.h"

enum { RULES_MAX = 2048 };

void ks_init(struct killswitch *k, const char *tun)
{
    memset(k, 0, sizeof(*k));
    snprintf(k->tun, sizeof(k->tun), "%s", tun);
}

/* nft's table name: vpnse_ and the TUN's name with every character that is not a letter or
 * digit as '_' (ifname_valid allows '-' and '.', which an nft identifier does not). */
static void table_name(const char *tun, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "vpnse_%s", tun);
    for (size_t i = 6; i < n && i < len; i++)
        if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= 'A' && out[i] <= 'Z') ||
              (out[i] >= '0' && out[i] <= '9')))
            out[i] = '_';
}

static void chain_name(const char *tun, char *out, size_t len)
{
    snprintf(out, len, "vpnse-%s", tun);
}

/* The endpoint's address text and port; false when it is no IP address. */
static bool endpoint_text(const struct sockaddr *sa, int *family, char *addr, size_t len,
                          unsigned *port)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        *port = ntohs(sin->sin_port);
        *family = AF_INET;
        return inet_ntop(AF_INET, &sin->sin_addr, addr, (socklen_t)len) != NULL;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        *port = ntohs(sin6->sin6_port);
        *family = AF_INET6;
        return inet_ntop(AF_INET6, &sin6->sin6_addr, addr, (socklen_t)len) != NULL;
    }
    return false;
}

size_t ks_nft_text(const char *tun, const struct sockaddr *endpoint, bool allow_dns, char *out,
                   size_t out_len)
{
    char table[IFNAMSIZ + 8], addr[INET6_ADDRSTRLEN];
    unsigned port = 0;
    int family = 0;
    size_t n = 0;
    table_name(tun, table, sizeof(table));
    /* "table" then "delete table": the idiom for "replace whatever is there", all of it one
     * transaction with the new table below. */
    bool ok = text_append(out, out_len, &n,
                  "table inet %s\ndelete table inet %s\ntable inet %s {\n"
                  "    chain output {\n"
                  "        type filter hook output priority filter; policy drop;\n"
                  "        oifname \"lo\" accept\n"
                  "        oifname \"%s\" accept\n", table, table, table, tun);
    if (ok && endpoint_text(endpoint, &family, addr, sizeof(addr), &port))
        ok = text_append(out, out_len, &n, "        %s daddr %s udp dport %u accept\n",
                 family == AF_INET ? "ip" : "ip6", addr, port);
    if (ok && allow_dns)
        ok = text_append(out, out_len, &n,
                         "        meta l4proto { tcp, udp } th dport 53 accept\n");
    if (ok)
        ok = text_append(out, out_len, &n, "        counter drop\n    }\n}\n");
    return ok ? n : 0;
}

size_t ks_iptables_text(const char *tun, int family, const struct sockaddr *endpoint,
                        bool allow_dns, char *out, size_t out_len)
{
    char chain[IFNAMSIZ + 8], addr[INET6_ADDRSTRLEN];
    unsigned port = 0;
    int ep_family = 0;
    size_t n = 0;
    chain_name(tun, chain, sizeof(chain));
    /* ":chain" with --noflush empties the chain if it exists: the rules below replace its
     * rules in one commit. */
    bool ok = text_append(out, out_len, &n, "*filter\n:%s - [0:0]\n-A %s -o lo -j ACCEPT\n"
                  "-A %s -o %s -j ACCEPT\n", chain, chain, chain, tun);
    if (ok && endpoint_text(endpoint, &ep_family, addr, sizeof(addr), &port) &&
        ep_family == family)
        ok = text_append(out, out_len, &n, "-A %s -d %s -p udp --dport %u -j ACCEPT\n", chain,
                         addr, port);
    if (ok && allow_dns)
        ok = text_append(out, out_len, &n, "-A %s -p udp --dport 53 -j ACCEPT\n"
                 "-A %s -p tcp --dport 53 -j ACCEPT\n", chain, chain);
    if (ok)
        ok = text_append(out, out_len, &n, "-A %s -j DROP\nCOMMIT\n", chain);
    return ok ? n : 0;
}

static bool have_nft(void)
{
    char path[PATH_MAX];
    return run_find("nft", path, sizeof(path)) == 0;
}

/* iptables or ip6tables: the chain's rules, then the jump from OUTPUT (first), if missing. */
static int arm_iptables(const char *tun, int family, const struct sockaddr *endpoint,
                        bool allow_dns, char *why, size_t why_len)
{
    static char text[RULES_MAX];
    char chain[IFNAMSIZ + 8];
    chain_name(tun, chain, sizeof(chain));
    const char *restore = family == AF_INET ? "iptables-restore" : "ip6tables-restore";
    const char *tool = family == AF_INET ? "iptables" : "ip6tables";
    char *const load[] = { (char *)restore, "--noflush", NULL };
    char *const check[] = { (char *)tool, "-w", "-C", "OUTPUT", "-j", chain, NULL };
    char *const insert[] = { (char *)tool, "-w", "-I", "OUTPUT", "1", "-j", chain, NULL };
    if (!ks_iptables_text(tun, family, endpoint, allow_dns, text, sizeof(text)) ||
        run_cmd_input(load, text, why, why_len) != 0)
        return -1;
    char ignored[256];
    if (run_cmd(check, ignored, sizeof(ignored)) == 0)
        return 0;
    return run_cmd(insert, why, why_len) == 0 ? 0 : -1;
}

/* Removes chain and jump of one family; returns whether there was a chain. */
static bool disarm_iptables(const char *tun, int family)
{
    char chain[IFNAMSIZ + 8], why[256];
    chain_name(tun, chain, sizeof(chain));
    const char *tool = family == AF_INET ? "iptables" : "ip6tables";
    char *const unjump[] = { (char *)tool, "-w", "-D", "OUTPUT", "-j", chain, NULL };
    char *const flush[] = { (char *)tool, "-w", "-F", chain, NULL };
    char *const del[] = { (char *)tool, "-w", "-X", chain, NULL };
    for (int i = 0; i < 8 && run_cmd(unjump, why, sizeof(why)) == 0; i++)
        ;
    bool had = run_cmd(flush, why, sizeof(why)) == 0;
    run_cmd(del, why, sizeof(why));
    return had;
}

int ks_arm(struct killswitch *k, const struct sockaddr *endpoint, bool allow_dns, char *why,
           size_t why_len)
{
    static char text[RULES_MAX];
    if (k->armed == KS_NFT || (k->armed == KS_NONE && have_nft())) {
        char *const argv[] = { "nft", "-f", "-", NULL };
        if (!ks_nft_text(k->tun, endpoint, allow_dns, text, sizeof(text))) {
            snprintf(why, why_len, "kill switch rules too long");
            return -1;
        }
        if (run_cmd_input(argv, text, why, why_len) != 0)
            return -1;
        k->armed = KS_NFT;
        return 0;
    }
    /* IPv6 first: when IPv4's half fails, nothing of the new set is half in place but a
     * stricter IPv6 one. */
    if (arm_iptables(k->tun, AF_INET6, endpoint, allow_dns, why, why_len) != 0 ||
        arm_iptables(k->tun, AF_INET, endpoint, allow_dns, why, why_len) != 0)
        return -1;
    k->armed = KS_IPTABLES;
    return 0;
}

static bool disarm_nft(const char *tun)
{
    char table[IFNAMSIZ + 8], why[256];
    table_name(tun, table, sizeof(table));
    char *const argv[] = { "nft", "delete", "table", "inet", table, NULL };
    return have_nft() && run_cmd(argv, why, sizeof(why)) == 0;
}

void ks_disarm(struct killswitch *k)
{
    if (k->armed == KS_NFT)
        disarm_nft(k->tun);
    else if (k->armed == KS_IPTABLES) {
        disarm_iptables(k->tun, AF_INET);
        disarm_iptables(k->tun, AF_INET6);
    }
    k->armed = KS_NONE;
}

int ks_reset(struct killswitch *k)
{
    bool had = disarm_nft(k->tun);
    had |= disarm_iptables(k->tun, AF_INET);
    had |= disarm_iptables(k->tun, AF_INET6);
    k->armed = KS_NONE;
    return had;
}
