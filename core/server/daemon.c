/* Daemon mode (see daemon.h). The daemon writes its start-up log lines into a pipe whose other
 * end the starting process reads; READY_MARK means running. End of file without it means the
 * daemon failed (it, and its enclave, exited): the lines go to the starting process's stderr. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "vpn/log.h"

static const char READY_MARK[] = "\x06vpn-server ready\n";

/* The starting process: keep the daemon's start-up lines (the last START_LOG_MAX bytes) and
 * show them only if it fails; on success the terminal stays quiet, as for any daemon. */
enum { START_LOG_MAX = 16384 };

static void wait_for_daemon(int fd) __attribute__((noreturn));
static void wait_for_daemon(int fd)
{
    static char kept[START_LOG_MAX];
    size_t len = 0;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (memmem(buf, (size_t)n, READY_MARK, sizeof(READY_MARK) - 1))
            _exit(0);
        if ((size_t)n > sizeof(kept) - len) {
            size_t drop = (size_t)n - (sizeof(kept) - len);
            if (drop > len)
                drop = len;
            memmove(kept, kept + drop, len - drop);
            len -= drop;
        }
        size_t take = (size_t)n < sizeof(kept) - len ? (size_t)n : sizeof(kept) - len;
        memcpy(kept + len, buf + (size_t)n - take, take);
        len += take;
    }
    /* The daemon (and its enclave) exited without saying it runs: show why. */
    (void)!write(STDERR_FILENO, kept, len);
    if (!len)
        (void)!write(STDERR_FILENO, "[ERROR] vpn-server exited during start-up\n", 42);
    _exit(1);
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
