/* The control socket (REQUIREMENTS.md section 2 and 7): a Unix stream socket of mode 0600 on
 * which the status tool asks "show" or "show json" and gets one reply, then EOF. Served by
 * the control thread, one short request at a time. */
#ifndef SERVER_CONTROL_SOCKET_H
#define SERVER_CONTROL_SOCKET_H

struct server;
struct session;

/* Creates and listens on path (a stale socket file is replaced). Returns the fd or -errno. */
int control_socket_open(const char *path);
void control_socket_close(int fd, const char *path);
/* Accepts and answers one client. */
void control_socket_serve(struct server *srv);

/* Control thread: calls fn for every session it knows (current and retiring). */
void control_foreach_session(void (*fn)(const struct session *s, void *ctx), void *ctx);
/* Control thread: SIGHUP. Re-reads the QoS classes file and rebuilds the tc tree; on error
 * keeps the running configuration. */
void control_reload(struct server *srv);

#endif
