/* A pausable watch on one descriptor's input (vpn/fd_watch.h): an epoll set of one. */
#include "vpn/fd_watch.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vpn/log.h"

static int set(int watch, int op, int fd, uint32_t events)
{
    struct epoll_event e = { .events = events, .data.fd = fd };
    return epoll_ctl(watch, op, fd, &e);
}

int fd_watch_open(int fd)
{
    int watch = epoll_create1(EPOLL_CLOEXEC);
    if (watch < 0)
        return -1;
    if (set(watch, EPOLL_CTL_ADD, fd, EPOLLIN) != 0) {
        int e = errno;
        close(watch);
        errno = e;
        return -1;
    }
    return watch;
}

int fd_watch_move(int watch, int old_fd, int new_fd)
{
    if (old_fd == new_fd)
        return 0;
    if (old_fd >= 0 && set(watch, EPOLL_CTL_DEL, old_fd, 0) != 0 && errno != ENOENT)
        return -1;
    if (set(watch, EPOLL_CTL_ADD, new_fd, EPOLLIN) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* No events: the kernel no longer wakes the watch's pollers for fd (epoll keeps the entry). */
int fd_watch_pause(int watch, int fd)
{
    return set(watch, EPOLL_CTL_MOD, fd, 0);
}

/* EPOLLIN again; epoll checks fd at once and wakes the pollers if it is readable. */
int fd_watch_resume(int watch, int fd)
{
    return set(watch, EPOLL_CTL_MOD, fd, EPOLLIN);
}

void fd_watch_pause_or_warn(int watch, int fd, const char *what)
{
    if (fd_watch_pause(watch, fd) != 0) {
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "Cannot pause the watch of %s: %s", what, strerror(errno));
    }
}

void fd_watch_resume_or_complain(int watch, int fd, const char *what)
{
    if (fd_watch_resume(watch, fd) != 0)
        log_error("Cannot resume the watch of %s: %s", what, strerror(errno));
}
