/* Usage, quotas and expiry (usage.h). The control thread owns all of it; the data threads'
 * counters are only read (counter.h: whole, never torn). */
#include "usage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "control.h"
#include "server.h"
#include "vpn/json.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/units.h"
#include "vpn/usage_db.h"

enum { PRUNE_EVERY_MS = 6 * 3600 * 1000 };

static int64_t wall_s(void)
{
    return (int64_t)time(NULL);
}

int usage_open(struct usage *u, const struct server_config *cfg, char *why, size_t why_len)
{
    memset(u, 0, sizeof(*u));
    if (!cfg->usage_db[0])
        return 0;
    /* Its directory, if missing (one level, like /var/lib/vpnse): root's, 0700. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", cfg->usage_db);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(why, why_len, "cannot create %s for [usage] database: %s", dir,
                     strerror(errno));
            return -1;
        }
    }
    /* Opened as root and kept open: the main process keeps the handle after it drops to its
     * user, and no other user can read the file (0600 by the umask below). */
    mode_t old = umask(077);
    u->db = usage_db_open(cfg->usage_db, false, why, why_len);
    umask(old);
    if (!u->db)
        return -1;
    int closed = usage_db_close_dangling(u->db);
    if (closed > 0)
        log_info("Usage: %d session(s) left open by the previous run closed", closed);
    usage_db_prune(u->db, wall_s(), (int)cfg->usage_keep_days);
    return 0;
}

void usage_close(struct usage *u)
{
    usage_db_close(u->db);
    u->db = NULL;
}

static void note_failure(struct usage *u, bool failed, const char *what)
{
    if (failed && !u->failing)
        log_error("Usage database: %s failed; usage is kept in memory and written at the next "
                  "flush", what);
    else if (!failed && u->failing)
        log_info("Usage database: writing again");
    u->failing = failed;
}

static int user_index(const struct server_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_users; i++)
        if (strcmp(cfg->users[i].name, name) == 0)
            return i;
    return -1;
}

/* The quota that applies to user i: its own, else its class's. */
static bool quota_of(const struct server_config *cfg, int i, uint64_t *bytes, int *period,
                     int *over_class)
{
    const struct qos_user *q = &cfg->users[i];
    const struct qos_class *k = q->class_index >= 0 ? &cfg->classes[q->class_index] : NULL;
    *over_class = q->over_quota_class >= 0 ? q->over_quota_class
                                           : k ? k->over_quota_class : -1;
    if (q->quota_period != QUOTA_NONE) {
        *bytes = q->quota_bytes;
        *period = q->quota_period;
        return true;
    }
    if (k && k->quota_period != QUOTA_NONE) {
        *bytes = k->quota_bytes;
        *period = k->quota_period;
        return true;
    }
    return false;
}

/* The first day of the quota period holding unix time t ("YYYY-MM-DD", UTC; weeks start on
 * Monday). */
static void period_start(int period, int64_t t, char out[11])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (period == QUOTA_WEEK) {
        usage_day(t - (int64_t)((tm.tm_wday + 6) % 7) * 86400, out);
    } else if (period == QUOTA_MONTH) {
        tm.tm_mday = 1;
        strftime(out, 11, "%Y-%m-%d", &tm);
    } else {
        usage_day(t, out);
    }
}

/* Bytes of the session not in the database yet. */
static uint64_t unflushed(const struct session *s)
{
    return counter_read(&s->rx_bytes) - s->usage_rx + counter_read(&s->tx_bytes) - s->usage_tx;
}

void usage_session_started(struct control *c, struct session *s, struct session *old)
{
    s->usage_user = user_index(c->cfg, s->username);
    if (!c->usage || !c->usage->db)
        return;
    if (old && old->usage_id > 0) {
        /* A rekey: the same connection goes on in the same history row. */
        s->usage_id = old->usage_id;
        s->usage_row_rx = old->usage_row_rx + counter_read(&old->rx_bytes);
        s->usage_row_tx = old->usage_row_tx + counter_read(&old->tx_bytes);
        old->usage_id = 0;
        return;
    }
    char ip[16], ep[64];
    struct sockaddr_in6 e;
    session_get_endpoint(s, &e);
    format_endpoint(&e, ep, sizeof(ep));
    s->usage_id = usage_db_session_start(c->usage->db, s->username, format_ipv4(s->vpn_ip, ip), ep,
                                         wall_s());
    note_failure(c->usage, s->usage_id < 0, "recording a session's start");
}

