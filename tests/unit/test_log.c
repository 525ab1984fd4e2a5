/* Where log lines go (core/lib/log.c): journald's priority prefixes when stderr is the stream
 * JOURNAL_STREAM names, and only then; a log file opened anew after a rotation, with lines of
 * other threads going whole to one file or the other; a symbolic link at the log path refused.
 * Criterion runs each test in its own process, so log.c's state starts afresh in each. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "testutil.h"
#include "vpn/log.h"

static char dir[PATH_MAX];

static void make_dir(void)
{
    test_tmpdir_make(dir, "test_log");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(log, .init = make_dir, .fini = remove_dir);

/* The whole file at path, NUL-terminated, in a static buffer. */
static const char *slurp(const char *path)
{
    static char buf[1 << 20];
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0, "cannot open %s", path);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    cr_assert(n >= 0);
    buf[n] = '\0';
    return buf;
}

/* Points fd 2 at a new file of the test directory; returns its path. */
static const char *stderr_to_file(const char *name)
{
    static char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    cr_assert(dup2(fd, 2) == 2);
    close(fd);
    return path;
}

static void set_journal_stream_of(int fd, long long ino_delta)
{
    struct stat st;
    cr_assert(fstat(fd, &st) == 0);
    char v[64];
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
    cr_assert(setenv("JOURNAL_STREAM", v, 1) == 0);
}

Test(log, journal_stream_gets_syslog_priorities)
{
    const char *path = stderr_to_file("journal");
    set_journal_stream_of(2, 0);
    cr_assert_eq(log_init(LOG_DEBUG, NULL), 0);
    log_debug("d %d", 1);
    log_info("Starting VPN server...");
    log_warn("w");
    log_error("e");
    cr_assert_str_eq(slurp(path), "<7>[DEBUG] d 1\n<6>[INFO] Starting VPN server...\n"
                                  "<4>[WARN] w\n<3>[ERROR] e\n");
}

Test(log, other_stream_or_no_variable_gets_the_briefs_lines)
{
    const char *path = stderr_to_file("terminal");
    set_journal_stream_of(2, 1);        /* the service's stream, but not our stderr */
    cr_assert_eq(log_init(LOG_INFO, NULL), 0);
    log_info("a");
    cr_assert(setenv("JOURNAL_STREAM", "garbage", 1) == 0);
    cr_assert_eq(log_init(LOG_INFO, NULL), 0);
    log_info("b");
    cr_assert(unsetenv("JOURNAL_STREAM") == 0);
    cr_assert_eq(log_init(LOG_INFO, NULL), 0);
    log_warn("c");
    cr_assert_str_eq(slurp(path), "[INFO] a\n[INFO] b\n[WARN] c\n");
}

Test(log, journal_prefix_is_not_in_the_daemons_mirror)
{
    stderr_to_file("journal");
    set_journal_stream_of(2, 0);
    cr_assert_eq(log_init(LOG_INFO, NULL), 0);
    int p[2];
    cr_assert(pipe(p) == 0);
    log_set_mirror(p[1]);
    log_info("Enclave process started (PID: 7)");
    log_set_mirror(-1);
    close(p[1]);
    char buf[128] = "";
    cr_assert(read(p[0], buf, sizeof(buf) - 1) > 0);
    cr_assert_str_eq(buf, "[INFO] Enclave process started (PID: 7)\n");
}

Test(log, file_lines_are_stamped_and_not_prefixed)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/server.log", dir);
    stderr_to_file("journal");
    set_journal_stream_of(2, 0);        /* a file wins over the journal */
    cr_assert_eq(log_init(LOG_INFO, path), 0);
    log_warn("x");
    const char *s = slurp(path);
    cr_assert(strlen(s) == strlen("2026-01-01T00:00:00Z [WARN] x\n"), "%s", s);
    cr_assert(s[4] == '-' && s[10] == 'T' && s[19] == 'Z', "%s", s);
    cr_assert_str_eq(s + 21, "[WARN] x\n");
    struct stat st;
    cr_assert(stat(path, &st) == 0);
    cr_assert_eq(st.st_mode & 0777, 0640);
}

