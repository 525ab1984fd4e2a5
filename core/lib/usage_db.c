/* The usage database (usage_db.h) on SQLite. Statements are prepared once per call: the
 * control thread writes a few rows a minute, so simplicity wins over caching them. */
#include "vpn/usage_db.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct usage_db {
    sqlite3 *h;
};

static const char SCHEMA[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS daily ("
    "  user TEXT NOT NULL, day TEXT NOT NULL,"
    "  rx INTEGER NOT NULL DEFAULT 0, tx INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (user, day));"
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  id INTEGER PRIMARY KEY, user TEXT NOT NULL, vpn_ip TEXT, endpoint TEXT,"
    "  start INTEGER NOT NULL, end INTEGER, rx INTEGER NOT NULL DEFAULT 0,"
    "  tx INTEGER NOT NULL DEFAULT 0, reason TEXT, updated INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (start);";

void usage_day(int64_t t, char out[11])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

struct usage_db *usage_db_open(const char *path, bool read_only, char *why, size_t why_len)
{
    struct usage_db *db = calloc(1, sizeof(*db));
    if (!db) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db->h, flags | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
        snprintf(why, why_len, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
        usage_db_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db->h, 2000);  /* vpnctl reading while the server writes */
    char *msg = NULL;
    if (!read_only && sqlite3_exec(db->h, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(why, why_len, "%s: %s", path, msg ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        usage_db_close(db);
        return NULL;
    }
    return db;
}

void usage_db_close(struct usage_db *db)
{
    if (!db)
        return;
    sqlite3_close(db->h);
    free(db);
}

static int exec(struct usage_db *db, const char *sql)
{
    return sqlite3_exec(db->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int usage_db_begin(struct usage_db *db)
{
    return exec(db, "BEGIN IMMEDIATE");
}

int usage_db_commit(struct usage_db *db)
{
    if (exec(db, "COMMIT") == 0)
        return 0;
    exec(db, "ROLLBACK");
    return -1;
}

/* Prepares sql; binds are the caller's. NULL on error. */
static sqlite3_stmt *prepare(struct usage_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    return sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK ? st : NULL;
}

/* Steps a statement that returns no rows, then finalizes it. */
static int run(sqlite3_stmt *st)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int usage_db_add(struct usage_db *db, const char *user, int64_t t, uint64_t rx, uint64_t tx)
{
    char day[11];
    usage_day(t, day);
    sqlite3_stmt *st = prepare(db, "INSERT INTO daily (user, day, rx, tx) VALUES (?1, ?2, ?3, ?4)"
                                   " ON CONFLICT (user, day) DO UPDATE SET"
                                   " rx = rx + excluded.rx, tx = tx + excluded.tx");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)rx);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)tx);
    return run(st);
}

int64_t usage_db_session_start(struct usage_db *db, const char *user, const char *vpn_ip,
                               const char *endpoint, int64_t start)
{
    sqlite3_stmt *st = prepare(db, "INSERT INTO sessions (user, vpn_ip, endpoint, start, updated)"
                                   " VALUES (?1, ?2, ?3, ?4, ?4)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vpn_ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, start);
    if (run(st) != 0)
        return -1;
    return sqlite3_last_insert_rowid(db->h);
}

int usage_db_session_update(struct usage_db *db, int64_t id, const char *endpoint, uint64_t rx,
                            uint64_t tx, int64_t now, const char *end_reason)
{
    sqlite3_stmt *st = prepare(db, "UPDATE sessions SET endpoint = ?2, rx = ?3, tx = ?4,"
                                   " updated = ?5, end = CASE WHEN ?6 IS NULL THEN NULL ELSE ?5 END,"
                                   " reason = ?6 WHERE id = ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)rx);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)tx);
    sqlite3_bind_int64(st, 5, now);
    if (end_reason)
        sqlite3_bind_text(st, 6, end_reason, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    return run(st);
}

int usage_db_close_dangling(struct usage_db *db)
{
    if (exec(db, "UPDATE sessions SET end = updated, reason = 'server stopped' WHERE end IS NULL"))
        return -1;
    return sqlite3_changes(db->h);
}

int usage_db_prune(struct usage_db *db, int64_t now, int keep_days)
{
    char day[11];
    int64_t cut = now - (int64_t)keep_days * 86400;
    usage_day(cut, day);
    sqlite3_stmt *st = prepare(db, "DELETE FROM daily WHERE day < ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
    if (run(st) != 0)
        return -1;
    st = prepare(db, "DELETE FROM sessions WHERE end IS NOT NULL AND end < ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, cut);
    return run(st);
}

int64_t usage_db_user_total(struct usage_db *db, const char *user, const char *since)
{
    sqlite3_stmt *st = prepare(db, "SELECT COALESCE(SUM(rx + tx), 0) FROM daily"
                                   " WHERE user = ?1 AND day >= ?2");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, since, -1, SQLITE_STATIC);
    int64_t total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return total;
}

static const char *text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

/* Steps through a query's rows, calling fn with what fill() makes of each. */
static int each(sqlite3_stmt *st, void (*fill)(sqlite3_stmt *, struct usage_row *),
                usage_row_fn fn, void *ctx)
{
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct usage_row row;
        memset(&row, 0, sizeof(row));
        fill(st, &row);
        fn(&row, ctx);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void fill_day(sqlite3_stmt *st, struct usage_row *r)
{
    r->user = text(st, 0);
    r->day = text(st, 1);
    r->rx = (uint64_t)sqlite3_column_int64(st, 2);
    r->tx = (uint64_t)sqlite3_column_int64(st, 3);
}

int usage_db_each_day(struct usage_db *db, const char *user, const char *since, usage_row_fn fn,
                      void *ctx)
{
    sqlite3_stmt *st = prepare(db, "SELECT user, day, rx, tx FROM daily"
                                   " WHERE (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR day >= ?2)"
                                   " ORDER BY user, day");
    if (st) {
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, since, -1, SQLITE_STATIC);
    }
    return each(st, fill_day, fn, ctx);
}

static void fill_session(sqlite3_stmt *st, struct usage_row *r)
{
    r->user = text(st, 0);
    r->vpn_ip = text(st, 1);
    r->endpoint = text(st, 2);
    r->start = sqlite3_column_int64(st, 3);
    r->end = sqlite3_column_int64(st, 4);
    r->rx = (uint64_t)sqlite3_column_int64(st, 5);
    r->tx = (uint64_t)sqlite3_column_int64(st, 6);
    r->reason = text(st, 7);
}

int usage_db_each_session(struct usage_db *db, const char *user, int64_t since, int limit,
                          usage_row_fn fn, void *ctx)
{
    sqlite3_stmt *st = prepare(db, "SELECT user, vpn_ip, endpoint, start, COALESCE(end, 0), rx,"
                                   " tx, reason FROM sessions"
                                   " WHERE (?1 IS NULL OR user = ?1) AND start >= ?2"
                                   " ORDER BY start DESC, id DESC LIMIT ?3");
    if (st) {
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since);
        sqlite3_bind_int(st, 3, limit > 0 ? limit : -1);
    }
    return each(st, fill_session, fn, ctx);
}