/* Writes what s carried since the last write (and its end, when why). */
static bool flush_session(struct usage *u, struct session *s, int64_t now, const char *why,
                          uint64_t *rx, uint64_t *tx)
{
    *rx = counter_read(&s->rx_bytes);
    *tx = counter_read(&s->tx_bytes);
    char ep[64];
    struct sockaddr_in6 e;
    session_get_endpoint(s, &e);
    format_endpoint(&e, ep, sizeof(ep));
    bool ok = true;
    if (*rx != s->usage_rx || *tx != s->usage_tx)
        ok = usage_db_add(u->db, s->username, now, *rx - s->usage_rx, *tx - s->usage_tx) == 0;
    if (ok && s->usage_id > 0)
        ok = usage_db_session_update(u->db, s->usage_id, ep, s->usage_row_rx + *rx,
                                     s->usage_row_tx + *tx, now, why) == 0;
    return ok;
}

/* The bytes just written count in the user's period, as flushed. */
static void flushed_into_period(struct usage *u, const struct session *s, uint64_t rx,
                                uint64_t tx)
{
    if (s->usage_user >= 0 && u->users[s->usage_user].period_start[0])
        u->users[s->usage_user].flushed += (int64_t)(rx - s->usage_rx + tx - s->usage_tx);
}

void usage_session_ended(struct control *c, struct session *s, const char *why)
{
    struct usage *u = c->usage;
    uint64_t rx, tx;
    if (!u || !u->db)
        return;
    bool ok = usage_db_begin(u->db) == 0 && flush_session(u, s, wall_s(), why, &rx, &tx);
    ok = usage_db_commit(u->db) == 0 && ok;
    if (ok)
        flushed_into_period(u, s, rx, tx);
    note_failure(u, !ok, "recording a session's end");
}

static void flush_all(struct control *c, int64_t now)
{
    struct usage *u = c->usage;
    uint64_t rx[c->n_all > 0 ? c->n_all : 1], tx[c->n_all > 0 ? c->n_all : 1];
    bool ok = usage_db_begin(u->db) == 0;
    for (int i = 0; ok && i < c->n_all; i++)
        ok = flush_session(u, c->all[i], now, NULL, &rx[i], &tx[i]);
    ok = usage_db_commit(u->db) == 0 && ok;
    if (ok)
        for (int i = 0; i < c->n_all; i++) {
            struct session *s = c->all[i];
            flushed_into_period(u, s, rx[i], tx[i]);
            s->usage_rx = rx[i];
            s->usage_tx = tx[i];
        }
    note_failure(u, !ok, "writing the usage");
}

/* Ends every session of user (a DISCONNECT to each client). */
static void end_sessions_of(struct control *c, const char *user, const char *why)
{
    for (int i = c->n_all - 1; i >= 0; i--)
        if (strcmp(c->all[i]->username, user) == 0)
            control_disconnect_session(c, c->all[i], why);
}

/* Moves user i's sessions to class (or back to its own, class -1). */
static void set_throttle(struct control *c, int i, int class_index)
{
    struct usage_user *uu = &c->usage->users[i];
    const struct server_config *cfg = c->cfg;
    uu->throttled = class_index >= 0;
    for (int k = 0; k < c->n_all; k++)
        if (c->all[k]->usage_user == i)
            control_choose_policy(c, c->all[k]);
    char why[256];
    int to = class_index >= 0 ? class_index : cfg->users[i].class_index;
    if (c->srv->qos_active && to >= 0 &&
        qos_user_set_class(cfg, c->srv->tun_name, i, to, why, sizeof(why)) != 0)
        log_warn("Usage: cannot move %s's download class: %s", cfg->users[i].name, why);
}

/* Where user i stands now; loads the period's figure from the database when it changed. */
static enum usage_state evaluate(struct control *c, int i, int64_t now, int *over_class)
{
    const struct server_config *cfg = c->cfg;
    struct usage_user *uu = &c->usage->users[i];
    uint64_t quota;
    int period;
    *over_class = -1;
    if (cfg->users[i].expires_at && now >= cfg->users[i].expires_at)
        return USAGE_EXPIRED;
    if (!quota_of(cfg, i, &quota, &period, over_class))
        return USAGE_OK;
    char start[11];
    period_start(period, now, start);
    if (strcmp(start, uu->period_start) != 0) {
        int64_t used = usage_db_user_total(c->usage->db, cfg->users[i].name, start);
        if (used < 0)
            return uu->state;   /* cannot tell now: as it was */
        memcpy(uu->period_start, start, sizeof(start));
        uu->flushed = used;
    }
    return (uint64_t)uu->flushed + uu->live >= quota ? USAGE_OVER_QUOTA : USAGE_OK;
}

