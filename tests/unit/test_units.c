/* Numbers, booleans, bandwidths and log levels as configuration files write them. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "vpn/log.h"
#include "vpn/units.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(units, parse_uint_good_and_bad)
{
    uint64_t v;

    cr_expect_eq(parse_uint("0", 0, 10, &v), 0);
    cr_expect_eq(v, 0);
    cr_expect_eq(parse_uint("51820", 1, 65535, &v), 0);
    cr_expect_eq(v, 51820);
    cr_expect_eq(parse_uint("007", 0, 10, &v), 0);          /* decimal, not octal */
    cr_expect_eq(v, 7);
    cr_expect_eq(parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
    cr_expect_eq(v, UINT64_MAX);

    static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0",
                                       "18446744073709551616", "99999999999999999999999" };
    for (unsigned i = 0; i < N(bad); i++)
        cr_expect_eq(parse_uint(bad[i], 0, UINT64_MAX, &v), -1, "accepted \"%s\"", bad[i]);

    /* range ends are inclusive */
    cr_expect_eq(parse_uint("1", 1, 65535, &v), 0);
    cr_expect_eq(parse_uint("65535", 1, 65535, &v), 0);
    cr_expect_eq(parse_uint("0", 1, 65535, &v), -1);
    cr_expect_eq(parse_uint("65536", 1, 65535, &v), -1);
}

Test(units, parse_bool_spellings)
{
    static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "on", "1" };
    static const char *const no[] = { "false", "False", "no", "NO", "off", "0" };
    static const char *const bad[] = { "", "2", "y", "n", "enabled", "true ", "truee" };
    bool b;

    for (unsigned i = 0; i < N(yes); i++) {
        b = false;
        cr_expect_eq(parse_bool(yes[i], &b), 0, "%s", yes[i]);
        cr_expect(b, "%s", yes[i]);
    }
    for (unsigned i = 0; i < N(no); i++) {
        b = true;
        cr_expect_eq(parse_bool(no[i], &b), 0, "%s", no[i]);
        cr_expect(!b, "%s", no[i]);
    }
    for (unsigned i = 0; i < N(bad); i++)
        cr_expect_eq(parse_bool(bad[i], &b), -1, "accepted \"%s\"", bad[i]);
}

Test(units, parse_bandwidth_good)
{
    static const struct {
        const char *s;
        uint64_t bps;
    } good[] = {
        { "5Mbps", 5000000 },        { "2.5Mbps", 2500000 },      { "500Kbps", 500000 },
        { "12mbit", 12000000 },      { "800kbit", 800000 },       { "1Gbps", 1000000000 },
        { "100bps", 100 },           { "100bit", 100 },           { "5MBPS", 5000000 },
        { "5mbps", 5000000 },        { "5 Mbps", 5000000 },       { "1.5Gbit", 1500000000 },
        { "0.001Kbps", 1 },          { "1bps", 1 },               { "100Gbps", 100000000000ULL },
        { "0.000000001Gbps", 1 },    { "10.25Kbit", 10250 },      { "050Mbps", 50000000 },
        { "1.000Mbps", 1000000 },
    };
    for (unsigned i = 0; i < N(good); i++) {
        uint64_t v = 0;
        cr_expect_eq(parse_bandwidth(good[i].s, &v), 0, "refused \"%s\"", good[i].s);
        cr_expect_eq(v, good[i].bps, "\"%s\" -> %" PRIu64, good[i].s, v);
    }
}

Test(units, parse_bandwidth_bad)
{
    static const char *const bad[] = {
        "5",                    /* no unit: most likely a mistake */
        "-1Mbps", "+1Mbps", "Mbps", "", ".5Mbps", "5.Mbps", "5..5Mbps",
        "5  Mbps",              /* one space only */
        " 5Mbps", "5Mbps ", "5Xbps", "5Mb", "5Mbpss", "5 ", "5MBit/s",
        "0Mbps", "0bps", "0.0Gbps",     /* zero */
        "1.5bps",               /* a fraction of a bit per second */
        "0.0000000001Gbps",     /* more decimals than can matter */
        "101Gbps", "100000000001bps", "100.000000001Gbps",      /* above the cap */
        "99999999999999999999999Gbps", "18446744073709551616bps",   /* 64-bit overflow */
    };
    for (unsigned i = 0; i < N(bad); i++) {
        uint64_t v = 12345;
        cr_expect_eq(parse_bandwidth(bad[i], &v), -1, "accepted \"%s\"", bad[i]);
        cr_expect_eq(v, 12345, "\"%s\" wrote the output", bad[i]);
    }
}

