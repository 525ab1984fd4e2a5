/* Daemon mode (see daemon.h). The daemon writes its start-up log lines into a pipe whose other
 * end the starting process copies to its own stderr; READY_MARK on its own line means
 * running. End of file without it means the daemon failed (it, and its enclave, exited). */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "vpn/log.h"

static const char READY_MARK[] = "\x06vpn-server ready\n";

/* The starting process: echo the daemon's start-up lines, then exit by what came. */
static void wait_for_daemon(int fd) __attribute__((noreturn));
static void wait_for_daemon(int fd)
{
    char buf[4096], tail[sizeof(READY_MARK)] = "";
    ssize_t n;
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(1);       /* the daemon is gone without saying it runs */
        char *mark = memmem(buf, (size_t)n, READY_MARK, sizeof(READY_MARK) - 1);
        size_t show = mark ? (size_t)(mark - buf) : (size_t)n;
        (void)!write(STDERR_FILENO, buf, show);
        if (mark)
            _exit(0);
        (void)tail;
    }
}

int daemon_start(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (pid > 0) {
        close(p[1]);
        wait_for_daemon(p[0]);
    }
    close(p[0]);
    setsid();
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);       /* the session leader goes; the daemon can never get a terminal */
    if (chdir("/") != 0)
        _exit(1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    log_set_mirror(p[1]);
    return p[1];
}

void daemon_ready(int fd)
{
    log_set_mirror(-1);
    (void)!write(fd, READY_MARK, sizeof(READY_MARK) - 1);
    close(fd);
}
