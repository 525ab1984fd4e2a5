/* Line-oriented logging in the brief's "[LEVEL] message" format. Each line is formatted into a
 * stack buffer and written with one write(2), so lines from several threads never interleave. */
#include "vpn/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static int log_mirror = -1;
static int log_threshold = LOG_INFO;
static int log_stamped;     /* file logs carry a timestamp; the terminal gets the brief's lines */
static bool log_journal;    /* stderr is journald's stream: each line gets its priority */
static char log_path[PATH_MAX];     /* the file of log_init, for log_reopen; "" for stderr */

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
/* sd-daemon(3): a line starting "<N>" is logged by journald at syslog priority N, which
 * `journalctl -p` filters on: debug 7, info 6, warning 4, err 3. (<syslog.h> is not included:
 * its LOG_DEBUG and LOG_INFO are ours here.) */
static const char *const journal_prefixes[] = { "<7>", "<6>", "<4>", "<3>" };

/* systemd.exec(5): JOURNAL_STREAM is "DEVICE:INODE" of the stream it connected to stdout and
 * stderr. It is inherited by anything started from the service, whose stderr may be elsewhere,
 * so only a match with our own stderr counts. */
static bool stderr_is_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;
    struct stat st;
    if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2 || fstat(2, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_mirror(int fd)
{
    log_mirror = fd;
}

/* Not through a symbolic link: the file may sit in a directory the service user can write
 * (so that it can open the file anew after a rotation), and root opens it at start. */
static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

int log_init(int level, const char *path)
{
    log_threshold = level;
    if (!path || !*path) {
        log_journal = stderr_is_journal();
        return 0;
    }
    if (strlen(path) >= sizeof(log_path))
        return -ENAMETOOLONG;
    int fd = open_log(path);
    if (fd < 0)
        return fd;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    log_stamped = 1;
    log_journal = false;
    snprintf(log_path, sizeof(log_path), "%s", path);
    return 0;
}

int log_reopen(void)
{
    if (!log_path[0])
        return 0;
    int fd = open_log(log_path);
    if (fd < 0)
        return fd;
    /* dup2 swaps the file under the same descriptor number in one step: a thread writing a
     * line meanwhile writes it whole to the old file or to the new one. */
    int rc = dup2(fd, log_fd) < 0 ? -errno : 1;
    close(fd);
    return rc;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < log_threshold || level < LOG_DEBUG || level > LOG_ERROR)
        return;
    char line[1024];
    int n = 0;
    if (log_journal) {
        n = snprintf(line, sizeof(line), "%s", journal_prefixes[level]);
    } else if (log_stamped) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    }
    n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
    if (log_mirror >= 0) {
        /* The mirror (a daemon's start-up channel) gets the brief's line, no timestamp. */
        const char *start = memchr(line, '[', (size_t)n);
        if (start)
            w = write(log_mirror, start, (size_t)(line + n - start));
    }
}

int log_allow(struct log_limit *lim, unsigned burst)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    /* Racy by design between threads: a lost update only lets one more line through. */
    if (now - lim->window_start_ms >= 1000) {
        lim->window_start_ms = now;
        lim->count = 0;
    }
    return lim->count++ < burst;
}
