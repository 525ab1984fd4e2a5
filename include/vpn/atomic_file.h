/* Replacing a whole file so that a reader sees the old content or the new, never a mix and
 * never a truncated file, even across a crash or a power cut: the new content goes to a
 * temporary file in the same directory (same file system), is fsync'd, gets its mode, and is
 * renamed over the path, then the directory is fsync'd so that the rename itself is durable.
 * A symbolic link at the path is replaced, never followed. Used for the server's key
 * (keyfile.h), the users and classes files vpnctl edits, client bundles and the client's
 * device id. */
#ifndef VPN_ATOMIC_FILE_H
#define VPN_ATOMIC_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes of data to path as above, with mode (whatever the umask); the file is owned
 * by the caller's effective uid. Returns 0, or -1 with "cannot ...: reason" in why. */
int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode, char *why,
                      size_t why_len) __attribute__((warn_unused_result));

/* Writes all len bytes of data to fd (short writes continued, EINTR retried). Returns 0 or
 * -errno. */
int atomic_file_write_fd(int fd, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* atomic_file_write with a check of the new file before it replaces the old one:
 * check(tmp_path, ctx, why, why_len) reads the temporary file (as the real reader would,
 * whatever it is) and returns 0, or -1 with its reason in why; then nothing is replaced. */
typedef int (*atomic_file_check)(const char *tmp_path, void *ctx, char *why, size_t why_len);
int atomic_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                        atomic_file_check check, void *ctx, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* The two halves of atomic_file_replace, for a change that spans files and must land in all
 * or none (vpnctl's users and classes files): prepare each new file (written beside its path,
 * synced, checked), and only when every one is ready install them (rename, directory sync);
 * discard what was not installed. A failed install leaves the others as they were: the
 * caller puts back what it had already installed. */
struct atomic_file_pending {
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    bool ready;                 /* tmp exists and waits for install or discard */
};

/* Returns 0 with p ready, or -1 with why (nothing left behind). */
int atomic_file_prepare(struct atomic_file_pending *p, const char *path, const void *data,
                        size_t len, mode_t mode, atomic_file_check check, void *ctx, char *why,
                        size_t why_len) __attribute__((warn_unused_result));
/* Renames p's file over its path. Returns 0, or -1 with why (p discarded). */
int atomic_file_install(struct atomic_file_pending *p, char *why, size_t why_len)
    __attribute__((warn_unused_result));
/* Removes p's file if it is still ready; harmless otherwise (and on a zeroed p). */
void atomic_file_discard(struct atomic_file_pending *p);

#endif
