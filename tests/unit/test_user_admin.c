/* vpnctl's edits of the users and classes files (core/lib/user_admin.c, atomic_file.c): a new
 * user lands in both files, which are replaced whole (a new inode, no temporary file left),
 * the users file mode 0600 and the classes file keeping its mode; refused input (a bad name,
 * an existing user, an unknown class, an address the classes file's rules refuse) changes
 * nothing on disk; the lock file is held while a change is open; disable, enable and remove;
 * and what was written reads back through the same reader as the enclave's. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/atomic_file.h"
#include "vpn/server_config.h"
#include "vpn/user_admin.h"

static char dir[PATH_MAX];
static struct server_config cfg;
static struct user_admin a;
static char why[1024];
static const uint8_t TOKEN[TOKEN_LEN] = { 1, 2, 3 };

static const char *in_dir(const char *name)
{
    static char path[PATH_MAX + 64];
    cr_assert_lt(snprintf(path, sizeof(path), "%s/%s", dir, name), (int)sizeof(path));
    return path;
}

static void put(const char *name, const char *text, mode_t mode)
{
    test_secret_file(dir, name, text, mode, (uid_t)-1, NULL);
}

static char *slurp(const char *name)
{
    static char buf[8192];
    FILE *f = fopen(in_dir(name), "r");
    cr_assert(f, "%s", name);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void setup(void)
{
    test_tmpdir_make(dir, "test_user_admin");
    put("server.conf", "[server]\ntun_ip = 10.8.0.1\n[network]\nclient_ip_pool_start = "
                       "10.8.0.10\nclient_ip_pool_end = 10.8.0.200\n", 0644);
    put("users.conf", "# our users\n[user:alice]\nauth_token = "
                      "7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8\n", 0600);
    put("qos_classes.conf", "[class:vip]\nclassid = 1:10\nrate = 5Mbps\nceil = 10Mbps\n", 0640);
    struct config_error err;
    cr_assert_eq(server_config_load(in_dir("server.conf"), &cfg, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    user_admin_close(&a);
    test_tmpdir_remove(dir);
}

TestSuite(user_admin, .init = setup, .fini = teardown);

static ino_t inode(const char *name)
{
    struct stat st;
    cr_assert_eq(stat(in_dir(name), &st), 0);
    return st.st_ino;
}

static unsigned mode_of(const char *name)
{
    struct stat st;
    cr_assert_eq(stat(in_dir(name), &st), 0);
    return st.st_mode & 07777;
}

static bool temporaries_left(void)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q '\\.tmp'", dir);
    return system(cmd) == 0;
}

Test(user_admin, add_writes_both_files_whole)
{
    ino_t users_ino = inode("users.conf"), classes_ino = inode("qos_classes.conf");
    cr_assert_eq(user_admin_open(&a, &cfg, true, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(a.n_users, 1);
    /* The lock is held: another vpnctl cannot take it. */
    int fd = open(in_dir("users.conf.lock"), O_RDWR);
    cr_assert(fd >= 0);
    cr_expect_eq(flock(fd, LOCK_EX | LOCK_NB), -1, "locked while a change is open");
    cr_assert_eq(user_admin_add(&a, "carol", TOKEN, "vip", "10.8.0.5", 3, why, sizeof(why)), 0,
                 "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    user_admin_close(&a);
    cr_expect_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "released at close");
    close(fd);

    cr_expect_neq(inode("users.conf"), users_ino, "replaced by rename, not rewritten");
    cr_expect_neq(inode("qos_classes.conf"), classes_ino);
    cr_expect_eq(mode_of("users.conf"), 0600);
    cr_expect_eq(mode_of("qos_classes.conf"), 0640, "the classes file keeps its mode");
    cr_expect_not(temporaries_left());
    const char *u = slurp("users.conf");
    cr_expect(strstr(u, "# our users\n[user:alice]\n"), "the rest kept:\n%s", u);
    cr_expect(strstr(u, "[user:carol]\nauth_token = 0102030000000000000000000000000000000000"
                        "000000000000000000000000\n"), "%s", u);
    const char *c = slurp("qos_classes.conf");
    cr_expect(strstr(c, "[user:carol]\nclass = vip\nvpn_ip = 10.8.0.5\nmax_devices = 3\n"),
              "%s", c);

    /* The server reads it back as written. */
    struct config_error err;
    cr_assert_eq(server_config_load(in_dir("server.conf"), &cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(server_config_user_ip(&cfg, "carol"), 0x0a080005);
    cr_expect_eq(server_config_max_devices(&cfg, "carol"), 3);
    cr_assert_eq(user_admin_open(&a, &cfg, false, why, sizeof(why)), 0, "%s", why);
    const struct user_admin_user *got = user_admin_find(&a, "carol");
    cr_assert(got);
    cr_expect_eq(memcmp(got->token, TOKEN, TOKEN_LEN), 0);
}

/* Nothing on disk changes when a change is refused, whatever refused it. */
Test(user_admin, refusals_change_nothing)
{
    char *before_u = strdup(slurp("users.conf")), *before_c = strdup(slurp("qos_classes.conf"));
    static const struct { const char *name, *class_name, *ip; int devices; const char *want; }
        bad[] = {
        { "a:b", NULL, NULL, 0, "contains ':'" },
        { " x", NULL, NULL, 0, "space" },
        { "alice", NULL, NULL, 0, "exists already" },
        { "dave", "nosuch", NULL, 0, "no [class:nosuch]" },
        { "dave", NULL, "10.8.0.300", 0, "--ip" },
        { "dave", NULL, NULL, 17, "--devices" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(user_admin_open(&a, &cfg, true, why, sizeof(why)), 0, "%s", why);
        cr_expect_eq(user_admin_add(&a, bad[i].name, TOKEN, bad[i].class_name, bad[i].ip,
                                    bad[i].devices, why, sizeof(why)), -1, "case %zu", i);
        cr_expect(strstr(why, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, why, bad[i].want);
        user_admin_close(&a);
    }
    /* Refused by the classes file's own reader at commit: outside the tunnel network. The
     * message names the real file, and the users file is not written either. */
    cr_assert_eq(user_admin_open(&a, &cfg, true, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_add(&a, "dave", TOKEN, NULL, "10.9.0.5", 0, why, sizeof(why)), 0);
    cr_expect_eq(user_admin_commit(&a, why, sizeof(why)), -1);
    cr_expect(strstr(why, in_dir("qos_classes.conf")) && strstr(why, "[user:dave] vpn_ip") &&
              !strstr(why, ".conf.tmp"), "%s", why);
    user_admin_close(&a);
    cr_expect_str_eq(slurp("users.conf"), before_u);
    cr_expect_str_eq(slurp("qos_classes.conf"), before_c);
    cr_expect_not(temporaries_left());
    free(before_u);
    free(before_c);
}

Test(user_admin, disable_enable_remove)
{
    cr_assert_eq(user_admin_open(&a, &cfg, true, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_add(&a, "carol", TOKEN, "vip", NULL, 0, why, sizeof(why)), 0);
    cr_assert_eq(user_admin_set_disabled(&a, "carol", true, why, sizeof(why)), 0);
    cr_expect(user_admin_find(&a, "carol")->disabled);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    cr_expect(strstr(slurp("users.conf"), "[user:carol]\nauth_token = ") &&
              strstr(slurp("users.conf"), "\ndisabled = true\n"));
    cr_assert_eq(user_admin_set_disabled(&a, "carol", false, why, sizeof(why)), 0);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    cr_expect_null(strstr(slurp("users.conf"), "disabled"));
    cr_expect_eq(user_admin_set_disabled(&a, "nobody", true, why, sizeof(why)), -1);
    cr_expect(strstr(why, "no user 'nobody'"), "%s", why);
    cr_assert_eq(user_admin_remove(&a, "carol", why, sizeof(why)), 0);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    cr_expect_null(strstr(slurp("users.conf"), "carol"));
    cr_expect_null(strstr(slurp("qos_classes.conf"), "carol"));
    cr_expect(strstr(slurp("qos_classes.conf"), "[class:vip]"));
    cr_expect_eq(user_admin_remove(&a, "carol", why, sizeof(why)), -1);
}

/* A users file the enclave would refuse (others may read it) is not touched by vpnctl either;
 * a missing one is created, mode 0600; the classes file is created 0644 (the server reads it
 * as its own user on reload). */
Test(user_admin, files_missing_or_refused)
{
    cr_assert_eq(chmod(in_dir("users.conf"), 0644), 0);
    cr_expect_eq(user_admin_open(&a, &cfg, true, why, sizeof(why)), -1);
    cr_expect(strstr(why, "chmod 600"), "%s", why);
    user_admin_close(&a);
    unlink(in_dir("users.conf"));
    unlink(in_dir("qos_classes.conf"));
    struct config_error err;
    cr_assert_eq(server_config_load(in_dir("server.conf"), &cfg, &err), 0, "%s", err.msg);
    cr_assert_eq(user_admin_open(&a, &cfg, true, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(a.n_users, 0);
    cr_assert_eq(user_admin_add(&a, "erin", TOKEN, NULL, "10.8.0.7", 0, why, sizeof(why)), 0);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    cr_expect_eq(mode_of("users.conf"), 0600);
    cr_expect_eq(mode_of("qos_classes.conf"), 0644);
    cr_assert_eq(server_config_load(in_dir("server.conf"), &cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(server_config_user_ip(&cfg, "erin"), 0x0a080007, "found beside server.conf");
}

static int refuse(const char *tmp, void *ctx, char *out, size_t len)
{
    *(bool *)ctx = access(tmp, F_OK) == 0;
    snprintf(out, len, "refused");
    return -1;
}

/* atomic_file: a refused check leaves the old file; a symbolic link at the path is replaced,
 * never followed. */
Test(user_admin, atomic_replace)
{
    put("f", "old\n", 0600);
    bool saw_tmp = false;
    cr_expect_eq(atomic_file_replace(in_dir("f"), "new\n", 4, 0600, refuse, &saw_tmp, why,
                                     sizeof(why)), -1);
    cr_expect(saw_tmp, "the check reads the new file before it replaces the old one");
    cr_expect_str_eq(slurp("f"), "old\n");
    cr_expect_not(temporaries_left());
    char target[PATH_MAX + 64];
    snprintf(target, sizeof(target), "%s", in_dir("f"));
    cr_assert_eq(symlink(target, in_dir("link")), 0);
    cr_assert_eq(atomic_file_write(in_dir("link"), "mine\n", 5, 0640, why, sizeof(why)), 0,
                 "%s", why);
    cr_expect_str_eq(slurp("f"), "old\n", "the link's target is untouched");
    struct stat st;
    cr_assert_eq(lstat(in_dir("link"), &st), 0);
    cr_expect(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640);
}
