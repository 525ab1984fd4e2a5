/* systemd's service notification protocol (sd_notify(3), libsystemd), all of vpn-server's use
 * of it in one module: READY=1 once the server runs, STATUS= with the session count,
 * WATCHDOG=1 pings when the unit sets WatchdogSec=, RELOADING=1 around SIGHUP, STOPPING=1 at
 * shutdown. Without NOTIFY_SOCKET (not started by systemd as Type=notify) every call does
 * nothing, and the server behaves as before.
 *
 * Called from the main thread before the control thread runs (init, ready), then from the
 * control thread only (it is the main thread: control_run). A watchdog ping from the control
 * loop says that loop turns: signals, handshakes, the enclave's reports are being served. */
#ifndef SERVER_SERVICE_NOTIFY_H
#define SERVER_SERVICE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

enum {
    /* STATUS= follows the session count at most this often (a thousand clients connecting
     * in a burst change it a thousand times in 0.3 s); the last count is always sent. */
    SERVICE_STATUS_MIN_MS = 1000,
};

struct service_notify {
    bool active;                    /* NOTIFY_SOCKET is set */
    uint64_t watchdog_ms;           /* ping interval: half of WATCHDOG_USEC; 0: no watchdog */
    uint64_t next_ping_ms;
    int sent_sessions;              /* the count in the last STATUS=, -1: none sent */
    uint64_t next_status_ms;        /* no STATUS= before this */
};

/* Reads the environment (NOTIFY_SOCKET; WATCHDOG_USEC and WATCHDOG_PID through
 * sd_watchdog_enabled). */
void service_notify_init(struct service_notify *n);

/* READY=1 with the first STATUS=. */
void service_notify_ready(struct service_notify *n, int sessions, uint64_t now_ms);

/* Control loop, every turn: a watchdog ping when one is due, STATUS= when the session count
 * changed (and SERVICE_STATUS_MIN_MS passed). Returns how many ms the loop may sleep before
 * the next call is needed, or -1 for no limit. */
int service_notify_tick(struct service_notify *n, int sessions, uint64_t now_ms);

/* SIGHUP: RELOADING=1 before the reload, READY=1 and the status after it. */
void service_notify_reloading(struct service_notify *n);
void service_notify_reloaded(struct service_notify *n, int sessions, uint64_t now_ms);

/* SIGINT/SIGTERM: STOPPING=1, before the clients are told. */
void service_notify_stopping(struct service_notify *n);

#endif
