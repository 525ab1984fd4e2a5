/* vpn-metrics serves without a login on 127.0.0.1. A web page elsewhere could still reach
 * it through the browser by DNS rebinding: its own name made to resolve to 127.0.0.1, so that
 * the browser's same-origin rule lets the page read the answers. Such requests carry that
 * name in Host; ours carry an address or "localhost" (a reverse proxy in front passes the
 * upstream's address: README, "Monitoring"). */
#ifndef METRICS_HOST_GUARD_H
#define METRICS_HOST_GUARD_H

#include <stdbool.h>

/* true when host (a Host header's value) is an IPv4 address, a bracketed IPv6 address or
 * "localhost" (any case), each with an optional decimal port. */
bool host_guard_allows(const char *host);

#endif
