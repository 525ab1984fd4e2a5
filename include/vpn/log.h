/* Logging in the brief's format: "[INFO] message". Thread-safe (one write per line).
 * Never pass keys or tokens. */
#ifndef VPN_LOG_H
#define VPN_LOG_H

#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the threshold and the destination: path NULL or "" means stderr. Returns 0 or -errno. */
int log_init(int level, const char *path);
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
