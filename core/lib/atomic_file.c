/* Whole-file replacement by rename (see atomic_file.h). */
#include "vpn/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_file_write_fd(int fd, const void *data, size_t len)
{
    const char *buf = data;
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync of path's directory: makes a rename in it durable. */
static int sync_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode, char *why,
                      size_t why_len)
{
    return atomic_file_replace(path, data, len, mode, NULL, NULL, why, why_len);
}

int atomic_file_prepare(struct atomic_file_pending *p, const char *path, const void *data,
                        size_t len, mode_t mode, atomic_file_check check, void *ctx, char *why,
                        size_t why_len)
{
    memset(p, 0, sizeof(*p));
    if ((size_t)snprintf(p->path, sizeof(p->path), "%s", path) >= sizeof(p->path) ||
        (size_t)snprintf(p->tmp, sizeof(p->tmp), "%s.tmpXXXXXX", path) >= sizeof(p->tmp)) {
        snprintf(why, why_len, "cannot write %s: path too long", path);
        return -1;
    }
    int fd = mkostemp(p->tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "cannot create a temporary file beside %s: %s", path,
                 strerror(errno));
        return -1;
    }
    /* fchmod: the mode given to open() is only an upper bound under the umask, and mkstemp's
     * 0600 is a glibc promise rather than POSIX. Before the content, so that a secret is
     * never readable by others for a moment. */
    int rc = fchmod(fd, mode) != 0 ? -errno : 0;
    if (rc == 0)
        rc = atomic_file_write_fd(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0) {
        unlink(p->tmp);
        snprintf(why, why_len, "cannot write %s: %s", path, strerror(-rc));
        return -1;
    }
    if (check && check(p->tmp, ctx, why, why_len) != 0) {
        unlink(p->tmp);
        return -1;
    }
    p->ready = true;
    return 0;
}

int atomic_file_install(struct atomic_file_pending *p, char *why, size_t why_len)
{
    if (!p->ready) {
        snprintf(why, why_len, "cannot write %s: not prepared", p->path);
        return -1;
    }
    if (rename(p->tmp, p->path) != 0) {
        snprintf(why, why_len, "cannot write %s: %s", p->path, strerror(errno));
        atomic_file_discard(p);
        return -1;
    }
    p->ready = false;
    /* The new content is in place; a directory that cannot be synced only makes the rename
     * less durable, which is no reason to report a failure. */
    (void)sync_dir(p->path);
    return 0;
}

void atomic_file_discard(struct atomic_file_pending *p)
{
    if (p->ready)
        unlink(p->tmp);
    p->ready = false;
}

int atomic_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                        atomic_file_check check, void *ctx, char *why, size_t why_len)
{
    struct atomic_file_pending p;
    if (atomic_file_prepare(&p, path, data, len, mode, check, ctx, why, why_len) != 0)
        return -1;
    return atomic_file_install(&p, why, why_len);
}
