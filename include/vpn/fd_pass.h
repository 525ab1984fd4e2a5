/* One message with descriptors over a Unix socket (SCM_RIGHTS), for the enclave's channels
 * (enclave_proto.h). */
#ifndef VPN_FD_PASS_H
#define VPN_FD_PASS_H

#include <stddef.h>
#include <sys/types.h>

enum { FD_PASS_MAX = 24 };

/* Sends len bytes of msg with nfds descriptors (0..FD_PASS_MAX). Returns 0 or -errno. */
int fd_pass_send(int sock, const void *msg, size_t len, const int *fds, int nfds)
    __attribute__((warn_unused_result));

/* Receives one message of exactly len bytes and up to max_fds descriptors (close-on-exec) into
 * fds, their number in *nfds. A message of another size or with truncated descriptors is an
 * error (its descriptors are closed). Returns len, 0 on end of file, or -errno
 * (-EBADMSG for a malformed message, -EAGAIN when non-blocking and empty). */
ssize_t fd_pass_recv(int sock, void *msg, size_t len, int *fds, int max_fds, int *nfds)
    __attribute__((warn_unused_result));

#endif
