/* Per-user traffic since the server started, for the status and so for Prometheus
 * (tools/metrics): a session's counters vanish with it (every rekey_interval, at an idle
 * timeout, a reconnect), so the bytes of ended sessions are added here when they end, and a
 * user's totals (these plus the live sessions') only grow while the server runs, as a
 * Prometheus counter must. Not persistent: a restart starts them at zero (a counter reset,
 * which Prometheus handles); lasting usage is the usage database's job.
 *
 * Control thread only: it makes and ends sessions and serves the status. Nothing on the
 * packet path: the data threads' counters are read once, when a session ends (packets still
 * in flight to an ended session in its RCU grace period are not counted). */
#ifndef SERVER_USER_TOTALS_H
#define SERVER_USER_TOTALS_H

#include <stdint.h>
#include <stdio.h>

#include "vpn/limits.h"
#include "vpn/server_config.h"

struct control;
struct session;

/* Users seen since the start (open addressing, so twice the users file's limit: removed
 * users keep their entry until a restart). A user beyond that is not tracked (logged once). */
enum { USER_TOTALS_SLOTS = 2 * MAX_USERS };

struct user_total {
    char user[USERNAME_MAX + 1];    /* "" = free slot */
    char cls[NAME_MAX_LEN];         /* the class of its latest session (qos_class_name_for) */
    uint64_t rx_bytes, rx_packets;  /* of its ended sessions: from the client (upload) */
    uint64_t tx_bytes, tx_packets;  /* to the client (download) */
    uint64_t upload_drops;          /* dropped by its upload policer */
    uint64_t handshakes;            /* sessions made: connects, reconnects and rekeys */
};

struct user_totals {
    struct user_total slot[USER_TOTALS_SLOTS];
    int used;
};

/* A session was made: counts its handshake and notes the user's class. */
void user_totals_session_made(struct user_totals *t, const struct session *s, const char *cls);
/* A session ends: its counters join its user's totals. */
void user_totals_session_ended(struct user_totals *t, const struct session *s);

/* Writes "users":[{...}] to out: every user seen since the start, with its totals (ended plus
 * live sessions), its live sessions ("sessions": current ones; "devices": distinct endpoints
 * of its current and retiring sessions), their current rates and its class. */
void user_totals_write_json(const struct user_totals *t, const struct control *c, FILE *out);

#endif
