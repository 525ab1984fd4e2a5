/* The INI tokeniser: what it hands the schema, and every line it refuses. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpn/ini.h"

/* Everything the handler saw, one entry per call. */
struct seen {
    int n;
    struct {
        int line;
        char section[64], key[64], value[INI_LINE_MAX];
        int is_header;
    } e[32];
    int fail_at;        /* make the handler fail on this line (0: never) */
};

static int record(void *ctx, const char *file, int line, const char *section, const char *key,
                  const char *value, struct config_error *err)
{
    struct seen *s = ctx;
    if (line == s->fail_at) {
        config_errorf(err, file, line, section, key, "handler says no");
        return 1;
    }
    cr_assert_lt(s->n, 32);
    s->e[s->n].line = line;
    snprintf(s->e[s->n].section, sizeof(s->e[0].section), "%s", section);
    s->e[s->n].is_header = key == NULL;
    snprintf(s->e[s->n].key, sizeof(s->e[0].key), "%s", key ? key : "");
    snprintf(s->e[s->n].value, sizeof(s->e[0].value), "%s", value ? value : "");
    s->n++;
    return 0;
}

static int parse(const char *text, struct seen *s, struct config_error *err)
{
    return ini_parse_buffer("test.conf", text, strlen(text), record, s, err);
}

Test(ini, sections_keys_comments_and_trimming)
{
    struct seen s = { 0 };
    struct config_error err;
    const char *text =
        "# comment\n"
        "; another comment\n"
        "\n"
        "[server]\n"
        "  listen_port   =   51820  \n"
        "\ttun_device=tun0\n"
        "[ qos ]\n"
        "note = a = b # not a comment\n"
        "empty =\n";

    cr_assert_eq(parse(text, &s, &err), 0, "%s", err.msg);
    cr_assert_eq(s.n, 6);
    cr_expect(s.e[0].is_header);
    cr_expect_str_eq(s.e[0].section, "server");
    cr_expect_eq(s.e[0].line, 4);
    cr_expect_str_eq(s.e[1].key, "listen_port");
    cr_expect_str_eq(s.e[1].value, "51820");
    cr_expect_eq(s.e[1].line, 5);
    cr_expect_str_eq(s.e[2].key, "tun_device");
    cr_expect_str_eq(s.e[2].value, "tun0");
    cr_expect_str_eq(s.e[3].section, "qos");       /* blanks inside brackets trimmed */
    /* Only the first '=' splits; comments are whole lines only. */
    cr_expect_str_eq(s.e[4].key, "note");
    cr_expect_str_eq(s.e[4].value, "a = b # not a comment");
    cr_expect_str_eq(s.e[4].section, "qos");
    cr_expect_str_eq(s.e[5].value, "");
    cr_expect_eq(s.e[5].line, 9);
}

Test(ini, crlf_bom_and_missing_final_newline)
{
    struct seen s = { 0 };
    struct config_error err;
    const char *text = "\xef\xbb\xbf[a]\r\nk = v\r\n\r\nlast=1";

    cr_assert_eq(parse(text, &s, &err), 0, "%s", err.msg);
    cr_assert_eq(s.n, 3);
    cr_expect_str_eq(s.e[0].section, "a");
    cr_expect_str_eq(s.e[1].value, "v");
    cr_expect_str_eq(s.e[2].key, "last");
    cr_expect_str_eq(s.e[2].value, "1");
    cr_expect_eq(s.e[2].line, 4);
}

Test(ini, key_before_any_section_goes_to_the_handler_with_empty_section)
{
    struct seen s = { 0 };
    struct config_error err;

    cr_assert_eq(parse("k = v\n[a]\n", &s, &err), 0);
    cr_expect_str_eq(s.e[0].section, "");
    cr_expect_str_eq(s.e[0].key, "k");
}

Test(ini, empty_buffer)
{
    struct seen s = { 0 };
    struct config_error err;

    cr_assert_eq(ini_parse_buffer("x", "", 0, record, &s, &err), 0);
    cr_expect_eq(s.n, 0);
}

/* Each malformed input, the line it is reported at, and a word of the message. */
static const struct {
    const char *text;
    int line;
    const char *what;
} bad_lines[] = {
    { "[a]\njust words\n", 2, "expected \"key = value\"" },
    { "[a]\n= value\n", 2, "key of letters" },
    { "[a]\nmy key = value\n", 2, "key of letters" },
    { "[a\n", 1, "section header" },
    { "[]\n", 1, "non-empty name" },
    { "[  ]\n", 1, "non-empty name" },
    { "[a]x\n", 1, "section header" },
    { "[a]\n[b[c]]\n", 2, "section header" },
    { "[a]\nk = v\x01\n", 2, "control character 0x01" },
    { "[a]\nk = v\x7f\n", 2, "control character 0x7f" },
    { "[a]\nk = v\rw\n", 2, "control character 0x0d" },
};

