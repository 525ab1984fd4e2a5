/* The control thread's state, with one owner: the control thread, which gets it passed
 * explicitly (no file statics). It decides handshakes (address, capacity), runs the sessions'
 * life (rekey overlap, idle timeout, DISCONNECT), reloads the configuration as one swap, and
 * is the only producer of the in_ctl rings (ctl_submit). The data threads see sessions only
 * through the RCU tables (sessions.h) and the fields marked for them there.
 *
 *   control.c            the loop: signals, events from the TX thread, enclave reports, timers
 *   control_handshake.c  phase 1 and 2 decisions, pending handshakes
 *   control_sessions.c   the list of sessions, their end, the sweep, upload policies
 *   reload.c             SIGHUP: a new configuration and pool, validated, then swapped in
 *   control_socket.c     the status tool's view (reads this state, never changes it) */
#ifndef SERVER_CONTROL_H
#define SERVER_CONTROL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "ctl_submit.h"
#include "handshake_latency.h"
#include "hooks.h"
#include "pool.h"
#include "user_totals.h"
#include "service_notify.h"
#include "vpn/limits.h"
#include "vpn/qos.h"

struct server;
struct server_config;
struct session;
struct ctl_event;
struct usage;

/* Phase-2 requests in flight. Only a request that passed phase 1 (its user is in the users
 * file and knows the token) takes an entry; a device has one at most (a newer request
 * replaces it) and a user USER_DEVICES_MAX (beyond, its oldest is replaced), so that every
 * session there may be (MAX_CLIENTS_LIMIT) can rekey at the same moment while every user
 * (MAX_USERS) connects a new device: none is dropped for want of an entry. */
enum { PENDING_MAX = MAX_CLIENTS_LIMIT + MAX_USERS, PENDING_TIMEOUT_MS = 5000, SWEEP_MS = 1000 };

/* A device whose session has received nothing for this many keepalive intervals has given
 * up on it (its client starts a new handshake after three): a new device of its user may
 * take its place when the user is at max_devices. */
enum { DEVICE_GONE_KEEPALIVES = 3 };

/* When a user was last heard from, kept for users whose sessions all ended (vpnctl user
 * list), since the server started; the oldest entry goes when the table is full. */
enum { LAST_SEEN_MAX = MAX_USERS };
struct last_seen {
    char user[USERNAME_MAX + 1];
    uint64_t wall_ms;       /* realtime clock */
};

/* A phase-2 request in flight: what the decision reserved, to be kept or given back. */
struct pending {
    bool used;
    uint16_t gen;           /* with the index, the cookie that comes back with the result */
    char username[USERNAME_MAX + 1];
    uint8_t device[DEVICE_ID_LEN];
    bool wireguard;         /* a WireGuard initiation (OP_WG_ACCEPT, the WireGuard port) */
    uint32_t ip;
    bool acquired;          /* the address came from the pool for this request */
    int worker;             /* the worker its OP_ACCEPT went to (counted in worker_pending),
                               or -1 (a refusal, answered by the worker that ran phase 1) */
    uint64_t at_ms;
    uint64_t at_us;         /* when phase 1's result came (handshake_latency.h) */
};

/* Handshakes refused, by the status of the answer (enum connect_status); statuses at or above
 * the last index share it. */
enum { HANDSHAKE_STATUS_SLOTS = 16 };

struct control {
    struct server *srv;             /* sockets, tables, enclave link, data threads */
    const char *config_path;        /* server.conf, read again on SIGHUP */
    struct server_config *cfg;      /* the configuration in force; a reload replaces it whole */
    struct server_config *cfg_owned;/* heap copy made by a reload (freed when replaced) */
    struct pool pool;
    struct ctl_submit submit;
    struct pending pendings[PENDING_MAX];
    struct session **all;           /* every session: current and retiring */
    int n_all, cap_all;
    int live_sessions;              /* current ones (not retiring) */
    int worker_sessions[MAX_WORKERS];
    /* OP_ACCEPTs handed to each worker and not yet answered: "least loaded" counts them with
     * the sessions, or every accept of a burst that arrives before the first result would go
     * to the same worker (whose key slots, SESSION_SLOTS / workers, a rekey of a thousand
     * sessions would then exceed). */
    int worker_pending[MAX_WORKERS];
    /* The download filters of addresses that classed users' devices hold besides their fixed
     * ones (qos.h, qos_filters_apply), as installed; brought in line with the sessions once
     * per loop turn when filters_dirty (control_sync_filters). */
    struct qos_filter_change *dyn_filters;
    int n_dyn_filters, cap_dyn_filters;
    bool filters_dirty;
    struct last_seen seen[LAST_SEEN_MAX];
    int n_seen;
    uint64_t handshakes_ok, handshakes_refused;
    uint64_t handshakes_dropped;    /* phase 1 passed but no pending entry was free */
    uint64_t wg_keepalives_sent;    /* WireGuard's passive keepalives asked of the workers */
    uint64_t refused_by_status[HANDSHAKE_STATUS_SLOTS];
    struct handshake_latency handshake_latency;
    struct user_totals totals;      /* per user since the start, for the status */
    uint64_t reloads, reload_failures;
    struct usage *usage;            /* usage.h; NULL: none kept */
    struct hooks hooks;             /* hooks.h */
    struct service_notify notify;   /* systemd's READY, STATUS, WATCHDOG (service_notify.h) */
};

