/* The control socket (REQUIREMENTS.md section 2 and 7): a Unix stream socket of mode 0600 on
 * which the status tool asks "show" or "show json" and gets one reply, then EOF. Served by
 * the control thread, one short request at a time. */
#ifndef SERVER_CONTROL_SOCKET_H
#define SERVER_CONTROL_SOCKET_H

struct control;

/* Creates and listens on path (a stale socket file is replaced). Returns the fd or -errno. */
int control_socket_open(const char *path);
void control_socket_close(int fd, const char *path);
/* Control thread: accepts and answers one client from the control's state, which it reads
 * and never changes. */
void control_socket_serve(const struct control *ctl);

#endif
