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

/* Sends request to the socket at path and copies the whole reply to out. Returns 0 or -errno
 * (nobody listening, path too long, ...). */
int unix_request(const char *path, const char *request, FILE *out);

#endif
