/* Local control sockets (see unix_socket.h). */
#include "vpn/unix_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

int unix_listen(const char *path)
{
    struct sockaddr_un sa;
    int rc = fill_address(&sa, path);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    /* 0600 (status shows users and addresses) through the umask alone: Linux creates the
     * socket with 0777 & ~umask. No chmod by name afterwards: the server's socket directory
     * belongs to its unprivileged user, who could swap the name for a link in between. */
    mode_t old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || listen(fd, 8) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
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
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        write(fd, request, strlen(request)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, out);
    close(fd);
    return 0;
}
