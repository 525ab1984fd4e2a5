/* The JSON string writer: what must be escaped, what passes through, what is replaced. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/json.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* json_write_string into a string the test owns (free it). */
static char *written(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    json_write_string(f, s);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

Test(json, escapes_table)
{
    static const struct {
        const char *what, *in, *out;
    } cases[] = {
        { "empty", "", "\"\"" },
        { "plain ASCII", "alice", "\"alice\"" },
        { "quote", "a\"b", "\"a\\\"b\"" },
        { "backslash", "a\\b", "\"a\\\\b\"" },
        { "quote and backslash together", "\\\"", "\"\\\\\\\"\"" },
        { "newline", "a\nb", "\"a\\u000ab\"" },
        { "tab", "\t", "\"\\u0009\"" },
        { "0x01", "\x01", "\"\\u0001\"" },
        { "0x1f", "\x1f", "\"\\u001f\"" },
        { "escape (terminal sequences)", "\x1b[2J", "\"\\u001b[2J\"" },
        { "DEL", "\x7f", "\"\\u007f\"" },
        { "space and slash unchanged", " /", "\" /\"" },
        { "2-byte UTF-8", "Jos\xc3\xa9", "\"Jos\xc3\xa9\"" },
        { "3-byte UTF-8", "\xe2\x82\xac", "\"\xe2\x82\xac\"" },
        { "4-byte UTF-8", "\xf0\x9f\x94\x91", "\"\xf0\x9f\x94\x91\"" },
        { "highest code point U+10FFFF", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },
        { "U+2028 is valid JSON", "\xe2\x80\xa8", "\"\xe2\x80\xa8\"" },
        { "stray continuation byte", "a\x80z", "\"a\\ufffdz\"" },
        { "overlong '/' (C0 AF)", "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
        { "overlong 3-byte (E0 80 AF)", "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"" },
        { "overlong 4-byte (F0 80 80 AF)", "\xf0\x80\x80\xaf",
          "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
        { "surrogate U+D800 (ED A0 80)", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
        { "above U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80",
          "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
        { "F5 lead byte", "\xf5\x80", "\"\\ufffd\\ufffd\"" },
        { "FF byte", "x\xff", "\"x\\ufffd\"" },
        { "sequence cut by the end", "ab\xe2\x82", "\"ab\\ufffd\\ufffd\"" },
        { "sequence cut by ASCII", "\xe2\x82q", "\"\\ufffd\\ufffdq\"" },
        { "good character after a broken one kept", "\xc3\xe2\x82\xac",
          "\"\\ufffd\xe2\x82\xac\"" },
        { "a quote after a lead byte is still escaped", "\xc3\"", "\"\\ufffd\\\"\"" },
    };
    for (size_t i = 0; i < N(cases); i++) {
        char *got = written(cases[i].in);
        cr_expect_str_eq(got, cases[i].out, "%s", cases[i].what);
        free(got);
    }
}

/* Every single byte: printable ASCII as itself (quote and backslash escaped), controls as
 * \u00XX, and a lone byte >= 0x80 (never a whole UTF-8 sequence) replaced. */
Test(json, every_single_byte)
{
    for (int b = 1; b < 256; b++) {
        char in[2] = { (char)b, 0 }, want[16];
        if (b == '"' || b == '\\')
            snprintf(want, sizeof(want), "\"\\%c\"", b);
        else if (b < 0x20 || b == 0x7f)
            snprintf(want, sizeof(want), "\"\\u%04x\"", b);
        else if (b < 0x80)
            snprintf(want, sizeof(want), "\"%c\"", b);
        else
            snprintf(want, sizeof(want), "\"\\ufffd\"");
        char *got = written(in);
        cr_expect_str_eq(got, want, "byte 0x%02x", b);
        free(got);
    }
}

/* Reading back the server's replies (vpnctl): the first "key": at any depth, strings decoded,
 * numbers non-negative integers, what is not of the asked kind refused. */
Test(json, get_string_and_uint)
{
    const char *reply = "{\"ok\":true,\"users_reloads\":12,"
                        "\"error\":\"a \\\"b\\\" \\\\ c\\u0041\\u00e9\","
                        "\"users\":[{\"user\":\"x\",\"devices\":2},"
                        "{\"user\":\"y\",\"devices\":0}]}";
    char s[64];
    unsigned long long n;
    const char *end;
    cr_expect(json_get_uint(reply, "users_reloads", &n, NULL) && n == 12);
    cr_expect(json_get_string(reply, "error", s, sizeof(s), NULL));
    cr_expect_str_eq(s, "a \"b\" \\ cA?");
    cr_expect(json_get_string(reply, "user", s, sizeof(s), &end));
    cr_expect_str_eq(s, "x");
    cr_expect(json_get_uint(end, "devices", &n, NULL) && n == 2);
    cr_expect(json_get_string(end, "user", s, sizeof(s), &end));
    cr_expect_str_eq(s, "y");
    cr_expect_not(json_get_string(reply, "users_reloads", s, sizeof(s), NULL), "not a string");
    cr_expect_not(json_get_uint(reply, "error", &n, NULL), "not a number");
    cr_expect_not(json_get_uint(reply, "nosuch", &n, NULL));
    cr_expect_not(json_get_string("{\"k\":\"open", "k", s, sizeof(s), NULL), "unterminated");
    cr_expect(json_get_string("{\"k\":\"0123456789\"}", "k", s, 4, NULL));
    cr_expect_str_eq(s, "012", "cut to the buffer");
}
