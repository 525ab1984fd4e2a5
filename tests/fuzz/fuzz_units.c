/* Fuzzes the configuration value parsers (core/lib/units.c) on the input as a string:
 * parse_uint, parse_bool, parse_bandwidth, parse_log_level. An accepted bandwidth is in range
 * and survives format_tc_rate -> parse_bandwidth; an accepted number prints back as written
 * once leading zeros are dropped. */
#include <inttypes.h>

#include "fuzz_util.h"

#include "vpn/log.h"
#include "vpn/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_strdup(data, size);
    char buf[64];
    uint64_t v, v2;
    bool b;
    int level;

    if (parse_uint(s, 0, UINT64_MAX, &v) == 0) {
        const char *digits = s + strspn(s, "0");
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        FUZZ_ASSERT(strcmp(buf, *digits ? digits : "0") == 0);
    }
    if (parse_uint(s, 1, 65535, &v) == 0)
        FUZZ_ASSERT(v >= 1 && v <= 65535);
    if (parse_bool(s, &b) == 0)
        FUZZ_ASSERT(strlen(s) <= 5);
    if (parse_bandwidth(s, &v) == 0) {
        FUZZ_ASSERT(v >= 1 && v <= 100000000000ULL);
        format_tc_rate(v, buf, sizeof(buf));
        FUZZ_ASSERT(parse_bandwidth(buf, &v2) == 0 && v2 == v);
    }
    if (parse_log_level(s, &level) == 0)
        FUZZ_ASSERT(level >= LOG_DEBUG && level <= LOG_ERROR);
    free(s);
    return 0;
}
