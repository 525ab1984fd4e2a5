/* Optional NAT for clients ([network] nat_interface): forwarding on, one MASQUERADE rule, and
 * the FORWARD rules the tunnel needs in a chain of our own (jumped to from the top of FORWARD,
 * so they work whatever the default policy), all undone at exit. Main thread only. */
#ifndef SERVER_NAT_H
#define SERVER_NAT_H

#include <stdbool.h>
#include <stddef.h>

struct server_config;

/* Returns 0, or -1 with iptables' reason in why (nothing of ours is left installed then). */
int nat_enable(const struct server_config *cfg, char *why, size_t why_len);
void nat_disable(const struct server_config *cfg);
bool nat_forwarding_enabled(void);
/* The name of our FORWARD chain for cfg's TUN ("vpnse-fwd-tun0"). */
void nat_chain_name(const struct server_config *cfg, char *out, size_t len);

#endif
