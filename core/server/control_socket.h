/* The control socket (REQUIREMENTS.md section 2 and 7): a Unix stream socket of mode 0600 on
 * which vpnctl asks "show", "show json", "usage json", "users", "reload" or "reopen-logs" (after
 * logrotate) and gets one reply, then EOF. Served by the control thread, one short request at a
 * time. The socket may be readable by a group ([metrics] control_socket_group): the requests
 * that change something ("reload", "reopen-logs") are answered only to root (SO_PEERCRED). */
#ifndef SERVER_CONTROL_SOCKET_H
#define SERVER_CONTROL_SOCKET_H

#include <stddef.h>

struct control;

enum control_request {
    CONTROL_REQ_UNKNOWN,    /* answered with an error line */
    CONTROL_REQ_SHOW,       /* "show...": the text status */
    CONTROL_REQ_SHOW_JSON,  /* "show..." with "json" anywhere in it: the JSON status */
    CONTROL_REQ_USAGE_JSON, /* "usage json [days=N]": usage, quotas (usage.h), JSON */
    CONTROL_REQ_REOPEN_LOGS,/* "reopen-logs": the log file is opened anew; "ok" or "error: why" */
    CONTROL_REQ_RELOAD,     /* "reload": what SIGHUP does; JSON reply: done, or why not */
    CONTROL_REQ_USERS,      /* "users": JSON: per user devices online and last seen, the
                               users file reloads the enclave answered, the public key */
};

/* Longest request read from a client; the rest of a longer one is ignored. */
enum { CONTROL_REQUEST_MAX = 63 };

/* What the len bytes a client sent ask for: a request starting with "show" is a status
 * request, in JSON when "json" appears anywhere in it; "usage json" starts its request;
 * "reopen-logs", "reload" and "users" are those words alone (a trailing newline allowed); the
 * request ends at the first NUL.
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
 * and changes only when root asks it to reload or reopen its log. */
void control_socket_serve(struct control *ctl);

#endif
