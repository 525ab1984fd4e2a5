/* Logging in the brief's format: "[INFO] message". Thread-safe (one write per line).
 * Never pass keys or tokens.
 *
 * Where a line goes: to stderr, as is on a terminal, and with its syslog priority in front
 * ("<4>[WARN] ...", sd-daemon(3)) when stderr is journald's stream (systemd sets
 * JOURNAL_STREAM), so that `journalctl -p warning` selects by level; or to a file, with a UTC
 * timestamp in front, which log_reopen opens anew after a rotation. */
#ifndef VPN_LOG_H
#define VPN_LOG_H

#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the threshold and the destination: path NULL or "" means stderr. The file is opened
 * for appending, created with mode 0640, never through a symbolic link. Call it before any
 * thread logs. Returns 0 or -errno (then the destination is unchanged). */
int log_init(int level, const char *path);
/* Opens log_init's file again by its path (logrotate renamed it: a new one is created) and
 * puts it in the old one's place; lines being written by other threads meanwhile go whole to
 * one file or the other. Returns 1 when it did, 0 when logging goes to stderr (nothing to
 * reopen), or -errno (then logging goes on to the old file). */
int log_reopen(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Every line is also written to fd (-1: none): a daemon's start-up channel (daemon.h). Set it
 * before any thread logs. */
void log_set_mirror(int fd);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Rate limit for messages an attacker can trigger: at most `burst` per second per call site. */
struct log_limit {
    uint64_t window_start_ms;
    unsigned count;
};
#define log_limited(lim, level, ...)                                                         \
    do {                                                                                     \
        if (log_allow((lim), 5))                                                             \
            log_msg((level), __VA_ARGS__);                                                   \
    } while (0)
int log_allow(struct log_limit *lim, unsigned burst);

#endif
