/* vpnctl usage / history (usage_report.h). */
#include "vpn/usage_report.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpn/json.h"
#include "vpn/server_config.h"
#include "vpn/units.h"
#include "vpn/usage_db.h"

#define SERVER_CONF_DEFAULT "/etc/vpnse/server.conf"

struct report {
    bool json;
    int rows;
    const char *user;
};

static int bad_usage(void)
{
    fprintf(stderr,
            "usage: vpnctl usage   [--user U] [--since YYYY-MM-DD] [--json] [-c CONF | --db FILE]\n"
            "       vpnctl history [--user U] [--since YYYY-MM-DD] [--limit N] [--json]"
            " [-c CONF | --db FILE]\n"
            "  -c CONF    the server's configuration, for its [usage] database (default %s)\n",
            SERVER_CONF_DEFAULT);
    return 2;
}

static void human(uint64_t bytes, char *out, size_t len)
{
    static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(out, len, u ? "%.2f %s" : "%.0f %s", v, units[u]);
}

static void print_day(const struct usage_row *r, void *ctx)
{
    struct report *rep = ctx;
    if (rep->json) {
        fprintf(stdout, "%s{\"user\":", rep->rows ? "," : "");
        json_write_string(stdout, r->user);
        fprintf(stdout, ",\"day\":\"%s\",\"rx_bytes\":%llu,\"tx_bytes\":%llu}", r->day,
                (unsigned long long)r->rx, (unsigned long long)r->tx);
    } else {
        char rx[32], tx[32], all[32];
        human(r->rx, rx, sizeof(rx));
        human(r->tx, tx, sizeof(tx));
        human(r->rx + r->tx, all, sizeof(all));
        printf("%-20s %s  %12s  %12s  %12s\n", r->user, r->day, rx, tx, all);
    }
    rep->rows++;
}

static void format_time(int64_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_session(const struct usage_row *r, void *ctx)
{
    struct report *rep = ctx;
    char start[32], end[32] = "", rx[32], tx[32];
    format_time(r->start, start, sizeof(start));
    if (r->end)
        format_time(r->end, end, sizeof(end));
    if (rep->json) {
        fprintf(stdout, "%s{\"user\":", rep->rows ? "," : "");
        json_write_string(stdout, r->user);
        fprintf(stdout, ",\"vpn_ip\":");
        json_write_string(stdout, r->vpn_ip ? r->vpn_ip : "");
        fprintf(stdout, ",\"endpoint\":");
        json_write_string(stdout, r->endpoint ? r->endpoint : "");
        fprintf(stdout, ",\"start\":\"%s\",\"end\":", start);
        if (r->end)
            fprintf(stdout, "\"%s\"", end);
        else
            fputs("null", stdout);
        fprintf(stdout, ",\"rx_bytes\":%llu,\"tx_bytes\":%llu,\"reason\":",
                (unsigned long long)r->rx, (unsigned long long)r->tx);
        if (r->reason)
            json_write_string(stdout, r->reason);
        else
            fputs("null", stdout);
        fputc('}', stdout);
    } else {
        human(r->rx, rx, sizeof(rx));
        human(r->tx, tx, sizeof(tx));
        printf("%-20s %-15s %-24s %s  %-20s  %10s  %10s  %s\n", r->user,
               r->vpn_ip ? r->vpn_ip : "", r->endpoint ? r->endpoint : "", start,
               r->end ? end : "(online)", rx, tx, r->reason ? r->reason : "");
    }
    rep->rows++;
}

/* The database path: --db, else [usage] database of the configuration. */
static int db_path(const char *db, const char *conf, char *out, size_t len)
{
    if (db) {
        snprintf(out, len, "%s", db);
        return 0;
    }
    static struct server_config cfg;
    struct config_error err;
    if (server_config_load(conf, &cfg, &err) != 0) {
        fprintf(stderr, "vpnctl: %s\n", err.msg);
        return -1;
    }
    if (!cfg.usage_db[0]) {
        fprintf(stderr, "vpnctl: %s: [usage] database is empty: no usage is kept\n", conf);
        return -1;
    }
    snprintf(out, len, "%s", cfg.usage_db);
    return 0;
}

int usage_report_main(int argc, char **argv)
{
    bool history = strcmp(argv[0], "history") == 0;
    const char *user = NULL, *since = NULL, *db = NULL, *conf = SERVER_CONF_DEFAULT;
    struct report rep = { 0 };
    uint64_t limit = 0;
    int64_t since_t = 0;
    for (int i = 1; i < argc; i++) {
        bool more = i + 1 < argc;
        if (strcmp(argv[i], "--json") == 0)
            rep.json = true;
        else if (strcmp(argv[i], "--user") == 0 && more)
            user = argv[++i];
        else if (strcmp(argv[i], "--since") == 0 && more)
            since = argv[++i];
        else if (strcmp(argv[i], "--db") == 0 && more)
            db = argv[++i];
        else if (strcmp(argv[i], "-c") == 0 && more)
            conf = argv[++i];
        else if (history && strcmp(argv[i], "--limit") == 0 && more) {
            if (parse_uint(argv[++i], 1, 1000000, &limit) != 0)
                return bad_usage();
        } else
            return bad_usage();
    }
    if (since && parse_date(since, &since_t) != 0) {
        fprintf(stderr, "vpnctl: --since: expected a date YYYY-MM-DD, got \"%.64s\"\n", since);
        return 2;
    }
    char path[PATH_MAX], why[512];
    if (db_path(db, conf, path, sizeof(path)) != 0)
        return 1;
    struct usage_db *h = usage_db_open(path, true, why, sizeof(why));
    if (!h) {
        fprintf(stderr, "vpnctl: cannot read the usage database: %s\n", why);
        return 1;
    }
    rep.user = user;
    int rc;
    if (rep.json)
        fputs(history ? "{\"sessions\":[" : "{\"days\":[", stdout);
    else if (history)
        printf("%-20s %-15s %-24s %-20s  %-20s  %10s  %10s  %s\n", "USER", "ADDRESS", "ENDPOINT",
               "START", "END", "UPLOAD", "DOWNLOAD", "ENDED BECAUSE");
    else
        printf("%-20s %-10s  %12s  %12s  %12s\n", "USER", "DAY", "UPLOAD", "DOWNLOAD", "TOTAL");
    if (history)
        rc = usage_db_each_session(h, user, since_t, (int)limit, print_session, &rep);
    else
        rc = usage_db_each_day(h, user, since, print_day, &rep);
    if (rep.json)
        fputs("]}\n", stdout);
    usage_db_close(h);
    if (rc != 0) {
        fprintf(stderr, "vpnctl: reading %s failed\n", path);
        return 1;
    }
    return 0;
}
