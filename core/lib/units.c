/* Value parsers for configuration files (see units.h). All of them refuse rather than guess:
 * no sign, no trailing junk, no silent truncation. */
#include "vpn/units.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vpn/log.h"

/* 100 Gbps: far above any link this runs on, and low enough that sums of a thousand users'
 * rates cannot overflow 64 bits. */
#define BANDWIDTH_MAX 100000000000ULL

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!s || !is_digit(*s))
        return -1;
    for (; *s; s++) {
        if (!is_digit(*s))
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Units are bits per second with decimal multiples. Note the trade-off: tc(8) reads "bps" as
 * BYTES per second, but the brief writes "5Mbps" for five megabits, so the brief's spelling
 * wins here; tc's own "bit" spellings are accepted too, and format_tc_rate always hands tc the
 * unambiguous "bit" form. */
static const struct {
    const char *name;
    uint64_t mult;
} bw_units[] = {
    { "bps", 1 },           { "bit", 1 },
    { "kbps", 1000 },       { "kbit", 1000 },
    { "mbps", 1000000 },    { "mbit", 1000000 },
    { "gbps", 1000000000 }, { "gbit", 1000000000 },
};

int parse_bandwidth(const char *s, uint64_t *bps)
{
    uint64_t whole = 0, frac = 0, frac_div = 1;

    if (!s || !is_digit(*s))
        return -1;
    for (; is_digit(*s); s++) {
        /* Anything above the cap is refused below anyway; stop before 64 bits overflow. */
        if (whole > BANDWIDTH_MAX)
            return -1;
        whole = whole * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.') {
        s++;
        if (!is_digit(*s))
            return -1;
        for (; is_digit(*s); s++) {
            /* Nine decimals reach one bit per second at the gigabit unit; more is noise. */
            if (frac_div == 1000000000)
                return -1;
            frac = frac * 10 + (uint64_t)(*s - '0');
            frac_div *= 10;
        }
    }
    if (*s == ' ')      /* "5 Mbps" reads naturally; one space, not arbitrary blanks */
        s++;

    uint64_t mult = 0;
    for (unsigned i = 0; i < sizeof(bw_units) / sizeof(bw_units[0]); i++)
        if (strcasecmp(s, bw_units[i].name) == 0)
            mult = bw_units[i].mult;
    if (!mult)
        return -1;

    if (whole > BANDWIDTH_MAX / mult)
        return -1;
    /* frac < 10^9 and mult <= 10^9, so the product fits in 64 bits. A fraction of one bit
     * per second ("1.5bps") cannot be configured in tc and is refused. */
    if ((frac * mult) % frac_div != 0)
        return -1;
    uint64_t v = whole * mult + frac * mult / frac_div;
    if (v < 1 || v > BANDWIDTH_MAX)
        return -1;
    *bps = v;
    return 0;
}

void format_tc_rate(uint64_t bps, char *buf, unsigned len)
{
    /* Always the exact integer: tc rounds "2.5mbit"-style input in ways we would not want to
     * reason about, and "bit" cannot be mistaken for tc's bytes-per-second "bps". */
    if (len)
        snprintf(buf, len, "%" PRIu64 "bit", bps);
}

int parse_log_level(const char *s, int *level)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {
        { "DEBUG", LOG_DEBUG }, { "INFO", LOG_INFO },   { "WARN", LOG_WARN },
        { "WARNING", LOG_WARN }, { "ERROR", LOG_ERROR },
    };

    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *level = names[i].level;
            return 0;
        }
    }
    return -1;
}

/* Data sizes: decimal and binary multiples, as people write them. */
static const struct {
    const char *name;
    uint64_t mult;
} size_units[] = {
    { "B", 1 },
    { "KB", 1000ull },       { "MB", 1000000ull },       { "GB", 1000000000ull },
    { "TB", 1000000000000ull },
    { "KiB", 1ull << 10 },   { "MiB", 1ull << 20 },      { "GiB", 1ull << 30 },
    { "TiB", 1ull << 40 },
};

static const char *const quota_periods[] = { [QUOTA_DAY] = "day", [QUOTA_WEEK] = "week",
                                             [QUOTA_MONTH] = "month" };

const char *quota_period_name(enum quota_period p)
{
    return p >= QUOTA_DAY && p <= QUOTA_MONTH ? quota_periods[p] : "?";
}

int parse_quota(const char *s, uint64_t *bytes, enum quota_period *period)
{
    char num[32], unit[8];
    const char *slash = strchr(s, '/');
    const char *u = s;
    while (is_digit(*u))
        u++;
    size_t nlen = (size_t)(u - s);
    if (!slash || nlen == 0 || nlen >= sizeof(num) || *u == '\0' || u > slash)
        return -1;
    if (*u == ' ')
        u++;
    size_t ulen = (size_t)(slash - u);
    if (ulen == 0 || ulen >= sizeof(unit))
        return -1;
    memcpy(num, s, nlen);
    num[nlen] = '\0';
    memcpy(unit, u, ulen);
    unit[ulen] = '\0';
    uint64_t n, mult = 0;
    for (unsigned i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
        if (strcasecmp(unit, size_units[i].name) == 0)
            mult = size_units[i].mult;
    /* At least one megabyte, at most a petabyte: anything else is a typing mistake. */
    if (!mult || parse_uint(num, 1, UINT64_MAX / mult, &n) != 0 || n * mult < 1000000ull ||
        n * mult > 1000000000000000ull)
        return -1;
    for (int p = QUOTA_DAY; p <= QUOTA_MONTH; p++)
        if (strcasecmp(slash + 1, quota_periods[p]) == 0) {
            *bytes = n * mult;
            *period = (enum quota_period)p;
            return 0;
        }
    return -1;
}

int parse_date(const char *s, int64_t *day_start)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
        s[7] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
    time_t t = timegm(&tm);
    /* timegm normalises 2027-02-30 into March: such a date does not exist. */
    struct tm back;
    if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != m - 1)
        return -1;
    *day_start = (int64_t)t;
    return 0;
}
