/* README.md's configuration tables against the parsers' key tables (ini_schema.h): every
 * key of a key_spec table has its row under the file's "### NAME" heading and every row there
 * is a key of the table; a default the table has is the one the row shows (backticks aside),
 * and "(required)" is shown exactly for the required keys. A key added to a parser without a
 * line of documentation, or a README row left behind by a removed key, fails here. */
#include "testutil.h"

#include "vpn/client_config.h"
#include "vpn/ini_schema.h"
#include "vpn/server_config.h"

enum { ROWS_MAX = 64, CELL_MAX = 128 };

struct row {
    char section[CELL_MAX], key[CELL_MAX], def[CELL_MAX];
    bool matched;
};

/* Trims blanks and backticks around a table cell into out. */
static void cell(const char *s, size_t n, char *out)
{
    while (n && (*s == ' ' || *s == '`')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '`'))
        n--;
    snprintf(out, CELL_MAX, "%.*s", (int)n, s);
}

/* Reads the first table after the line "### <heading>" of README.md into rows; returns how
 * many. A row with an empty section cell continues the section above it. */
static int read_table(const char *heading, struct row *rows)
{
    FILE *f = fopen("README.md", "r");
    if (!f) {
        /* run from elsewhere than the top of the tree: find it beside this source */
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%.*s/../../README.md",
                 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__);
        f = fopen(path, "r");
    }
    cr_assert(f, "cannot open README.md");
    char line[4096], want[128], section[CELL_MAX] = "";
    bool under = false, in_table = false;
    int n = 0;
    snprintf(want, sizeof(want), "### %s\n", heading);
    while (fgets(line, sizeof(line), f)) {
        if (!under) {
            under = strcmp(line, want) == 0;
            continue;
        }
        if (line[0] != '|') {
            if (in_table)
                break;          /* the table ended */
            cr_assert(strncmp(line, "### ", 4) != 0 && strncmp(line, "## ", 3) != 0,
                      "no table under \"### %s\"", heading);
            continue;
        }
        in_table = true;
        const char *c[5];
        int k = 0;
        for (const char *p = line; *p && k < 5; p++)
            if (*p == '|')
                c[k++] = p + 1;
        cr_assert(k == 5, "not a four-column row under %s: %s", heading, line);
        struct row r = { .matched = false };
        cell(c[0], (size_t)(c[1] - c[0] - 1), r.section);
        cell(c[1], (size_t)(c[2] - c[1] - 1), r.key);
        cell(c[2], (size_t)(c[3] - c[2] - 1), r.def);
        if (strcmp(r.key, "key") == 0 || strncmp(r.key, "---", 3) == 0)
            continue;           /* the header and its rule */
        if (r.section[0])
            snprintf(section, sizeof(section), "%s", r.section);
        snprintf(r.section, sizeof(r.section), "%s", section);
        cr_assert_lt(n, ROWS_MAX);
        rows[n++] = r;
    }
    fclose(f);
    cr_assert(n > 0, "no rows under \"### %s\" in README.md", heading);
    return n;
}

/* Logs one mismatch, unless quiet (the test of the check itself expects dozens). */
#define MISMATCH(...)                                                                        \
    do {                                                                                     \
        if (!quiet)                                                                          \
            cr_log_warn(__VA_ARGS__);                                                        \
        bad++;                                                                               \
    } while (0)

/* The mismatches between README.md's table under heading and schema. */
static int mismatches(const char *heading, const struct ini_schema *schema, bool quiet)
{
    struct row rows[ROWS_MAX];
    int n = read_table(heading, rows), bad = 0;

    for (int s = 0; s < schema->n_sections; s++) {
        const struct section_spec *sec = &schema->sections[s];
        char name[CELL_MAX];
        snprintf(name, sizeof(name), "%s%s%s", sec->name, sec->named ? ":" : "",
                 !sec->named ? "" : sec->name_shape ? sec->name_shape : "NAME");
        for (int k = 0; k < sec->n_keys; k++) {
            const struct key_spec *key = &sec->keys[k];
            struct row *r = NULL;
            for (int i = 0; i < n && !r; i++)
                if (strcmp(rows[i].section, name) == 0 && strcmp(rows[i].key, key->name) == 0)
                    r = &rows[i];
            if (!r) {
                MISMATCH("%s: [%s] %s is not in README.md's table", heading, name, key->name);
                continue;
            }
            r->matched = true;
            if (key->def && strcmp(r->def, key->def) != 0)
                MISMATCH("%s: [%s] %s: README.md says default \"%s\", the parser \"%s\"",
                         heading, name, key->name, r->def, key->def);
            bool required = key->flags & KEY_REQUIRED;
            if ((strcmp(r->def, "(required)") == 0) != required)
                MISMATCH("%s: [%s] %s: README.md says \"%s\", the parser %s", heading, name,
                         key->name, r->def, required ? "requires it" : "does not");
        }
    }
    for (int i = 0; i < n; i++) {
        if (!rows[i].matched)
            MISMATCH("%s: README.md documents [%s] %s, which the parser does not have",
                     heading, rows[i].section, rows[i].key);
    }
    return bad;
}

Test(readme_keys, server_conf)
{
    cr_expect_eq(mismatches("server.conf", &server_config_schema, false), 0);
}

Test(readme_keys, qos_classes_conf)
{
    cr_expect_eq(mismatches("qos_classes.conf", &qos_classes_schema, false), 0);
}

Test(readme_keys, client_conf)
{
    cr_expect_eq(mismatches("client.conf", &client_config_schema, false), 0);
}

/* The check itself: a key the README lacks, a default it shows otherwise, a required key it
 * does not say is required, and every row the schema lacks are each one mismatch. */
Test(readme_keys, a_missing_or_wrong_row_is_caught)
{
    static const struct key_spec keys[] = {
        { .name = "listen_port", .type = KEY_UINT, .def = "51821" },
        { .name = "tun_device", .type = KEY_IFNAME, .flags = KEY_REQUIRED },
        { .name = "no_such_key_anywhere", .type = KEY_BOOL },
    };
    static const struct section_spec sections[] = { { .name = "server", .keys = keys,
                                                      .n_keys = 3 } };
    static const struct ini_schema schema = { sections, 1 };
    struct row rows[ROWS_MAX];
    int n = read_table("server.conf", rows);
    /* 3 of ours, plus every row but the two that matched */
    cr_expect_eq(mismatches("server.conf", &schema, true), 3 + n - 2);
}
