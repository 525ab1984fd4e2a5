/* systemd notifications through libsystemd's sd_notify (see service_notify.h). */
#include "service_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "vpn/log.h"

/* One message; a failure is logged once, at debug level: the service manager going away
 * must never stop the VPN. */
static void send_state(const struct service_notify *n, const char *state)
{
    static struct log_limit lim;
    if (!n->active)
        return;
    int rc = sd_notify(0, state);
    if (rc < 0)
        log_limited(&lim, LOG_DEBUG, "sd_notify: %s", strerror(-rc));
}

static void send_status(struct service_notify *n, const char *prefix, int sessions,
                        uint64_t now_ms)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "%sSTATUS=Running, %d session%s", prefix, sessions,
             sessions == 1 ? "" : "s");
    send_state(n, msg);
    n->sent_sessions = sessions;
    n->next_status_ms = now_ms + SERVICE_STATUS_MIN_MS;
}

void service_notify_init(struct service_notify *n)
{
    *n = (struct service_notify){ .sent_sessions = -1 };
    const char *socket = getenv("NOTIFY_SOCKET");
    n->active = socket && *socket;
    uint64_t usec = 0;
    /* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is ours. Pinging at half
     * the interval, as sd_watchdog_enabled(3) advises, leaves a whole half for a slow turn. */
    if (n->active && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        n->watchdog_ms = usec / 2000;
        if (n->watchdog_ms == 0)
            n->watchdog_ms = 1;
    }
}

void service_notify_ready(struct service_notify *n, int sessions, uint64_t now_ms)
{
    send_status(n, "READY=1\n", sessions, now_ms);
    if (n->watchdog_ms) {
        send_state(n, "WATCHDOG=1");
        n->next_ping_ms = now_ms + n->watchdog_ms;
        log_debug("systemd watchdog: a ping every %llu ms",
                  (unsigned long long)n->watchdog_ms);
    }
}

int service_notify_tick(struct service_notify *n, int sessions, uint64_t now_ms)
{
    if (!n->active)
        return -1;
    int wait = -1;
    if (n->watchdog_ms) {
        if (now_ms >= n->next_ping_ms) {
            send_state(n, "WATCHDOG=1");
            n->next_ping_ms = now_ms + n->watchdog_ms;
        }
        wait = (int)(n->next_ping_ms - now_ms);
    }
    if (sessions != n->sent_sessions) {
        if (now_ms >= n->next_status_ms)
            send_status(n, "", sessions, now_ms);
        else if (wait < 0 || n->next_status_ms - now_ms < (uint64_t)wait)
            wait = (int)(n->next_status_ms - now_ms);   /* the changed count is still owed */
    }
    return wait;
}

void service_notify_reloading(struct service_notify *n)
{
    /* MONOTONIC_USEC lets a manager that supports Type=notify-reload (systemd 253) tell this
     * reload from an earlier one; older ones ignore it. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[96];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the "
             "configuration", (unsigned long long)ts.tv_sec * 1000000ull +
             (unsigned long long)ts.tv_nsec / 1000);
    send_state(n, msg);
}

void service_notify_reloaded(struct service_notify *n, int sessions, uint64_t now_ms)
{
    send_status(n, "READY=1\n", sessions, now_ms);
}

void service_notify_stopping(struct service_notify *n)
{
    send_state(n, "STOPPING=1\nSTATUS=Stopping");
}