static void act(struct control *c, int i, enum usage_state next, int over_class)
{
    struct usage_user *uu = &c->usage->users[i];
    const char *name = c->cfg->users[i].name;
    if (next == uu->state)
        return;
    if (uu->throttled)
        set_throttle(c, i, -1);
    uu->state = next;
    if (next == USAGE_EXPIRED) {
        log_info("User %s: the account has expired; its sessions end", name);
        end_sessions_of(c, name, "account expired");
    } else if (next == USAGE_OVER_QUOTA && over_class >= 0) {
        log_info("User %s reached its data quota: moved to class %s until the next period", name,
                 c->cfg->classes[over_class].name);
        set_throttle(c, i, over_class);
    } else if (next == USAGE_OVER_QUOTA) {
        log_info("User %s reached its data quota: its sessions end until the next period", name);
        end_sessions_of(c, name, "data quota reached");
    } else {
        log_info("User %s: within its quota again (a new period)", name);
    }
}

void usage_tick(struct control *c, uint64_t now_ms)
{
    struct usage *u = c->usage;
    if (!u || !u->db)
        return;
    int64_t now = wall_s();
    if (now_ms >= u->next_flush_ms) {
        flush_all(c, now);
        u->next_flush_ms = now_ms + (uint64_t)c->cfg->usage_flush_s * 1000;
    }
    if (now_ms >= u->next_prune_ms) {
        usage_db_prune(u->db, now, (int)c->cfg->usage_keep_days);
        u->next_prune_ms = now_ms + PRUNE_EVERY_MS;
    }
    int n = c->cfg->n_users;
    for (int i = 0; i < n; i++)
        u->users[i].live = 0;
    for (int k = 0; k < c->n_all; k++)
        if (c->all[k]->usage_user >= 0 && c->all[k]->usage_user < n)
            u->users[c->all[k]->usage_user].live += unflushed(c->all[k]);
    for (int i = 0; i < n; i++) {
        int over_class;
        enum usage_state next = evaluate(c, i, now, &over_class);
        act(c, i, next, over_class);
    }
}

void usage_config_changed(struct control *c)
{
    /* Indexes may have moved and the reload rebuilt tc from the files: start afresh; the
     * next sweep finds who is over and acts again. */
    if (c->usage)
        memset(c->usage->users, 0, sizeof(c->usage->users));
    for (int k = 0; k < c->n_all; k++)
        c->all[k]->usage_user = user_index(c->cfg, c->all[k]->username);
}

uint16_t usage_admission(struct control *c, const char *user)
{
    int i = user_index(c->cfg, user);
    if (i < 0 || !c->usage || !c->usage->db)
        return 0;
    int over_class;
    enum usage_state st = evaluate(c, i, wall_s(), &over_class);
    if (st == USAGE_EXPIRED)
        return (uint16_t)(REFUSAL_EXPIRED << 8 | STATUS_AUTH_FAILED);
    if (st == USAGE_OVER_QUOTA && over_class < 0)
        return (uint16_t)(REFUSAL_QUOTA << 8 | STATUS_AUTH_FAILED);
    return 0;
}

int usage_class_override(const struct control *c, const char *user)
{
    int i = user_index(c->cfg, user);
    if (i < 0 || !c->usage || !c->usage->users[i].throttled)
        return -1;
    uint64_t quota;
    int period, over_class;
    quota_of(c->cfg, i, &quota, &period, &over_class);
    return over_class;
}

/* ---- "usage json" ---- */

struct json_ctx {
    FILE *out;
    const struct control *c;
    int n_days;
    char today[11];
    uint64_t live_rx, live_tx;  /* the user's bytes not in the database yet: today's */
    bool today_written;
    char users[QOS_USER_MAX + MAX_CLIENTS_LIMIT][USERNAME_MAX + 1];
    int n_users;
};

static void add_name(struct json_ctx *j, const char *name)
{
    for (int i = 0; i < j->n_users; i++)
        if (strcmp(j->users[i], name) == 0)
            return;
    if (j->n_users < (int)(sizeof(j->users) / sizeof(j->users[0])))
        snprintf(j->users[j->n_users++], USERNAME_MAX + 1, "%s", name);
}

static void collect_name(const struct usage_row *r, void *ctx)
{
    add_name(ctx, r->user);
}

