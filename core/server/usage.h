/* Usage that lasts, quotas and expiry (issue 14), kept by the control thread off the packet
 * path: every session's bytes go into the usage database (vpn/usage_db.h) every
 * [usage] flush_interval seconds and when it ends; each user's use of its quota period is
 * known at every sweep from what was flushed plus the live counters. At the quota a user is
 * moved to its over_quota_class (upload policer and download tc class), or refused and its
 * sessions ended when it has none; an expired user is refused and its sessions ended.
 * Refusals carry their reason (extension 6). */
#ifndef SERVER_USAGE_H
#define SERVER_USAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vpn/server_config.h"

struct control;
struct session;
struct usage_db;

enum usage_state { USAGE_OK, USAGE_OVER_QUOTA, USAGE_EXPIRED };

/* One user of the classes file (cfg->users, same index). */
struct usage_user {
    char period_start[11];      /* the quota period these figures are of, "" before any */
    int64_t flushed;            /* bytes of the period in the database */
    uint64_t live;              /* bytes of the period not flushed yet (the last sweep's) */
    enum usage_state state;
    bool throttled;             /* moved to its over_quota_class */
};

struct usage {
    struct usage_db *db;        /* NULL: no usage kept, no quota enforced */
    uint64_t next_flush_ms, next_prune_ms;
    bool failing;               /* the last write failed (logged once) */
    struct usage_user users[QOS_USER_MAX];
};

/* At start-up, as root, before the privileges are dropped (the database's directory may need
 * creating): opens the database, closes the sessions a crash left open, prunes. An empty
 * [usage] database keeps no usage. Returns 0, or -1 with a reason. */
int usage_open(struct usage *u, const struct server_config *cfg, char *why, size_t why_len);
void usage_close(struct usage *u);

/* Control thread. */
/* s is new; old, when not NULL, is the session of the same client it replaces (a rekey):
 * the history row goes on. */
void usage_session_started(struct control *c, struct session *s, struct session *old);
void usage_session_ended(struct control *c, struct session *s, const char *why);
/* Every sweep: flushes when due, evaluates quotas and expiry and acts on them. */
void usage_tick(struct control *c, uint64_t now_ms);
/* After a reload (the users and their indexes may have changed, tc was rebuilt). */
void usage_config_changed(struct control *c);
/* The answer to a handshake of user: 0 to go on, or the OP_ACCEPT aux of its refusal. */
uint16_t usage_admission(struct control *c, const char *user);
/* The class user's sessions are policed with while over quota, or -1. */
int usage_class_override(const struct control *c, const char *user);
/* The "usage json" reply (docs: README, Monitoring): days back from today. */
void usage_write_json(const struct control *c, FILE *out, int days);

#endif
