/* Line-oriented logging in the brief's "[LEVEL] message" format. Each line is formatted into a
 * stack buffer and written with one write(2), so lines from several threads never interleave. */
#include "vpn/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static int log_mirror = -1;
static int log_threshold = LOG_INFO;
static int log_stamped;     /* file logs carry a timestamp; the terminal gets the brief's lines */

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void log_set_mirror(int fd)
{
    log_mirror = fd;
}

int log_init(int level, const char *path)
{
    log_threshold = level;
    if (!path || !*path)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    log_stamped = 1;
    return 0;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < log_threshold || level < LOG_DEBUG || level > LOG_ERROR)
        return;
    char line[1024];
    int n = 0;
    if (log_stamped) {
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
