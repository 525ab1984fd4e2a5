/* The kill switch ([network] kill_switch = true; README "Full tunnel and DNS"): while the
 * client runs, the machine sends nothing but through the TUN, to loopback, and UDP to the
 * server's address and port. Used by the privileged helper only (helper.h).
 *
 * nftables where the nft program is there: a table of our own, `inet vpnse_TUN`, with one
 * output chain (policy drop) of those few accepts; every change replaces the whole table in
 * one transaction (nft -f), so there is never a moment without it. Else iptables and
 * ip6tables: a chain `vpnse-TUN` in the filter table, jumped to first from OUTPUT, filled in
 * one iptables-restore --noflush transaction per change.
 *
 * What it covers and what not, on purpose: the output hook, so the machine's own packets
 * (answers to connections from the LAN too) and nothing it forwards (containers, a router's
 * clients: their traffic takes the routes, not this filter). IPv6 is dropped whole (the
 * tunnel carries IPv4) but to an IPv6 server. ARP and DHCP (packet sockets) are below the
 * filter and keep working. While the server's name is being looked up (at start before
 * anything else, and on a reconnect) DNS queries (UDP and TCP port 53, any address) pass as
 * well, for as long as the lookup runs: without that a lookup could never succeed. Give the
 * server's address instead of a name and nothing but the tunnel ever passes.
 *
 * Armed by the helper before the client sends anything and kept through reconnects; removed
 * at a clean exit. A client killed with -9 leaves it armed (fail closed: nothing leaks while
 * nobody is there to watch) until the next start takes it down (ks_reset) and arms its own.
 *
 * Not thread-safe; the helper's one thread owns a struct killswitch. */
#ifndef CLIENT_KILLSWITCH_H
#define CLIENT_KILLSWITCH_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum ks_backend { KS_NONE, KS_NFT, KS_IPTABLES };

struct killswitch {
    char tun[IFNAMSIZ];
    enum ks_backend armed;      /* KS_NONE: not armed */
};

void ks_init(struct killswitch *k, const char *tun);

/* Arms the switch, or replaces its rules: endpoint (AF_INET or AF_INET6, NULL: not known yet)
 * is the one address (UDP, its port) let out besides the TUN and loopback; allow_dns lets DNS
 * queries out too, during a lookup. Returns 0, or -1 with why (then the rules before, if
 * any, still hold). */
int ks_arm(struct killswitch *k, const struct sockaddr *endpoint, bool allow_dns, char *why,
           size_t why_len);

/* Removes the switch (nothing when not armed). */
void ks_disarm(struct killswitch *k);

/* At start: removes a switch a client of this TUN left, of either kind. Returns 1 when there
 * was one. */
int ks_reset(struct killswitch *k);

/* The rule sets (pure, for the tests and the functions above). Return the length, 0 when it
 * does not fit. The iptables one is for iptables-restore --noflush, of family AF_INET
 * (iptables) or AF_INET6 (ip6tables); the endpoint appears only in its own family's set. */
size_t ks_nft_text(const char *tun, const struct sockaddr *endpoint, bool allow_dns, char *out,
                   size_t out_len);
size_t ks_iptables_text(const char *tun, int family, const struct sockaddr *endpoint,
                        bool allow_dns, char *out, size_t out_len);

#endif
