/* The status-to-metrics mapping (tools/metrics/metrics_format.c) on status replies written
 * here: every family gets its HELP and TYPE once, before its samples and in one block; users
 * are labelled by user and class (escaped); the histogram is cumulative with +Inf, _sum in
 * seconds and _count; rx_header_* drops get their own family; what is missing, mistyped or
 * negative writes no sample; a reply that is not a JSON object is vpn_up 0. And the HTTP
 * side's Host guard (host_guard.c), table-tested. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/metrics/host_guard.h"
#include "../../tools/metrics/metrics_format.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char STATUS[] =
    "{\"version\":\"v1-2-g0abc\",\"interface\":\"tun0\",\"sessions\":2,\"workers\":2,"
    "\"under_load\":false,\"cookies_sent\":5,\"hints_sent\":1,\"enclave_restarts\":3,"
    "\"enclave_workers\":[{\"worker\":0,\"pid\":10,\"sessions\":2,\"decrypted\":7,"
    "\"encrypted\":8,\"loop_age_ms\":1,\"restarts\":4},{\"worker\":1,\"pid\":11,\"sessions\":0,"
    "\"decrypted\":0,\"encrypted\":0,\"loop_age_ms\":0,\"restarts\":0}],"
    "\"drops\":{\"rx_header\":9,\"rx_no_session\":2,\"rx_header_short\":4,"
    "\"rx_header_bad_type\":5,\"enclave_auth\":6},"
    "\"handshakes\":{\"ok\":3,\"auth_failed\":2,\"status_9\":1,\"dropped\":0},"
    "\"handshake_latency\":{\"le_us\":[250,500,1000000],\"cumulative\":[1,2,3],\"count\":4,"
    "\"sum_us\":2500250},"
    "\"users\":[{\"user\":\"alice\",\"class\":\"vip\",\"sessions\":1,\"devices\":1,"
    "\"handshakes\":2,\"rx_bytes\":1000,\"rx_packets\":10,\"tx_bytes\":2000,\"tx_packets\":20,"
    "\"upload_drops\":0,\"rx_bps\":8,\"tx_bps\":16},"
    "{\"user\":\"q\\\"uo\\\\te\\n\",\"class\":\"default\",\"sessions\":0,\"devices\":0,"
    "\"handshakes\":1,\"rx_bytes\":5,\"rx_packets\":1,\"tx_bytes\":6,\"tx_packets\":1,"
    "\"upload_drops\":3,\"rx_bps\":0,\"tx_bps\":0}],"
    "\"qos_classes\":[{\"classid\":\"1:100\",\"class\":\"vip\",\"user\":\"alice\",\"bytes\":1,"
    "\"packets\":1,\"drops\":7,\"rate_bps\":0},{\"classid\":\"1:20\",\"class\":\"default\","
    "\"user\":\"\",\"bytes\":0,\"packets\":0,\"drops\":1,\"rate_bps\":0}],"
    "\"peers\":[]}";

static char *format(const char *json, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert(out);
    *rc = metrics_format(json, strlen(json), out);
    cr_assert_eq(fclose(out), 0);
    return buf;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

Test(metrics_format, samples_of_a_full_status)
{
    int rc;
    char *m = format(STATUS, &rc);
    cr_assert_eq(rc, 0);
    static const char *const want[] = {
        "vpn_up 1",
        "vpn_build_info{version=\"v1-2-g0abc\"} 1",
        "vpn_sessions 2",
        "vpn_under_load 0",
        "vpn_cookie_replies_total 5",
        "vpn_enclave_restarts_total 3",
        "vpn_handshakes_total{result=\"ok\"} 3",
        "vpn_handshakes_total{result=\"auth_failed\"} 2",
        "vpn_handshakes_total{result=\"status_9\"} 1",
        "vpn_handshake_duration_seconds_bucket{le=\"0.00025\"} 1",
        "vpn_handshake_duration_seconds_bucket{le=\"0.0005\"} 2",
        "vpn_handshake_duration_seconds_bucket{le=\"1\"} 3",
        "vpn_handshake_duration_seconds_bucket{le=\"+Inf\"} 4",
        "vpn_handshake_duration_seconds_sum 2.50025",
        "vpn_handshake_duration_seconds_count 4",
        "vpn_drops_total{reason=\"rx_header\"} 9",
        "vpn_drops_total{reason=\"enclave_auth\"} 6",
        "vpn_rx_header_drops_total{check=\"short\"} 4",
        "vpn_rx_header_drops_total{check=\"bad_type\"} 5",
        "vpn_enclave_worker_restarts_total{worker=\"0\"} 4",
        "vpn_enclave_worker_sessions{worker=\"1\"} 0",
        "vpn_user_sessions{user=\"alice\",class=\"vip\"} 1",
        "vpn_user_received_bytes_total{user=\"alice\",class=\"vip\"} 1000",
        "vpn_user_sent_bytes_total{user=\"alice\",class=\"vip\"} 2000",
        "vpn_user_sent_packets_total{user=\"alice\",class=\"vip\"} 20",
        "vpn_user_upload_qos_drops_total{user=\"q\\\"uo\\\\te\\n\",class=\"default\"} 3",
        "vpn_qos_download_drops_total{classid=\"1:100\",class=\"vip\",user=\"alice\"} 7",
        "vpn_qos_download_drops_total{classid=\"1:20\",class=\"default\",user=\"\"} 1",
    };
    for (size_t i = 0; i < N(want); i++)
        cr_expect(has_line(m, want[i]), "missing line: %s\n%s", want[i], m);
    cr_expect(!strstr(m, "vpn_drops_total{reason=\"rx_header_short\"}"),
              "a header check counted twice in vpn_drops_total");
    free(m);
}

/* Every family: HELP then TYPE, once, and its samples right after, before the next family. */
Test(metrics_format, each_family_declared_once_then_its_samples)
{
    int rc;
    char *m = format(STATUS, &rc);
    char family[128] = "", seen[64][128];
    int n_seen = 0;
    char *save = NULL;
    for (char *line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[128];
        if (sscanf(line, "# HELP %127s", name) == 1) {
            for (int i = 0; i < n_seen; i++)
                cr_assert_str_neq(seen[i], name, "family %s declared twice", name);
            cr_assert_lt(n_seen, 64);
            snprintf(seen[n_seen++], sizeof(seen[0]), "%s", name);
            snprintf(family, sizeof(family), "%s", name);
            continue;
        }
        if (sscanf(line, "# TYPE %127s", name) == 1) {
            cr_expect_str_eq(name, family, "TYPE of %s not right after its HELP", name);
            cr_expect(strstr(line, " counter") || strstr(line, " gauge") ||
                      strstr(line, " histogram"), "%s", line);
            continue;
        }
        size_t fl = strlen(family);
        cr_expect(fl && strncmp(line, family, fl) == 0 &&
                  (line[fl] == ' ' || line[fl] == '{' || line[fl] == '_'),
                  "sample outside its family %s: %s", family, line);
    }
    cr_expect_gt(n_seen, 20);
    free(m);
}

