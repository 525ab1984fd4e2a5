/* Local control sockets (see unix_socket.h). */
#include "vpn/unix_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_address(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Makes room for the socket file: a stale socket (a previous run that crashed) or a symlink
 * is removed (unlink never follows a link); anything else at the path is not ours to delete. */
static int remove_stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode) && !S_ISLNK(st.st_mode))
        return -EEXIST;
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int unix_listen(const char *path)
{
    return unix_listen_group(path, -1);
}

/* bind() with the socket file made group gid's, mode 0660: the file takes the caller's
 * filesystem gid (per thread on Linux) and the socket's mode less the umask at its creation,
 * so nothing is changed by path afterwards. Needs
 * CAP_SETGID (root), as the control socket is made before the server drops root. A
 * directory with the set-group-ID bit would impose its own group: checked, and refused. */
static int bind_as_group(int fd, const struct sockaddr_un *sa, const char *path, int gid)
{
    if (gid < 0)
        return bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : -errno;
    int old = setfsgid((gid_t)gid);
    if (setfsgid((gid_t)gid) != gid) {
        setfsgid((gid_t)old);
        return -EPERM;
    }
    /* The usual umask (022) would take the group's write bit, without which the group
     * cannot connect. The umask is the process's: hence "before any thread starts". */
    mode_t old_mask = umask(0);
    int rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : -errno;
    umask(old_mask);
    setfsgid((gid_t)old);
    struct stat st;
    if (rc == 0 && (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_gid != (gid_t)gid)) {
        unlink(path);
        return -EPERM;
    }
    return rc;
}

int unix_listen_group(const char *path, int gid)
{
    struct sockaddr_un sa;
    int rc = fill_address(&sa, path);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    /* Status shows users and addresses: 0600. bind() creates the file with the mode of the
     * socket's own inode (less the umask), so setting it here makes the file 0600 from its
     * first moment, and nothing is ever changed by path afterwards: a chmod by path would
     * follow a symlink planted there after bind. bind itself refuses an existing path, link
     * or not (EADDRINUSE), so a link planted after remove_stale makes us fail, not follow.
     * No umask juggling: it is process-wide and the caller may have threads. */
    if (fchmod(fd, gid < 0 ? 0600 : 0660) != 0)
        goto fail;
    rc = remove_stale(path);
    if (rc == 0)
        rc = bind_as_group(fd, &sa, path, gid);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    if (listen(fd, 8) != 0)
        goto fail;
    return fd;
fail:
    rc = -errno;
    close(fd);
    return rc;
}

int unix_request(const char *path, const char *request, FILE *out)
{
    struct sockaddr_un sa;
    int rc = fill_address(&sa, path);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A server that is stopped (SIGSTOP, a debugger) accepts in the kernel's backlog but
     * never answers: give up rather than hang a cron job or a metrics scrape. */
    struct timeval tv = { .tv_sec = UNIX_REQUEST_TIMEOUT_MS / 1000,
                          .tv_usec = UNIX_REQUEST_TIMEOUT_MS % 1000 * 1000 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        write(fd, request, strlen(request)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, out);
    int e = n < 0 ? errno : 0;
    close(fd);
    return e == EAGAIN || e == EWOULDBLOCK ? -ETIMEDOUT : -e;
}
