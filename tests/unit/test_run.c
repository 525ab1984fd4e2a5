/* Running system tools: found in the fixed system directories only, never through the
 * inherited PATH, and started with a fixed environment. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/run.h"

static char dir[PATH_MAX], marker[PATH_MAX + 16];

/* A fake `tc` (and `iptables`) first in PATH that leaves a marker file when it runs. */
static void setup(void)
{
    test_tmpdir_make(dir, "run");
    snprintf(marker, sizeof(marker), "%s/marker", dir);
    static const char *const fakes[] = { "tc", "iptables", "ip" };
    for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/%s", dir, fakes[i]);
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fprintf(f, "#!/bin/sh\necho \"$0\" >>'%s'\nexit 0\n", marker);
        fclose(f);
        cr_assert_eq(chmod(path, 0755), 0);
    }
    char path[3 * PATH_MAX];
    snprintf(path, sizeof(path), "%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    cr_assert_eq(setenv("PATH", path, 1), 0);
}

static void teardown(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(run, .init = setup, .fini = teardown);

Test(run, fake_tc_first_in_path_is_not_run)
{
    char *argv[] = { "tc", "-V", NULL };
    char err[256];
    cr_expect_eq(run_cmd(argv, err, sizeof(err)), 0, "tc -V: %s", err);
    cr_expect_neq(access(marker, F_OK), 0, "the tc from PATH ran, not the system's");
}

Test(run, fake_iptables_first_in_path_is_not_run)
{
    char *argv[] = { "iptables", "--version", NULL };
    char err[256];
    (void)run_cmd(argv, err, sizeof(err));
    cr_expect_neq(access(marker, F_OK), 0, "the iptables from PATH ran, not the system's");
}

Test(run, find_looks_in_the_system_directories_in_order)
{
    static const struct {
        const char *name, *dirs[4];     /* where each may be: the sbin ones come first */
    } tools[] = {
        { "tc", { "/usr/sbin/tc", "/sbin/tc" } },
        { "iptables", { "/usr/sbin/iptables", "/sbin/iptables" } },
        { "ip", { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" } },
        { "sh", { "/usr/bin/sh", "/bin/sh" } },
    };
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        char path[PATH_MAX];
        cr_assert_eq(run_find(tools[i].name, path, sizeof(path)), 0, "%s", tools[i].name);
        const char *want = NULL;
        for (size_t d = 0; d < 4 && tools[i].dirs[d] && !want; d++)
            if (access(tools[i].dirs[d], X_OK) == 0)
                want = tools[i].dirs[d];
        cr_expect_str_eq(path, want ? want : "(none)", "%s", tools[i].name);
    }
}

Test(run, find_refuses_paths_and_missing_tools)
{
    char path[PATH_MAX];
    cr_expect_eq(run_find("no-such-tool-vpnse", path, sizeof(path)), -ENOENT);
    cr_expect_eq(run_find("../sbin/tc", path, sizeof(path)), -EINVAL);
    cr_expect_eq(run_find("/usr/sbin/tc", path, sizeof(path)), -EINVAL);
    cr_expect_eq(run_find("", path, sizeof(path)), -EINVAL);
}

Test(run, missing_tool_reported)
{
    char *argv[] = { "no-such-tool-vpnse", NULL };
    char err[256];
    cr_expect_neq(run_cmd(argv, err, sizeof(err)), 0);
    cr_expect_str_eq(err, "cannot run no-such-tool-vpnse");
}

/* The tool sees none of our environment (TC_LIB_DIR would redirect tc's plugins). */
Test(run, environment_not_inherited)
{
    cr_assert_eq(setenv("TC_LIB_DIR", dir, 1), 0);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    char *argv[] = { "env", NULL };
    pid_t pid = run_spawn(argv, -1, p[1], -1);
    close(p[1]);
    cr_assert(pid > 0);
    char out[4096];
    run_drain(p[0], out, sizeof(out));
    close(p[0]);
    cr_expect_eq(run_wait(pid), 0);
    cr_expect_null(strstr(out, "TC_LIB_DIR"), "inherited: %s", out);
    cr_expect_not_null(strstr(out, "PATH=/usr/sbin:/sbin:/usr/bin:/bin\n"), "%s", out);
}
