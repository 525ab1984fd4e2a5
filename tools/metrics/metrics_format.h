/* The server's status as Prometheus metrics: the one mapping from the control socket's
 * "show json" reply to metric families, shared by `vpnctl metrics` (node_exporter's textfile
 * collector) and vpn-metrics (/metrics), so both print the same text.
 *
 * Families (README, "Monitoring"): vpn_up, vpn_build_info, server-wide gauges and counters
 * (sessions, handshakes by result, the handshake latency histogram, drops by reason, enclave
 * and worker restarts), and per user, labelled user and class (bytes and packets each way,
 * sessions, devices, handshakes, upload QoS drops), and the download tree's drops by tc
 * class. Keys missing from the reply (an older server) leave their families empty; a value
 * that is not a non-negative integer is skipped. */
#ifndef METRICS_METRICS_FORMAT_H
#define METRICS_METRICS_FORMAT_H

#include <stddef.h>
#include <stdio.h>

/* Writes the metrics of the status reply json[0 .. len) to out. Returns 0, or -1 when the
 * reply is not a JSON object (then it writes what metrics_format_down writes). */
int metrics_format(const char *json, size_t len, FILE *out);

/* The server did not answer: vpn_up 0, nothing else. */
void metrics_format_down(FILE *out);

#endif
