/* The Prometheus text writer (tools/metrics/prom_text.c): escaping of label values and HELP
 * text, the HELP and TYPE lines, series with and without labels, numbers as the format
 * writes them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/metrics/prom_text.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* What f wrote, as a string the test owns. */
#define CAPTURE(buf, body)                                                                   \
    do {                                                                                     \
        size_t len_ = 0;                                                                     \
        FILE *out = open_memstream(&(buf), &len_);                                           \
        cr_assert(out);                                                                      \
        body;                                                                                \
        cr_assert_eq(fclose(out), 0);                                                        \
    } while (0)

Test(prom_text, label_value_escapes)
{
    static const struct {
        const char *what, *in, *out;
    } cases[] = {
        { "plain", "alice", "alice" },
        { "empty", "", "" },
        { "quote", "q\"uo", "q\\\"uo" },
        { "backslash", "a\\b", "a\\\\b" },
        { "newline", "a\nb", "a\\nb" },
        { "all three", "\"\\\n", "\\\"\\\\\\n" },
        { "UTF-8 passes", "j\xc3\xb6rg \xe2\x82\xac", "j\xc3\xb6rg \xe2\x82\xac" },
        { "braces and commas pass", "a{b},c=d", "a{b},c=d" },
        { "tab passes", "a\tb", "a\tb" },
    };
    for (size_t i = 0; i < N(cases); i++) {
        char *buf = NULL;
        CAPTURE(buf, prom_write_label_value(out, cases[i].in));
        cr_expect_str_eq(buf, cases[i].out, "%s", cases[i].what);
        free(buf);
    }
}

Test(prom_text, help_escapes_backslash_and_newline_but_not_quotes)
{
    char *buf = NULL;
    CAPTURE(buf, prom_family(out, "vpn_x_total", "counter", "a \"quoted\" \\ word\nand more"));
    cr_expect_str_eq(buf, "# HELP vpn_x_total a \"quoted\" \\\\ word\\nand more\n"
                          "# TYPE vpn_x_total counter\n");
    free(buf);
}

Test(prom_text, samples_with_and_without_labels)
{
    char *buf = NULL;
    struct prom_label two[] = { { "user", "q\"uo\\te" }, { "class", "vip" }, { NULL, NULL } };
    struct prom_label none[] = { { NULL, NULL } };
    CAPTURE(buf, {
        prom_sample_u64(out, "vpn_up", NULL, NULL, 1);
        prom_sample_u64(out, "vpn_sessions", "", none, 0);
        prom_sample_u64(out, "vpn_user_sent_bytes_total", NULL, two, 18446744073709551615ull);
        prom_sample_u64(out, "vpn_h_seconds", "_count", NULL, 7);
    });
    cr_expect_str_eq(buf, "vpn_up 1\n"
                          "vpn_sessions 0\n"
                          "vpn_user_sent_bytes_total{user=\"q\\\"uo\\\\te\",class=\"vip\"} "
                          "18446744073709551615\n"
                          "vpn_h_seconds_count 7\n");
    free(buf);
}

Test(prom_text, doubles_shortest_exact_and_special_values)
{
    static const struct {
        double v;
        const char *out;
    } cases[] = {
        { 0.1, "0.1" }, { 0.00025, "0.00025" }, { 2.5, "2.5" }, { 1, "1" }, { 0, "0" },
        { 0.000221, "0.000221" }, { 1e21, "1e+21" }, { 1.0 / 3, "0.33333333333333331" },
    };
    for (size_t i = 0; i < N(cases); i++) {
        char b[32];
        cr_expect_str_eq(prom_format_double(cases[i].v, b, sizeof(b)), cases[i].out);
        cr_expect_eq(strtod(b, NULL), cases[i].v, "%s reads back", b);
    }
    char *buf = NULL;
    CAPTURE(buf, {
        prom_sample_double(out, "a", "_sum", NULL, NAN);
        prom_sample_double(out, "a", "_sum", NULL, INFINITY);
        prom_sample_double(out, "a", "_sum", NULL, -INFINITY);
        prom_sample_double(out, "a", "_sum", NULL, 0.5);
    });
    cr_expect_str_eq(buf, "a_sum NaN\na_sum +Inf\na_sum -Inf\na_sum 0.5\n");
    free(buf);
}
