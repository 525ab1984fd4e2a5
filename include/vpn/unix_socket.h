/* The local control sockets of vpn-server and vpn-client (status, disconnect): one short
 * request, one reply, then EOF. Shared by the daemons and by vpnctl / vpn-client status. */
#ifndef VPN_UNIX_SOCKET_H
#define VPN_UNIX_SOCKET_H

#include <stdio.h>

/* Listens on path, mode 0600 from the moment the file exists (never chmod'ed by path, so a
 * symlink planted there is never followed); a stale socket file or a symlink at path is
 * replaced, anything else is left alone (-EEXIST). Non-blocking, close-on-exec. Returns the
 * fd or -errno. Does not touch the process's umask. */
int unix_listen(const char *path);

/* unix_listen, but with gid >= 0 the socket file is mode 0660 and belongs to group gid from
 * its creation (a reader in that group may connect: the server's [metrics]
 * control_socket_group); gid < 0 is unix_listen. Giving the file a group needs CAP_SETGID,
 * and sets the process's umask for the moment of bind: call it before threads start.
 * -EPERM when the file could not be made the group's (the directory imposes its own). */
int unix_listen_group(const char *path, int gid);

/* How long unix_request waits for each read or write of a reply. */
enum { UNIX_REQUEST_TIMEOUT_MS = 5000 };

/* Sends request to the socket at path and copies the whole reply to out. Returns 0 or -errno
 * (nobody listening, path too long, -ETIMEDOUT when the server stalls for
 * UNIX_REQUEST_TIMEOUT_MS, ...). */
int unix_request(const char *path, const char *request, FILE *out);

#endif
