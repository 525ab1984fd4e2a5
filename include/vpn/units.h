/* Parsing of the values configuration files carry: numbers, booleans, bandwidths, durations. */
#ifndef VPN_UNITS_H
#define VPN_UNITS_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal unsigned integer in [min, max], no sign, no trailing junk. Returns 0 or -1. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
    __attribute__((warn_unused_result));

/* true/false, yes/no, on/off, 1/0 (case-insensitive). Returns 0 or -1. */
int parse_bool(const char *s, bool *out) __attribute__((warn_unused_result));

/* Bandwidth in bits per second: a number (integer or decimal) followed by a unit:
 * bps, Kbps, Mbps, Gbps (the brief's spelling, case-insensitive) or tc's bit, kbit, mbit, gbit.
 * Decimal multiples (1 Kbps = 1000 bps), as tc uses. The result must be >= 1 bps and
 * <= 100 Gbps. A bare number is refused: a missing unit is almost always a mistake. */
int parse_bandwidth(const char *s, uint64_t *bps) __attribute__((warn_unused_result));

/* Formats bps for tc ("12000kbit"-style exact integers; tc accepts "bit"). */
void format_tc_rate(uint64_t bps, char *buf, unsigned len);

/* Data quotas: "50GB/month", "500 MB/day", "1TiB/week": a size (B, KB, MB, GB, TB decimal;
 * KiB, MiB, GiB, TiB binary; at least 1 MB, at most 1 PB), a slash, a period. */
enum quota_period { QUOTA_NONE = 0, QUOTA_DAY, QUOTA_WEEK, QUOTA_MONTH };
int parse_quota(const char *s, uint64_t *bytes, enum quota_period *period)
    __attribute__((warn_unused_result));
const char *quota_period_name(enum quota_period p);

/* A calendar date "YYYY-MM-DD" (one that exists): the Unix time of its start, UTC. */
int parse_date(const char *s, int64_t *day_start) __attribute__((warn_unused_result));

/* Log level names: DEBUG, INFO, WARN (or WARNING), ERROR, case-insensitive. */
int parse_log_level(const char *s, int *level) __attribute__((warn_unused_result));

#endif
