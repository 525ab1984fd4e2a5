/* The main process's view of sessions: no keys, only what routing and accounting need.
 *
 * Two liburcu RCU hash tables (QSBR flavour) index the sessions:
 *   by_id  session id -> session   (RX thread: which worker decrypts; TX thread: accounting)
 *   by_ip  tunnel address -> the current session of that address (TUN thread)
 * A session in its rekey overlap stays in by_id only. The control thread alone adds and
 * removes sessions (and frees them with call_rcu); the data threads only look up, inside
 * their read-side sections, and write the fields marked with their name below. */
#ifndef SERVER_SESSIONS_H
#define SERVER_SESSIONS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "vpn/limits.h"
#include "upload_policy.h"
#include "vpn/qos.h"

struct session {
    uint32_t id;
    uint32_t vpn_ip;                /* host order */
    int worker;                     /* enclave worker that owns the keys: (id & slots) % N */
    char username[USERNAME_MAX + 1];
    uint8_t device[DEVICE_ID_LEN];  /* the user's device (extension 5; zero: the implicit one) */
    bool wireguard;                 /* a WireGuard peer's: its datagrams use the WireGuard port */
    uint64_t created_ms;            /* monotonic */
    uint64_t retire_at_ms;          /* control: 0, or when the rekey overlap ends */

    /* endpoint: written by the TX thread (roaming), read by others under a seqcount */
    uint32_t endpoint_seq;
    struct sockaddr_in6 endpoint;

    /* TX thread */
    uint64_t last_rx_ms;            /* last authenticated packet (monotonic), read by control */
    uint64_t rx_bytes, rx_packets;
    uint64_t upload_drops;
    struct qos_bucket *upload;      /* its user's bucket, the default class's shared one, or
                                       NULL (not policed): the server's (server.h) */
    struct qos_share upload_share;  /* its fair share of that bucket (TX role) */
    uint32_t policy_seen;           /* the last policy seq applied */
    /* control -> TX thread: the upload policer this session should use */
    struct upload_policy_box policy;
    /* TUN thread */
    uint64_t tx_bytes, tx_packets;

    /* control thread: usage (usage.h): the row of its history, the bytes written so far, the
     * index of its user in cfg->users (-1: not in the classes file) */
    int64_t usage_id;               /* 0: none (or handed to the session that rekeyed it) */
    uint64_t usage_rx, usage_tx;
    uint64_t usage_row_rx, usage_row_tx;    /* the row's bytes before this session (rekeys) */
    int usage_user;

    /* control thread: WireGuard's passive keepalive (control_sessions.c): rx_packets and
     * tx_packets at the last sweep, and 0 or when a keepalive is owed */
    uint64_t ka_rx_seen, ka_tx_seen, ka_due_ms;

    /* control thread: rates over the last sweep interval, for the status tool */
    uint64_t rate_rx_bytes, rate_tx_bytes, rate_at_ms;
    uint64_t rx_bps, tx_bps;

    struct cds_lfht_node by_id_node;
    struct cds_lfht_node by_ip_node;
    bool in_by_ip;                  /* control */
    struct rcu_head rcu;
};

struct session_tables {
    struct cds_lfht *by_id;
    struct cds_lfht *by_ip;
};

/* Returns 0 or -ENOMEM. */
int sessions_init(struct session_tables *t);
void sessions_uninit(struct session_tables *t);

/* Lookups: call inside rcu_read_lock(); the result is valid until the thread's next quiescent
 * state. NULL when absent. */
struct session *sessions_find_id(struct session_tables *t, uint32_t id);
struct session *sessions_find_ip(struct session_tables *t, uint32_t vpn_ip);

/* Control thread only. add: into by_id, and into by_ip replacing that address's current
 * session (which stays reachable by id). */
void sessions_add(struct session_tables *t, struct session *s);
/* Takes s out of by_ip only (rekey overlap). */
void sessions_unroute(struct session_tables *t, struct session *s);
/* Takes s out of both tables and frees it after a grace period. */
void sessions_remove(struct session_tables *t, struct session *s);

/* Seqcount-protected endpoint access. */
void session_get_endpoint(const struct session *s, struct sockaddr_in6 *out);
void session_set_endpoint(struct session *s, const struct sockaddr_in6 *ep);

#endif