Test(metrics_format, not_an_object_is_down)
{
    static const char *const bad[] = { "", "error: unknown request\n", "[1,2]", "{\"a\":1",
                                       "{\"a\":1,\"a\":2}" };
    for (size_t i = 0; i < N(bad); i++) {
        int rc;
        char *m = format(bad[i], &rc);
        cr_expect_eq(rc, -1, "%s", bad[i]);
        cr_expect_str_eq(m, "# HELP vpn_up 1 when vpn-server answered on its control socket.\n"
                            "# TYPE vpn_up gauge\nvpn_up 0\n");
        free(m);
    }
}

Test(metrics_format, missing_mistyped_and_negative_values_write_no_sample)
{
    int rc;
    char *m = format("{\"sessions\":-1,\"workers\":\"2\",\"users\":[{\"user\":\"a\","
                     "\"rx_bytes\":1.5,\"tx_bytes\":7},{\"user\":7}],\"handshakes\":[1],"
                     "\"handshake_latency\":{\"le_us\":[250],\"cumulative\":[1,2],\"count\":2,"
                     "\"sum_us\":1},\"enclave_workers\":{}}", &rc);
    cr_assert_eq(rc, 0);
    cr_expect(strstr(m, "# TYPE vpn_sessions gauge\n# HELP"), "a negative value was written");
    cr_expect(!strstr(m, "\nvpn_enclave_workers "), "a string was written as a number");
    cr_expect(!strstr(m, "vpn_user_received_bytes_total{"), "a fraction was written");
    cr_expect(has_line(m, "vpn_user_sent_bytes_total{user=\"a\",class=\"\"} 7"), "%s", m);
    cr_expect(has_line(m, "vpn_user_sent_bytes_total{user=\"\",class=\"\"} 7") == false);
    cr_expect(!strstr(m, "vpn_handshake_duration_seconds_bucket"),
              "a histogram with mismatched lists was written");
    cr_expect(has_line(m, "vpn_up 1"));
    free(m);
}

Test(host_guard, addresses_and_localhost_only)
{
    static const struct {
        const char *host;
        bool ok;
    } cases[] = {
        { "127.0.0.1", true }, { "127.0.0.1:9586", true }, { "localhost", true },
        { "LocalHost:9586", true }, { "[::1]:9586", true }, { "[::1]", true },
        { "10.1.2.3:80", true },
        { "evil.example", false }, { "evil.example:9586", false },
        { "localhost.evil.example", false }, { "127.0.0.1.nip.io", false },
        { "[::1]x", false }, { "[::1", false }, { "[evil]:1", false },
        { "127.0.0.1:", false }, { "127.0.0.1:95x6", false }, { "127.0.0.1:123456", false },
        { "", false }, { ":9586", false },
    };
    for (size_t i = 0; i < N(cases); i++)
        cr_expect_eq(host_guard_allows(cases[i].host), cases[i].ok, "Host: %s",
                     cases[i].host);
}