Test(units, format_tc_rate_is_exact_bits)
{
    char buf[32];

    format_tc_rate(5000000, buf, sizeof(buf));
    cr_expect_str_eq(buf, "5000000bit");
    format_tc_rate(2500000, buf, sizeof(buf));
    cr_expect_str_eq(buf, "2500000bit");
    format_tc_rate(1, buf, sizeof(buf));
    cr_expect_str_eq(buf, "1bit");
    format_tc_rate(100000000000ULL, buf, sizeof(buf));
    cr_expect_str_eq(buf, "100000000000bit");

    /* round trip through the parser */
    uint64_t v;
    cr_expect_eq(parse_bandwidth(buf, &v), 0);
    cr_expect_eq(v, 100000000000ULL);

    /* a short buffer is cut, never overrun */
    char small[4] = "zzz";
    format_tc_rate(5000000, small, sizeof(small));
    cr_expect_str_eq(small, "500");
}

Test(units, parse_log_level_names)
{
    static const struct {
        const char *s;
        int level;
    } good[] = {
        { "DEBUG", LOG_DEBUG }, { "info", LOG_INFO },     { "INFO", LOG_INFO },
        { "WARN", LOG_WARN },   { "Warning", LOG_WARN },  { "ERROR", LOG_ERROR },
    };
    int level;

    for (unsigned i = 0; i < N(good); i++) {
        cr_expect_eq(parse_log_level(good[i].s, &level), 0, "%s", good[i].s);
        cr_expect_eq(level, good[i].level, "%s", good[i].s);
    }
    cr_expect_eq(parse_log_level("", &level), -1);
    cr_expect_eq(parse_log_level("TRACE", &level), -1);
    cr_expect_eq(parse_log_level("1", &level), -1);
    cr_expect_eq(parse_log_level("INFO ", &level), -1);
}

Test(units, parse_quota_sizes_and_periods)
{
    static const struct {
        const char *s;
        uint64_t bytes;
        enum quota_period period;
    } good[] = {
        { "50GB/month", 50000000000ull, QUOTA_MONTH }, { "500 MB/day", 500000000ull, QUOTA_DAY },
        { "1TiB/week", 1ull << 40, QUOTA_WEEK },        { "1MB/day", 1000000ull, QUOTA_DAY },
        { "2gib/Month", 2ull << 30, QUOTA_MONTH },
    };
    static const char *const bad[] = {
        "", "50GB", "50/month", "GB/month", "50GB/year", "999KB/day", "2PB/day", "-1GB/day",
        "5.5GB/day", "50GB/month ", "50  GB/month", "50XB/month", "99999999999999999999GB/day",
    };
    uint64_t bytes;
    enum quota_period p;
    for (unsigned i = 0; i < N(good); i++) {
        cr_expect_eq(parse_quota(good[i].s, &bytes, &p), 0, "%s", good[i].s);
        cr_expect_eq(bytes, good[i].bytes, "%s", good[i].s);
        cr_expect_eq(p, good[i].period, "%s", good[i].s);
    }
    for (unsigned i = 0; i < N(bad); i++)
        cr_expect_eq(parse_quota(bad[i], &bytes, &p), -1, "%s", bad[i]);
    cr_expect_str_eq(quota_period_name(QUOTA_WEEK), "week");
}

Test(units, parse_date_only_real_days)
{
    int64_t t;
    cr_assert_eq(parse_date("2027-01-31", &t), 0);
    cr_expect_eq(t, 1801353600);   /* calendar.timegm((2027, 1, 31, 0, 0, 0)) */
    cr_expect_eq(parse_date("2028-02-29", &t), 0, "a leap day");
    static const char *const bad[] = { "2027-02-29", "2027-13-01", "2027-1-31", "27-01-31",
                                       "2027/01/31", "2027-01-31x", "", "1969-12-31" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(parse_date(bad[i], &t), -1, "%s", bad[i]);
}
