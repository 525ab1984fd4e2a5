/* vpn-metrics' HTTP side (libmicrohttpd): read-only, GET and HEAD only.
 *
 *   /metrics       Prometheus text of the server's status (metrics_format.h); vpn_up 0 when
 *                  the server does not answer
 *   /api/status    the server's "show json" reply as it is (503 and {"error":...} without it)
 *   /api/usage     its "usage json" reply: 30 days of usage and quotas per user (503 and
 *                  {"error":"usage not available..."} from a server that does not know it)
 *   /              the status page (index.html and its files, www.h)
 *
 * Every request asks the control socket anew (one request, under 5 s: unix_request); nothing
 * is cached, so what is served is the server's state of that moment. One thread serves every
 * connection in turn (MHD_USE_INTERNAL_POLLING_THREAD): no shared state, no locks.
 *
 * A request whose Host header names anything but an address or localhost is refused
 * (host_guard.h). */
#ifndef METRICS_HTTP_H
#define METRICS_HTTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Daemon;

/* Serves on addr (IPv4 as v4-mapped, then bound as IPv4) from the control socket at
 * control_socket, which must outlive the server. NULL with a reason in why. */
struct MHD_Daemon *metrics_http_start(const struct sockaddr_in6 *addr,
                                      const char *control_socket, char *why, size_t why_len);
void metrics_http_stop(struct MHD_Daemon *d);

#endif
