/* The control socket (REQUIREMENTS.md section 2 and 7): a Unix stream socket of mode 0600 on
 * which the status tool asks "show" or "show json" (or "reopen-logs", after logrotate) and
 * gets one reply, then EOF. Served by the control thread, one short request at a time. */
#ifndef SERVER_CONTROL_SOCKET_H
#define SERVER_CONTROL_SOCKET_H

#include <stddef.h>

struct control;

enum control_request {
    CONTROL_REQ_UNKNOWN,    /* answered with an error line */
    CONTROL_REQ_SHOW,       /* "show...": the text status */
    CONTROL_REQ_SHOW_JSON,  /* "show..." with "json" anywhere in it: the JSON status */
    CONTROL_REQ_USAGE_JSON, /* "usage json [days=N]": usage, quotas (usage.h), JSON */
    CONTROL_REQ_REOPEN_LOGS,/* "reopen-logs" exactly (a newline may follow): the log file is
                               opened anew; answered "ok" or "error: why" */
};

/* Longest request read from a client; the rest of a longer one is ignored. */
enum { CONTROL_REQUEST_MAX = 63 };

/* What the len bytes a client sent ask for: a request starting with "show" is a status
 * request, in JSON when "json" appears anywhere in it; "reopen-logs" must be the whole
 * request (or with one newline after it); the request ends at the first NUL.
 * Pure: no state, reads exactly buf[0 .. len). */
enum control_request control_request_parse(const char *buf, size_t len);

/* "usage json days=N": N in 1..366, else 30. Pure, like control_request_parse. */
enum { USAGE_DAYS_DEFAULT = 30, USAGE_DAYS_MAX = 366 };
int control_request_days(const char *buf, size_t len);

/* Creates and listens on path (a stale socket file is replaced): mode 0600, root's; with
 * gid >= 0 ([metrics] control_socket_group) mode 0660 and that group's, so that vpn-metrics
 * may read the status without root. Every request is read-only: a request that changes
 * anything must first check that its peer is root (SO_PEERCRED), since a group may share the
 * socket. Returns the fd or -errno. */
int control_socket_open(const char *path, int gid);
void control_socket_close(int fd, const char *path);
/* Control thread: accepts and answers one client from the control's state, which it reads
 * and never changes (reopen-logs changes only the log's file). */
void control_socket_serve(const struct control *ctl);

#endif
