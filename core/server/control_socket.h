/* The control socket (REQUIREMENTS.md section 2 and 7): a Unix stream socket of mode 0600 on
 * which vpnctl asks "show", "show json", "reload" or "users" and gets one reply, then EOF.
 * Served by the control thread, one short request at a time. Only root can connect: asking
 * for a reload here is what root could do with SIGHUP, with the outcome in the reply. */
#ifndef SERVER_CONTROL_SOCKET_H
#define SERVER_CONTROL_SOCKET_H

#include <stddef.h>

struct control;

enum control_request {
    CONTROL_REQ_UNKNOWN,    /* answered with an error line */
    CONTROL_REQ_SHOW,       /* "show...": the text status */
    CONTROL_REQ_SHOW_JSON,  /* "show..." with "json" anywhere in it: the JSON status */
    CONTROL_REQ_RELOAD,     /* "reload": what SIGHUP does; JSON reply: done, or why not */
    CONTROL_REQ_USERS,      /* "users": JSON: per user devices online and last seen, the
                               users file reloads the enclave answered, the public key */
};

/* Longest request read from a client; the rest of a longer one is ignored. */
enum { CONTROL_REQUEST_MAX = 63 };

/* What the len bytes a client sent ask for: a request starting with "show" is a status
 * request, in JSON when "json" appears anywhere in it; "reload" and "users" are those words
 * alone (a trailing newline allowed); the request ends at the first NUL.
 * Pure: no state, reads exactly buf[0 .. len). */
enum control_request control_request_parse(const char *buf, size_t len);

/* Creates and listens on path (a stale socket file is replaced). Returns the fd or -errno. */
int control_socket_open(const char *path);
void control_socket_close(int fd, const char *path);
/* Control thread: accepts and answers one client from the control's state, which it reads
 * and changes only when asked to reload. */
void control_socket_serve(struct control *ctl);

#endif