static void write_day_figures(struct json_ctx *j, const char *day, uint64_t rx, uint64_t tx)
{
    if (strcmp(day, j->today) == 0) {
        rx += j->live_rx;
        tx += j->live_tx;
        j->today_written = true;
    }
    fprintf(j->out, "%s{\"day\":\"%s\",\"rx_bytes\":%llu,\"tx_bytes\":%llu}",
            j->n_days++ ? "," : "", day, (unsigned long long)rx, (unsigned long long)tx);
}

static void write_day(const struct usage_row *r, void *ctx)
{
    write_day_figures(ctx, r->day, r->rx, r->tx);
}

static void write_user(struct json_ctx *j, const char *name, const char *since, int64_t now)
{
    const struct control *c = j->c;
    int i = user_index(c->cfg, name);
    const struct qos_user *q = i >= 0 ? &c->cfg->users[i] : NULL;
    static const char *const states[] = { "ok", "over_quota", "expired" };
    uint64_t quota = 0;
    int period = 0, over_class;
    bool has_quota = i >= 0 && quota_of(c->cfg, i, &quota, &period, &over_class);
    fprintf(j->out, "{\"user\":");
    json_write_string(j->out, name);
    fprintf(j->out, ",\"class\":");
    if (q && q->class_index >= 0)
        json_write_string(j->out, c->cfg->classes[q->class_index].name);
    else
        fputs("null", j->out);
    fprintf(j->out, ",\"status\":\"%s\"", i >= 0 ? states[c->usage->users[i].state] : "ok");
    if (has_quota) {
        char start[11];
        period_start(period, now, start);
        const struct usage_user *uu = &c->usage->users[i];
        int64_t used = strcmp(start, uu->period_start) == 0
                           ? uu->flushed + (int64_t)uu->live
                           : usage_db_user_total(c->usage->db, name, start);
        fprintf(j->out, ",\"quota_bytes\":%llu,\"quota_period\":\"%s\",\"period_start\":\"%s\","
                        "\"period_used_bytes\":%lld",
                (unsigned long long)quota, quota_period_name((enum quota_period)period), start,
                (long long)(used < 0 ? 0 : used));
    } else {
        fprintf(j->out, ",\"quota_bytes\":null,\"quota_period\":null,\"period_start\":null,"
                        "\"period_used_bytes\":null");
    }
    if (q && q->expires_at) {
        char day[11];
        usage_day(q->expires_at - 86400, day);
        fprintf(j->out, ",\"expires\":\"%s\"", day);
    } else {
        fprintf(j->out, ",\"expires\":null");
    }
    fprintf(j->out, ",\"days\":[");
    j->n_days = 0;
    j->live_rx = j->live_tx = 0;
    j->today_written = false;
    for (int k = 0; k < c->n_all; k++)
        if (strcmp(c->all[k]->username, name) == 0) {
            j->live_rx += counter_read(&c->all[k]->rx_bytes) - c->all[k]->usage_rx;
            j->live_tx += counter_read(&c->all[k]->tx_bytes) - c->all[k]->usage_tx;
        }
    usage_db_each_day(c->usage->db, name, since, write_day, j);
    if (!j->today_written && (j->live_rx || j->live_tx))
        write_day_figures(j, j->today, 0, 0);
    fprintf(j->out, "]}");
}

void usage_write_json(const struct control *c, FILE *out, int days)
{
    if (!c->usage || !c->usage->db) {
        fprintf(out, "{\"error\":\"no usage is kept: [usage] database is empty\"}\n");
        return;
    }
    static struct json_ctx j;
    memset(&j, 0, sizeof(j));
    j.out = out;
    j.c = c;
    int64_t now = wall_s();
    char since[11], gen[32];
    usage_day(now - (int64_t)(days - 1) * 86400, since);
    usage_day(now, j.today);
    for (int i = 0; i < c->cfg->n_users; i++)
        add_name(&j, c->cfg->users[i].name);
    for (int i = 0; i < c->n_all; i++)
        add_name(&j, c->all[i]->username);
    usage_db_each_day(c->usage->db, NULL, since, collect_name, &j);
    time_t tt = (time_t)now;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(gen, sizeof(gen), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out, "{\"generated\":\"%s\",\"days\":%d,\"users\":[", gen, days);
    for (int i = 0; i < j.n_users; i++) {
        if (i)
            fputc(',', out);
        write_user(&j, j.users[i], since, now);
    }
    fprintf(out, "]}\n");
}