Test(ini, malformed_lines)
{
    for (unsigned i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        struct seen s = { 0 };
        struct config_error err = { "" };
        char where[32];

        cr_expect_eq(parse(bad_lines[i].text, &s, &err), -1, "case %u accepted", i);
        snprintf(where, sizeof(where), "test.conf:%d: ", bad_lines[i].line);
        cr_expect(strncmp(err.msg, where, strlen(where)) == 0, "case %u: %s", i, err.msg);
        cr_expect(strstr(err.msg, bad_lines[i].what), "case %u: %s", i, err.msg);
        cr_expect(!strchr(err.msg, '\n') && !strchr(err.msg, '\r'), "case %u: two lines", i);
    }
}

Test(ini, nul_byte)
{
    static const char text[] = "[a]\nk = v\0w\n";
    struct seen s = { 0 };
    struct config_error err;

    cr_assert_eq(ini_parse_buffer("t.conf", text, sizeof(text) - 1, record, &s, &err), -1);
    cr_expect(strstr(err.msg, "t.conf:2: [a]: NUL byte"), "%s", err.msg);
}

Test(ini, line_length_limit)
{
    /* INI_LINE_MAX - 1 bytes fit; one more does not. */
    char *buf = malloc(INI_LINE_MAX + 16);
    struct seen s = { 0 };
    struct config_error err;

    strcpy(buf, "[a]\nk=");
    size_t head = strlen(buf);
    memset(buf + head, 'x', INI_LINE_MAX - 1 - 2);
    buf[head + INI_LINE_MAX - 1 - 2] = '\n';
    cr_assert_eq(ini_parse_buffer("t", buf, head + INI_LINE_MAX - 2, record, &s, &err), 0,
                 "%s", err.msg);
    cr_expect_eq(strlen(s.e[1].value), INI_LINE_MAX - 3);

    memset(buf + head, 'x', INI_LINE_MAX - 2);
    buf[head + INI_LINE_MAX - 2] = '\n';
    cr_assert_eq(ini_parse_buffer("t", buf, head + INI_LINE_MAX - 1, record, &s, &err), -1);
    cr_expect(strstr(err.msg, "t:2: [a]: line longer than 1023 bytes"), "%s", err.msg);
    free(buf);
}

Test(ini, handler_error_stops_the_parse)
{
    struct seen s = { .fail_at = 3 };
    struct config_error err;

    cr_assert_eq(parse("[a]\nk = 1\nm = 2\nn = 3\n", &s, &err), -1);
    cr_expect_eq(s.n, 2);
    cr_expect_str_eq(err.msg, "test.conf:3: [a] m: handler says no");
}

Test(ini, files_missing_directory_and_good)
{
    char dir[] = "/tmp/test_ini_XXXXXX";
    char path[PATH_MAX];
    struct seen s = { 0 };
    struct config_error err;

    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/missing.conf", dir);
    cr_assert_eq(ini_parse_file(path, record, &s, &err), -1);
    cr_expect(strstr(err.msg, path) && strstr(err.msg, ":0: ") &&
              strstr(err.msg, "No such file or directory"), "%s", err.msg);

    cr_assert_eq(ini_parse_file(dir, record, &s, &err), -1);
    cr_expect(strstr(err.msg, "Is a directory"), "%s", err.msg);

    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("[x]\ny = z\n", f);
    fclose(f);
    cr_assert_eq(ini_parse_file(path, record, &s, &err), 0, "%s", err.msg);
    cr_expect_eq(s.n, 2);
    cr_expect_str_eq(s.e[1].value, "z");
    unlink(path);
    rmdir(dir);
}

Test(ini, config_errorf_forms)
{
    struct config_error err;

    config_errorf(&err, "f", 7, "sec", "key", "bad %d", 5);
    cr_expect_str_eq(err.msg, "f:7: [sec] key: bad 5");
    config_errorf(&err, "f", 7, "sec", NULL, "bad");
    cr_expect_str_eq(err.msg, "f:7: [sec]: bad");
    config_errorf(&err, "f", 0, NULL, NULL, "bad");
    cr_expect_str_eq(err.msg, "f:0: bad");
    config_errorf(&err, "f", 1, "", "k", "bad");
    cr_expect_str_eq(err.msg, "f:1: k: bad");
    /* Values quoted in messages cannot break the one-line rule. */
    config_errorf(&err, "f", 1, "s", "k", "got \"%s\"", "a\nb\tc");
    cr_expect_str_eq(err.msg, "f:1: [s] k: got \"a?b?c\"");

    /* An overlong message is cut, still starting with file and line. */
    char big[2000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    config_errorf(&err, "f", 2, "s", "k", "%s", big);
    cr_expect_eq(strlen(err.msg), CONFIG_ERR_MAX - 1);
    cr_expect(strncmp(err.msg, "f:2: [s] k: yyy", 15) == 0);
}
