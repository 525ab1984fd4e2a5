/* Running system tools: found in the fixed system directories only, never through the
 * inherited PATH, and started with a fixed environment. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

/* ---- run_start: exactly these descriptors, signals as new, this environment ---------- */

/* Runs argv[0] (an absolute path) with map and envp; returns what it wrote to fd 1 (a pipe
 * added to the map) and its status. */
static int start_and_read(char *const argv[], char *const envp[], struct run_fd *map, int n,
                          char *out, size_t cap)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    map[n++] = (struct run_fd){ p[1], STDOUT_FILENO };
    struct run_child c = { .path = argv[0], .argv = argv, .envp = envp, .fds = map,
                           .n_fds = n };
    pid_t pid = run_start(&c);
    close(p[1]);
    cr_assert(pid > 0, "run_start: %d", (int)pid);
    run_drain(p[0], out, cap);
    close(p[0]);
    return run_wait(pid);
}

Test(run, start_gives_exactly_the_mapped_descriptors)
{
    /* A descriptor that is not close-on-exec and not in the map must not get through, nor
     * may whatever Criterion has open; two mapped ones must, at their numbers. */
    int leak = open("/dev/null", O_RDONLY);
    int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert(leak >= 0 && a >= 0 && b >= 0);
    struct run_fd map[4] = { { a, 5 }, { b, 9 } };
    char *argv[] = { "/bin/ls", "-1", "/proc/self/fd", NULL };
    char *envp[] = { NULL };
    char out[256];
    int status = start_and_read(argv, envp, map, 2, out, sizeof(out));
    cr_expect_eq(status, 0);
    /* 0 and 2 were not in the map: closed, so ls's own directory descriptor takes 0 */
    cr_expect_str_eq(out, "0\n1\n5\n9\n", "descriptors of the child: %s", out);
    close(leak);
    close(a);
    close(b);
}

Test(run, start_moves_a_source_that_is_another_target)
{
    /* Descriptor T is both the source of the child's stdout and the target of another pipe.
     * T is free here (Criterion's own descriptors are low). */
    enum { T = 40 };
    int p1[2], p2[2];
    cr_assert_eq(fcntl(T, F_GETFD), -1);
    cr_assert_eq(pipe2(p1, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(p2, O_CLOEXEC), 0);
    cr_assert_eq(dup3(p1[1], T, O_CLOEXEC), T);
    close(p1[1]);
    struct run_fd map[2] = { { T, STDOUT_FILENO }, { p2[1], T } };
    char *argv[] = { "/bin/bash", "-c", "echo one; echo forty >&40", NULL };   /* dash: one digit */
    char *envp[] = { "PATH=/usr/bin:/bin", NULL };
    struct run_child c = { .path = argv[0], .argv = argv, .envp = envp, .fds = map, .n_fds = 2 };
    pid_t pid = run_start(&c);
    cr_assert(pid > 0);
    close(T);
    close(p2[1]);
    char o1[64], o2[64];
    run_drain(p1[0], o1, sizeof(o1));
    run_drain(p2[0], o2, sizeof(o2));
    cr_expect_eq(run_wait(pid), 0);
    cr_expect_str_eq(o1, "one\n");
    cr_expect_str_eq(o2, "forty\n");
    close(p1[0]);
    close(p2[0]);
}

Test(run, start_clears_the_signal_mask_and_ignored_signals)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    cr_assert_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    struct run_fd map[2];
    char *argv[] = { "/bin/cat", "/proc/self/status", NULL };
    char *envp[] = { NULL };
    char out[4096];
    cr_expect_eq(start_and_read(argv, envp, map, 0, out, sizeof(out)), 0);
    cr_expect_not_null(strstr(out, "SigBlk:\t0000000000000000\n"), "%s", out);
    /* Signals 32 and 33 are glibc's own (thread cancellation, setxid): sigaction refuses
     * them, and whatever we inherited for them stays; glibc sets them up itself when used. */
    const char *ign = strstr(out, "SigIgn:\t");
    cr_assert_not_null(ign, "%s", out);
    unsigned long long mask = strtoull(ign + 8, NULL, 16);
    cr_expect_eq(mask & ~(3ULL << 31), 0, "ignored in the child: %llx", mask);
}

