/* What the main process keeps after set-up (REQUIREMENTS.md section 2): CAP_NET_ADMIN and
 * CAP_NET_RAW only (to remove its qdisc and NAT rule at exit), optionally as the configured
 * unprivileged user. */
#ifndef SERVER_PRIVILEGES_H
#define SERVER_PRIVILEGES_H

#include <stddef.h>

struct server_config;

/* Returns 0, or -1 with why. Must run before the data threads start (capabilities are
 * per-thread; threads created later inherit the reduced set). */
int privileges_drop(const struct server_config *cfg, char *why, size_t why_len);

#endif
