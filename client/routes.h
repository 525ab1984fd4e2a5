/* The client's routes on the machine: the pushed routes and the exception that keeps the
 * tunnel's own UDP out of them. Used by the privileged helper only (helper.h); every change
 * goes through `ip -batch -` (core/lib/run.c), one program per step.
 *
 * Where the routes go. Every pushed route lands in a routing table of the client's own,
 * [network] route_table (T, default 51830), which two rules consult just before the main
 * table:
 *
 *     32761: lookup main suppress_prefixlength 0    the machine's own routes win, but not its
 *                                                   default route: the LAN, link routes, a
 *                                                   server on the same subnet stay as they are
 *     32762: lookup T                               the pushed routes, 0.0.0.0/0 included
 *     32766: lookup main                            (the kernel's, as always)
 *
 * and T holds `throw SERVER/32`: a lookup of the server's own address leaves T and goes on to
 * the main table, so the tunnel's datagrams take whatever path the machine would use without
 * the VPN. Nothing has to follow the underlay by hand: a new DHCP lease, another Wi-Fi, a
 * cable plugged in change the main table, and the kernel routes the server's address by it at
 * once. Only a new address of the server (its name resolved again) changes the throw route.
 *
 * Why not a host route to the server via the original gateway (OpenVPN's way, and what this
 * client's route_add_host_via was once written for): it is stale the moment the gateway
 * changes, and finding the gateway again means asking for the route the machine would take
 * without ours, which a full tunnel has just replaced. Why not wg-quick's fwmark rule: the
 * UDP socket would need SO_MARK (set again from inside the sandbox on every new socket), and
 * with strict rp_filter the server's answers are dropped unless src_valid_mark is switched on
 * for the whole system. The price of the main-table rule, the same as wg-quick's: a route of
 * the machine's own that is not its default wins over a pushed one (a local 10.0.0.0/8 keeps
 * 10.5.0.0/16 out of the tunnel).
 *
 * Crash safety: T, its rule (tagged protocol 86) and the main-table rule (protocol 86 too,
 * shared by every client on the machine: the kernel refuses a second identical rule) are all
 * there is; routes_reset at start removes what a client killed with -9 left. The shared rule
 * goes when the last rule of protocol 86 that looks up another table is gone. Routes through
 * the TUN go with the device when it closes; the throw route does not, which is why T is
 * flushed.
 *
 * Not thread-safe; the helper's one thread owns a struct routes. */
#ifndef CLIENT_ROUTES_H
#define CLIENT_ROUTES_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"
#include "vpn/netaddr.h"

enum route_rules {
    ROUTE_PREF_MAIN = 32761,    /* lookup main suppress_prefixlength 0 */
    ROUTE_PREF_TABLE = 32762,   /* lookup T */
    ROUTE_PROTO = 86,           /* marks our rules (ip rule ... protocol 86) */
    /* the most networks one apply installs: pushed routes, or their parts (push_policy.h) */
    ROUTES_MAX = 2 * MAX_ROUTES,
};

struct routes {
    char tun[IFNAMSIZ];
    uint32_t table;
    bool have_throw;            /* throw_addr/32 is in T */
    uint32_t throw_addr;
    struct ipv4_net cur[ROUTES_MAX];    /* in T through the TUN */
    int n_cur;
    bool rules_on;
};

void routes_init(struct routes *r, const char *tun, uint32_t table);

/* Removes what a previous client of this table left (T flushed, its rule, the shared rule
 * when no other client needs it). Returns how many leftovers there were (rules and routes;
 * 0: a clean machine). */
int routes_reset(struct routes *r);

/* The server's underlay address: v4 true with addr (host order) for IPv4, false for an
 * IPv6 server (no IPv4 route can capture it; the throw route goes). Returns 0, or -1 with
 * why (the first line of ip's error). */
int routes_set_endpoint(struct routes *r, bool v4, uint32_t addr, char *why, size_t why_len);

/* Makes T hold exactly nets through the TUN (n 0..ROUTES_MAX), the rules present while it
 * holds any. Routes are replaced before the stale ones go, so a route that stays never
 * blinks. Returns 0, or -1 with why. */
int routes_apply(struct routes *r, const struct ipv4_net *nets, int n, char *why,
                 size_t why_len);

/* Everything gone: the rules first (traffic leaves T at once), then T. */
void routes_clear(struct routes *r);

/* The `ip -batch` text of routes_apply (pure: for the tests and the function above). Returns
 * its length, or 0 when it does not fit out. */
size_t routes_apply_text(const struct routes *r, const struct ipv4_net *nets, int n, char *out,
                         size_t out_len);

/* true when `ip -4 rule show` text (rules) has a rule of ROUTE_PROTO that looks up a table
 * other than main: some client still needs the shared main-table rule. */
bool routes_rules_need_main(const char *rules);

#endif
