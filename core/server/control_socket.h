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

/* Creates and listens on path (a stale socket file is replaced). Returns the fd or -errno. */
int control_socket_open(const char *path);
void control_socket_close(int fd, const char *path);
/* Control thread: accepts and answers one client from the control's state, which it reads
 * and never changes (reopen-logs changes only the log's file). */
void control_socket_serve(const struct control *ctl);

#endif