/* Returns 0 or -ENOMEM. cfg stays the caller's (main's) and must outlive the control. */
int control_init(struct control *c, struct server *srv, struct server_config *cfg,
                 const char *config_path) __attribute__((warn_unused_result));
void control_uninit(struct control *c);

/* Runs until SIGINT/SIGTERM; returns 0, or 1 when the enclave can no longer be restarted.
 * SIGHUP opens the log file anew (control_reopen_logs) and reloads (control_reload). */
int control_run(struct control *c);
/* DISCONNECT to every client (sealed by the workers), then waits briefly for the TX thread to
 * send them. */
void control_disconnect_all(struct control *c);

/* One handshake or session event from the TX thread (RES_HELLO, RES_ACCEPTED, RES_REPLY,
 * RES_DISCONNECT); the loop calls it for each it dequeues. */
void control_on_event(struct control *c, const struct ctl_event *ev);
/* The enclave's reports: a user removed from the users file, given a new token or disabled
 * (its sessions end now, why says which; the enclave has already made their keys
 * unusable); the enclave died (every key died with it: the sessions end, handshakes in
 * flight and requests not yet handed in are dropped; clients are told by SESSION_UNKNOWN and
 * handshake with the new enclave). */
void control_on_user_ended(struct control *c, const char *user, const char *why);
/* The WireGuard device DEVICE of USER has no peer any more (or a new key): its sessions end. */
void control_on_device_ended(struct control *c, const char *user, const char *device);
void control_on_enclave_lost(struct control *c);

/* control_handshake.c */
void control_on_hello(struct control *c, const struct ctl_event *ev);
void control_on_accepted(struct control *c, const struct ctl_event *ev);
void control_on_reply(struct control *c, const struct ctl_event *ev);
void control_forget_pending(struct control *c);
void control_expire_pending(struct control *c, uint64_t now_ms);

/* control_sessions.c */
/* The current (not retiring) session of username's device, or NULL. */
struct session *control_current_of(const struct control *c, const char *username,
                                   const uint8_t device[DEVICE_ID_LEN]);
/* How many devices of username have a current session. */
int control_devices_online(const struct control *c, const char *username);
/* The realtime ms username was last heard from on a session that ended, or 0. */
uint64_t control_last_seen(const struct control *c, const char *username);
struct session *control_find(const struct control *c, uint32_t id);
/* Takes s into the list and the tables; false when out of memory (s is not taken). */
bool control_add_session(struct control *c, struct session *s);
/* Ends s: gives its address back (unless it is retiring), erases its keys in the enclave when
 * erase_keys, takes it out of the tables and frees it after a grace period. */
void control_end_session(struct control *c, struct session *s, bool erase_keys, const char *why);
/* DISCONNECT sealed for s's client, then the end of s. */
void control_disconnect_session(struct control *c, struct session *s, const char *why);
/* Rekey overlaps over, idle sessions, current rates for the status tool. */
void control_sweep(struct control *c, uint64_t now_ms);
/* Publishes the upload policer s gets under the configuration in force. */
void control_choose_policy(struct control *c, struct session *s);
/* When sessions came or went (or the tree was rebuilt): adds and removes the download filters
 * of addresses classed users' devices hold besides their fixed ones, in one tc run. */
void control_sync_filters(struct control *c);

/* The log file opened anew after a rotation (SIGHUP, `vpnctl reopen-logs`); the outcome is
 * logged, naming why. Returns log_reopen's answer. */
int control_reopen_logs(const char *why);

/* control_users.c: the control socket's "reload" and "users" replies (JSON) into out. */
void control_users_reload(struct control *c, FILE *out);
void control_users_show(const struct control *c, FILE *out);

/* reload.c: SIGHUP (or vpnctl's "reload"). Returns 0, or -1 when the new files are refused
 * (one clear line logged, and copied into why unless it is NULL; nothing changed). */
int control_reload(struct control *c, char *why, size_t why_len);

#endif
