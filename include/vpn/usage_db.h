/* The usage database (issue 14): per-user byte totals per day and a history of sessions, in
 * an embedded SQLite file (WAL mode), written by the server's control thread and read by
 * vpnctl. Nothing here is on a packet's path.
 *
 *   daily(user, day, rx, tx)            day "YYYY-MM-DD" (UTC); rx from the client, tx to it
 *   sessions(id, user, vpn_ip, endpoint, start, end, rx, tx, reason, updated)
 *                                       times in Unix seconds; end NULL while it lasts
 *
 * A session's row is written when it starts and brought up to date at every flush, so a
 * crash loses at most one flush interval; at the next start the rows a crash left open are
 * closed with their last update as the end ("server stopped"). */
#ifndef VPN_USAGE_DB_H
#define VPN_USAGE_DB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct usage_db;

/* Opens (creating it and its tables if needed) or, read_only, opens an existing database.
 * NULL with a one-line reason in why. */
struct usage_db *usage_db_open(const char *path, bool read_only, char *why, size_t why_len);
void usage_db_close(struct usage_db *db);

/* Every write below is one transaction; each returns 0 or -1 (logged once by the caller). */
int usage_db_begin(struct usage_db *db);
int usage_db_commit(struct usage_db *db);

/* Adds bytes to user's total of the day containing unix time t. */
int usage_db_add(struct usage_db *db, const char *user, int64_t t, uint64_t rx, uint64_t tx);
/* A session's row: started now; returns its id (> 0) or -1. */
int64_t usage_db_session_start(struct usage_db *db, const char *user, const char *vpn_ip,
                               const char *endpoint, int64_t start);
/* Its totals so far (and the endpoint, which may roam); ended: also its end and reason. */
int usage_db_session_update(struct usage_db *db, int64_t id, const char *endpoint, uint64_t rx,
                            uint64_t tx, int64_t now, const char *end_reason);
/* Closes the rows a previous run left open; returns how many, or -1. */
int usage_db_close_dangling(struct usage_db *db);
/* Removes days and ended sessions older than keep_days before now. */
int usage_db_prune(struct usage_db *db, int64_t now, int keep_days);

/* rx + tx of user from day `since` ("YYYY-MM-DD") on; -1 on error. */
int64_t usage_db_user_total(struct usage_db *db, const char *user, const char *since);

/* One row of a report (usage_db_each_day / usage_db_each_session). */
struct usage_row {
    const char *user, *day;                     /* day rows */
    const char *vpn_ip, *endpoint, *reason;     /* session rows; reason NULL while it lasts */
    int64_t start, end;                         /* session rows; end 0 while it lasts */
    uint64_t rx, tx;
};
typedef void (*usage_row_fn)(const struct usage_row *row, void *ctx);

/* Day totals from `since` on (NULL: all), of user (NULL: everyone), by user then day. */
int usage_db_each_day(struct usage_db *db, const char *user, const char *since, usage_row_fn fn,
                      void *ctx);
/* Sessions started from unix time since on, of user (NULL: everyone), newest first, at most
 * limit (0: all). */
int usage_db_each_session(struct usage_db *db, const char *user, int64_t since, int limit,
                          usage_row_fn fn, void *ctx);

/* "YYYY-MM-DD" of unix time t, UTC. */
void usage_day(int64_t t, char out[11]);

#endif