Test(run, start_passes_exactly_the_environment_given)
{
    cr_assert_eq(setenv("VPNSE_TEST_LEAK", "1", 1), 0);
    struct run_fd map[2];
    char *argv[] = { "/usr/bin/env", NULL };
    char *envp[] = { "A=1", "B=two", NULL };
    char out[256];
    cr_expect_eq(start_and_read(argv, envp, map, 0, out, sizeof(out)), 0);
    cr_expect_str_eq(out, "A=1\nB=two\n");
}

Test(run, start_says_why_exec_failed_when_asked)
{
    static const struct {
        const char *path;
        bool say;
        const char *want;
    } cases[] = {
        { "/nonexistent/vpn-enclave", true,
          "[ERROR] cannot run /nonexistent/vpn-enclave: No such file or directory\n" },
        { "/nonexistent/vpn-enclave", false, "" },
        { "/dev/null", true, "[ERROR] cannot run /dev/null: Permission denied\n" },
        { "", true, "" },       /* no program: 127 without a word, as run_spawn wants it */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int p[2];
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        struct run_fd map[1] = { { p[1], STDERR_FILENO } };
        char *argv[] = { (char *)cases[i].path, NULL };
        char *envp[] = { NULL };
        struct run_child c = { .path = cases[i].path, .argv = argv, .envp = envp, .fds = map,
                               .n_fds = 1, .say_exec_error = cases[i].say };
        pid_t pid = run_start(&c);
        close(p[1]);
        cr_assert(pid > 0);
        char err[256];
        run_drain(p[0], err, sizeof(err));
        close(p[0]);
        cr_expect_eq(run_wait(pid), 127, "case %zu", i);
        cr_expect_str_eq(err, cases[i].want, "case %zu", i);
    }
}

Test(run, start_refuses_a_bad_map)
{
    char *argv[] = { "/bin/true", NULL };
    char *envp[] = { NULL };
    static const struct run_fd dup_target[2] = { { 0, 3 }, { 1, 3 } };
    static const struct run_fd too_high[1] = { { 0, RUN_FDS_MAX } };
    static const struct run_fd negative[1] = { { 0, -1 } };
    const struct run_fd *maps[] = { dup_target, too_high, negative };
    int counts[] = { 2, 1, 1 };
    for (size_t i = 0; i < 3; i++) {
        struct run_child c = { .path = argv[0], .argv = argv, .envp = envp, .fds = maps[i],
                               .n_fds = counts[i] };
        cr_expect_eq(run_start(&c), -EINVAL, "map %zu", i);
    }
}

/* run_cmd_input: the text arrives on the tool's stdin whole, its stderr's first line comes
 * back; run_capture keeps its stdout. (The client's helper feeds ip -batch and nft -f so.) */
Test(run, input_goes_to_stdin_and_output_comes_back)
{
    char err[256], out[256];
    char *const cat_to_stderr[] = { "sh", "-c", "cat >&2; exit 3", NULL };
    cr_expect_eq(run_cmd_input(cat_to_stderr, "first line\nsecond\n", err, sizeof(err)), 3);
    cr_expect_str_eq(err, "first line");
    char *const count[] = { "sh", "-c", "wc -c >&2", NULL };
    static char big[20000];
    memset(big, 'x', sizeof(big) - 1);
    cr_expect_eq(run_cmd_input(count, big, err, sizeof(err)), 0);
    cr_expect_eq(atoi(err), (int)sizeof(big) - 1, "all of it: %s", err);
    char *const echo[] = { "echo", "captured", NULL };
    cr_expect_eq(run_capture(echo, out, sizeof(out)), 0);
    cr_expect_str_eq(out, "captured\n");
    char *const missing[] = { "no-such-tool-here", NULL };
    cr_expect_eq(run_capture(missing, out, sizeof(out)), 127);
}
