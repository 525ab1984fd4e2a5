/* How long the server takes to complete a handshake, as a histogram for the status (and so
 * for Prometheus, tools/metrics). Measured by the control thread, which completes handshakes:
 * from phase 1's result (RES_HELLO: the user is authentic) reaching it to the response being
 * sent (RES_ACCEPTED), that is the address decision, the wait in the chosen worker's in_ctl
 * ring, phase 2 in the worker (key derivation, the response) and the way back through
 * out_dec. The wait in the in_hs ring and phase 1 itself (about 34 us of X25519 and HMAC) are
 * not seen by the control thread and are not included; a handshake refused or dropped is not
 * counted (handshakes by result count those).
 *
 * Control thread only: it observes and it serves the status, so nothing here is shared. */
#ifndef SERVER_HANDSHAKE_LATENCY_H
#define SERVER_HANDSHAKE_LATENCY_H

#include <stdint.h>
#include <stdio.h>

/* Upper bounds of the buckets in microseconds (Prometheus's "le"), from a quiet server's
 * few hundred microseconds to the seconds a flood or a rekey of thousands can cost. */
#define HANDSHAKE_LATENCY_BOUNDS_US                                                           \
    { 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,    \
      2500000 }
enum { HANDSHAKE_LATENCY_BUCKETS = 13 };

struct handshake_latency {
    uint64_t in_bucket[HANDSHAKE_LATENCY_BUCKETS + 1];  /* not cumulative; the last one: above
                                                           every bound */
    uint64_t count, sum_us;
};

void handshake_latency_observe(struct handshake_latency *h, uint64_t us);

/* Writes "handshake_latency":{"le_us":[...],"cumulative":[...],"count":N,"sum_us":N} to out:
 * cumulative[i] counts the handshakes that took at most le_us[i]; count all of them. */
void handshake_latency_write_json(const struct handshake_latency *h, FILE *out);

#endif