Test(log, reopen_after_rename_creates_the_file_again)
{
    char path[PATH_MAX + 16], old[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/server.log", dir);
    snprintf(old, sizeof(old), "%s/server.log.1", dir);
    cr_assert_eq(log_init(LOG_INFO, path), 0);
    log_info("before");
    cr_assert(rename(path, old) == 0);
    log_info("renamed, not reopened");
    cr_assert_eq(log_reopen(), 1);
    log_info("after");
    cr_assert(strstr(slurp(old), "[INFO] before\n"));
    cr_assert(strstr(slurp(old), "[INFO] renamed, not reopened\n"));
    cr_assert_not(strstr(slurp(old), "after\n"));
    const char *s = slurp(path);
    cr_assert(strstr(s, "[INFO] after\n") && !strstr(s, "before"), "%s", s);
}

Test(log, reopen_failure_keeps_the_old_file)
{
    char sub[PATH_MAX + 16], path[PATH_MAX + 32];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    snprintf(path, sizeof(path), "%s/server.log", sub);
    cr_assert(mkdir(sub, 0700) == 0);
    cr_assert_eq(log_init(LOG_INFO, path), 0);
    char moved[PATH_MAX + 16];
    snprintf(moved, sizeof(moved), "%s/moved", dir);
    cr_assert(rename(sub, moved) == 0);     /* the directory is gone: no new file can be made */
    cr_assert_eq(log_reopen(), -ENOENT);
    log_info("still here");
    char kept[PATH_MAX + 32];
    snprintf(kept, sizeof(kept), "%s/server.log", moved);
    cr_assert(strstr(slurp(kept), "[INFO] still here\n"));
}

Test(log, reopen_without_a_file_does_nothing)
{
    const char *path = stderr_to_file("terminal");
    cr_assert_eq(log_init(LOG_INFO, NULL), 0);
    cr_assert_eq(log_reopen(), 0);
    log_info("on stderr");
    cr_assert_str_eq(slurp(path), "[INFO] on stderr\n");
}

Test(log, symbolic_link_at_the_path_is_refused)
{
    char target[PATH_MAX + 16], path[PATH_MAX + 16];
    snprintf(target, sizeof(target), "%s/precious", dir);
    snprintf(path, sizeof(path), "%s/server.log", dir);
    cr_assert(symlink(target, path) == 0);
    cr_assert_eq(log_init(LOG_INFO, path), -ELOOP);
    cr_assert(access(target, F_OK) != 0, "the link's target was created");
}

/* Writers in other threads while the file is reopened over and over: every line is whole and
 * in exactly one of the files. */
enum { WRITERS = 2, LINES_EACH = 4000 };

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < LINES_EACH; i++)
        log_info("writer %ld line %05d", id, i);
    return NULL;
}

static int count_lines(const char *s, int *bad)
{
    int n = 0;
    for (const char *line = s; *line;) {
        const char *end = strchr(line, '\n');
        cr_assert(end, "an unterminated line");
        long id;
        int i;
        char tail;
        if (sscanf(line + 21, "[INFO] writer %ld line %5d%c", &id, &i, &tail) != 3 ||
            tail != '\n')
            (*bad)++;
        n++;
        line = end + 1;
    }
    return n;
}

Test(log, reopen_while_threads_write)
{
    char path[PATH_MAX + 16], old[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/server.log", dir);
    cr_assert_eq(log_init(LOG_INFO, path), 0);
    pthread_t t[WRITERS];
    for (long i = 0; i < WRITERS; i++)
        cr_assert(pthread_create(&t[i], NULL, writer, (void *)i) == 0);
    int total = 0, bad = 0;
    for (int r = 0; r < 20; r++) {
        snprintf(old, sizeof(old), "%s/server.log.%d", dir, r);
        cr_assert(rename(path, old) == 0);
        cr_assert_eq(log_reopen(), 1);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    for (int r = 0; r < 20; r++) {
        snprintf(old, sizeof(old), "%s/server.log.%d", dir, r);
        total += count_lines(slurp(old), &bad);
    }
    total += count_lines(slurp(path), &bad);
    cr_assert_eq(bad, 0);
    cr_assert_eq(total, WRITERS * LINES_EACH);
}
