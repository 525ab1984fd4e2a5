/* Opening the enclave's users file (enclave/users.c): who may own it, what its mode may be,
 * and that a symbolic link is refused rather than followed. Each refusal names the path and
 * says what to do; an accepted file is loaded. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "../../enclave/users.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define USERS "[user:alice]\n" \
              "auth_token = 7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8\n"
enum { OWN = -1, OTHER_UID = 65534 };

static char dir[PATH_MAX];
static struct user_table table;

static void make_dir(void)
{
    test_tmpdir_make(dir, "test_users");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(users, .init = make_dir, .fini = remove_dir);

static const struct {
    const char *what;
    mode_t mode;
    int owner;          /* OWN: the test's uid */
    bool link;          /* given as a symbolic link to the file */
    const char *want;   /* NULL: accepted; else a phrase of the refusal */
} CASES[] = {
    { "0600, ours", 0600, OWN, false, NULL },
    { "owned by another uid", 0600, OTHER_UID, false, "owned by uid 65534" },
    { "a symbolic link to a good file", 0600, OWN, true, "symbolic link" },
    { "mode 0640", 0640, OWN, false, "chmod 600" },
};

/* Through users_load (path), and through users_open + users_load_fd, as the supervisor does
 * (it keeps the descriptor to re-read the file on SIGHUP). */
Test(users, owner_mode_and_symlinks)
{
    for (size_t i = 0; i < N(CASES); i++) {
        if (CASES[i].owner != OWN && geteuid() != 0) {
            cr_log_warn("%s: needs root to chown, skipped", CASES[i].what);
            continue;
        }
        const char *path = test_secret_file(dir, "users.conf", USERS, CASES[i].mode,
                                            (uid_t)CASES[i].owner, CASES[i].link ? "link.conf" : NULL);
        for (int via_fd = 0; via_fd < 2; via_fd++) {
            struct config_error err = { "" };
            int rc;
            if (via_fd) {
                int fd = users_open(path, &err);
                rc = fd < 0 ? -1 : users_load_fd(fd, path, &table, &err);
                if (fd >= 0)
                    close(fd);
            } else {
                rc = users_load(path, &table, &err);
            }
            const char *how = via_fd ? "users_open + users_load_fd" : "users_load";
            if (!CASES[i].want) {
                cr_expect_eq(rc, 0, "%s, %s: refused: %s", CASES[i].what, how, err.msg);
                cr_expect(rc != 0 || (table.count == 1 && users_find(&table, "alice") == 0),
                          "%s, %s: not loaded", CASES[i].what, how);
                continue;
            }
            cr_expect_eq(rc, -1, "%s, %s: accepted", CASES[i].what, how);
            cr_expect(strstr(err.msg, CASES[i].want), "%s, %s: \"%s\" lacks \"%s\"",
                      CASES[i].what, how, err.msg, CASES[i].want);
            cr_expect(strstr(err.msg, path), "%s, %s: \"%s\" does not name %s", CASES[i].what,
                      how, err.msg, path);
        }
    }
}

/* User names follow the rule of every door (username.h; tests/unit/test_username.c has the
 * whole table); the refusal names the header's line and says which part of the rule. */
Test(users, names_outside_the_rule_are_refused_at_their_header)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        { "[user:a:b]\n", "users.conf:1: [user:a:b]: user name contains ':'" },
        { "[user: alice]\n", "users.conf:1: [user: alice]: user name begins or ends with a space" },
        { "[user:]\n", "users.conf:1: [user:]: user name is empty" },
        { "# x\n[user:bad\xff]\n", "user name is not well-formed UTF-8" },
        { "[user:0123456789012345678901234567890123456789012345678901234567890123]\n",
          "user name is longer than 63 bytes; expected 1 to 63 bytes of UTF-8" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        const char *path = test_secret_file(dir, "users.conf", bad[i].text, 0600, (uid_t)-1,
                                            NULL);
        struct config_error err = { "" };
        cr_expect_eq(users_load(path, &table, &err), -1, "case %zu accepted", i);
        cr_expect(strstr(err.msg, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  bad[i].want);
    }
}

static int ended_count[3];
static void count_ended(const char *name, enum user_end why, void *ctx)
{
    (void)name;
    (void)ctx;
    ended_count[why]++;
}

/* "disabled = true" (vpnctl user disable): read, refused when malformed or given twice, and a
 * reload that disables a user ends its sessions (USER_END_DISABLED); enabling is a change
 * that ends nothing. */
Test(users, disabled_users)
{
    const char *path = test_secret_file(dir, "users.conf", USERS "disabled = true\n", 0600,
                                        (uid_t)-1, NULL);
    struct config_error err = { "" };
    cr_assert_eq(users_load(path, &table, &err), 0, "%s", err.msg);
    cr_expect_eq(table.users[0].disabled, 1);
    static const struct { const char *text, *want; } bad[] = {
        { USERS "disabled = maybe\n",
          "users.conf:3: [user:alice] disabled: expected true or false" },
        { USERS "disabled = false\ndisabled = true\n", "disabled: given twice" },
        { USERS "enabled = true\n", "unknown key (expected auth_token or disabled)" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        path = test_secret_file(dir, "users.conf", bad[i].text, 0600, (uid_t)-1, NULL);
        cr_expect_eq(users_load(path, &table, &err), -1, "case %zu accepted", i);
        cr_expect(strstr(err.msg, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  bad[i].want);
    }

    static struct user_table live, next;
    path = test_secret_file(dir, "users.conf", USERS, 0600, (uid_t)-1, NULL);
    cr_assert_eq(users_load(path, &live, &err), 0);
    next = live;
    next.users[0].disabled = 1;
    uint32_t gen = live.users[0].gen;
    cr_expect_eq(users_merge(&live, &next, 1, count_ended, NULL), 1);
    cr_expect_eq(ended_count[USER_END_DISABLED], 1);
    cr_expect_eq(live.users[0].disabled, 1);
    cr_expect_neq(live.users[0].gen, gen, "its keys die");
    cr_expect_eq(users_merge(&live, &next, 1, count_ended, NULL), 0, "nothing changed");
    next.users[0].disabled = 0;
    gen = live.users[0].gen;
    cr_expect_eq(users_merge(&live, &next, 1, count_ended, NULL), 1);
    cr_expect_eq(live.users[0].disabled, 0);
    cr_expect_eq(live.users[0].gen, gen, "enabling ends nothing");
    cr_expect_eq(ended_count[USER_END_DISABLED], 1);
    cr_expect_eq(ended_count[USER_END_REMOVED] + ended_count[USER_END_TOKEN_CHANGED], 0);
}
