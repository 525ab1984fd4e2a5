/* Optional NAT for clients ([network] nat_interface): forwarding on and one MASQUERADE rule,
 * both undone at exit. */
#ifndef SERVER_NAT_H
#define SERVER_NAT_H

#include <stdbool.h>
#include <stddef.h>

struct server_config;

int nat_enable(const struct server_config *cfg, char *why, size_t why_len);
void nat_disable(const struct server_config *cfg);
bool nat_forwarding_enabled(void);

#endif
