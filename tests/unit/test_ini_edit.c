/* The INI text editor (core/lib/ini_edit.c), the one rule vpnctl edits the server's files by:
 * a key replaced where it stands, a new key after its section's last key (comments that follow
 * stay with what follows), a new section at the end; sections removed whole; every other line
 * kept byte for byte; input that would break the file's lines refused. The edited text is then
 * read back by the real reader (ini.h) to make sure it still parses as intended. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/ini.h"
#include "vpn/ini_edit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *text_of(const char *s)
{
    char *t = strdup(s);
    cr_assert(t);
    return t;
}

static const char BASE[] =
    "# users\n"
    "[user:alice]\n"
    "auth_token = aa\n"
    "\n"
    "# bob is the builder\n"
    "[user:bob]\n"
    "auth_token = bb\n"
    "disabled = true\n";

Test(ini_edit, set_replaces_in_place_and_appends)
{
    char *t = text_of(BASE);
    cr_assert_eq(ini_edit_set(&t, "user:alice", "auth_token", "cc"), 0);
    cr_expect_str_eq(t, "# users\n[user:alice]\nauth_token = cc\n\n# bob is the builder\n"
                        "[user:bob]\nauth_token = bb\ndisabled = true\n");
    cr_assert_eq(ini_edit_set(&t, "user:alice", "disabled", "true"), 0);
    cr_expect_str_eq(t, "# users\n[user:alice]\nauth_token = cc\ndisabled = true\n\n"
                        "# bob is the builder\n[user:bob]\nauth_token = bb\ndisabled = true\n",
                     "after alice's last key, not after bob's comment");
    cr_assert_eq(ini_edit_set(&t, "user:carol", "auth_token", "dd"), 0);
    cr_expect(strstr(t, "disabled = true\n\n[user:carol]\nauth_token = dd\n"),
              "a new section at the end, after a blank line:\n%s", t);
    free(t);

    t = text_of("[a]\nk = 1");         /* no newline at the end */
    cr_assert_eq(ini_edit_set(&t, "a", "j", "2"), 0);
    cr_expect_str_eq(t, "[a]\nk = 1\nj = 2\n");
    free(t);
    t = text_of("");
    cr_assert_eq(ini_edit_set(&t, "s", "k", "v"), 0);
    cr_expect_str_eq(t, "[s]\nk = v\n");
    free(t);
    t = text_of("  [ a ]  \n  k   =  old  \n");     /* blanks are the reader's, not part of names */
    cr_assert_eq(ini_edit_set(&t, "a", "k", "new"), 0);
    cr_expect_str_eq(t, "  [ a ]  \nk = new\n");
    free(t);
}

Test(ini_edit, remove_key_and_section)
{
    char *t = text_of(BASE);
    cr_expect_eq(ini_edit_remove_key(&t, "user:bob", "disabled"), 1);
    cr_expect_eq(ini_edit_remove_key(&t, "user:bob", "disabled"), 0, "already gone");
    cr_expect_eq(ini_edit_remove_key(&t, "user:nobody", "x"), 0);
    cr_expect_str_eq(t, "# users\n[user:alice]\nauth_token = aa\n\n# bob is the builder\n"
                        "[user:bob]\nauth_token = bb\n");
    cr_expect_eq(ini_edit_remove_section(&t, "user:alice"), 1);
    cr_expect_str_eq(t, "# users\n# bob is the builder\n[user:bob]\nauth_token = bb\n",
                     "bob's comment stays with bob");
    cr_expect(ini_edit_has_section(t, "user:bob"));
    cr_expect_not(ini_edit_has_section(t, "user:alice"));
    cr_expect_eq(ini_edit_remove_section(&t, "user:bob"), 1);
    cr_expect_str_eq(t, "# users\n# bob is the builder\n");
    cr_expect_eq(ini_edit_remove_section(&t, "user:bob"), 0);
    free(t);
}

/* Every section of a prefix: a user's WireGuard devices, and only theirs. */
Test(ini_edit, remove_sections_by_prefix)
{
    char *t = text_of("[user:al]\nauth_token = aa\n\n[wireguard:al:phone]\npublic_key = p\n\n"
                      "[wireguard:alice:phone]\npublic_key = q\n\n[wireguard:al:laptop]\n"
                      "public_key = r\n");
    cr_expect_eq(ini_edit_remove_sections(&t, "wireguard:al:"), 2);
    cr_expect_str_eq(t, "[user:al]\nauth_token = aa\n\n[wireguard:alice:phone]\n"
                        "public_key = q\n\n", "alice's device is not al's");
    cr_expect_eq(ini_edit_remove_sections(&t, "wireguard:al:"), 0);
    cr_expect_eq(ini_edit_remove_sections(&t, ""), -1);
    cr_expect_eq(ini_edit_remove_sections(&t, "a]b"), -1);
    free(t);
}

/* A key of the same name in another section, or in a comment, is not the one edited. */
Test(ini_edit, only_the_named_section_and_real_keys)
{
    char *t = text_of("[a]\n# k = commented\nk = 1\n[b]\nk = 2\n");
    cr_assert_eq(ini_edit_set(&t, "b", "k", "3"), 0);
    cr_assert_eq(ini_edit_set(&t, "a", "k", "4"), 0);
    cr_expect_str_eq(t, "[a]\n# k = commented\nk = 4\n[b]\nk = 3\n");
    cr_expect_eq(ini_edit_remove_key(&t, "a", "k"), 1);
    cr_expect_str_eq(t, "[a]\n# k = commented\n[b]\nk = 3\n");
    free(t);
}

static int count_entries(void *ctx, const char *file, int line, const char *section,
                         const char *key, const char *value, struct config_error *err)
{
    (void)file, (void)line, (void)section, (void)value, (void)err;
    ++*(int *)ctx;
    return key && strcmp(key, "evil") == 0 ? -1 : 0;
}

/* What would add a line, a section or a key the operator did not ask for is refused, and the
 * text is unchanged. */
Test(ini_edit, refuses_what_would_break_lines)
{
    static const struct { const char *section, *key, *value; } bad[] = {
        { "a", "k", "v\nevil = 1" }, { "a", "k", "v\r\n[b]" }, { "a]\n[b", "k", "v" },
        { "a", "k = x\nevil", "v" }, { "a", "k=", "v" }, { "", "k", "v" }, { "a", "", "v" },
        { "a", "#k", "v" }, { "a", "[k]", "v" }, { "a[b", "k", "v" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        char *t = text_of("[a]\nk = 1\n");
        cr_expect_eq(ini_edit_set(&t, bad[i].section, bad[i].key, bad[i].value), -1,
                     "case %zu accepted", i);
        cr_expect_str_eq(t, "[a]\nk = 1\n", "case %zu changed the text", i);
        int n = 0;
        struct config_error err;
        cr_expect_eq(ini_parse_buffer("t", t, strlen(t), count_entries, &n, &err), 0);
        free(t);
    }
    /* What is accepted reads back as exactly one entry more. */
    char *t = text_of("[a]\nk = 1\n");
    cr_assert_eq(ini_edit_set(&t, "user:x y", "auth_token", "v = w ; not a comment"), 0);
    int n = 0;
    struct config_error err;
    cr_expect_eq(ini_parse_buffer("t", t, strlen(t), count_entries, &n, &err), 0, "%s", err.msg);
    cr_expect_eq(n, 4, "[a], k, [user:x y], auth_token");
    free(t);
}
