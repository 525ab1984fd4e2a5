/* fork/exec of system tools (see run.h). */
#include "vpn/run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { FD_SCAN_MAX = 65536 };   /* close-all fallback bound when close_range is missing */

/* Where system tools are looked up, in order; never the inherited PATH, which whoever
 * started the server controls (a `tc` earlier in it would run as root with our
 * capabilities). */
static const char *const TOOL_DIRS[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };

/* The whole environment a tool gets: nothing inherited. TC_LIB_DIR or XTABLES_LIBDIR would
 * make tc or iptables load their plugins from elsewhere, LD_PRELOAD anything at all. */
static char *const TOOL_ENV[] = { (char *)"PATH=/usr/sbin:/sbin:/usr/bin:/bin",
                                  (char *)"LC_ALL=C", NULL };

int run_find(const char *name, char *path, size_t len)
{
    if (!*name || strchr(name, '/'))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(TOOL_DIRS) / sizeof(TOOL_DIRS[0]); i++) {
        struct stat st;
        int n = snprintf(path, len, "%s/%s", TOOL_DIRS[i], name);
        if (n < 0 || (size_t)n >= len)
            return -ENAMETOOLONG;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
            return 0;
    }
    path[0] = '\0';
    return -ENOENT;
}

/* Child side: only async-signal-safe calls between fork and exec. */
__attribute__((noreturn))
static void exec_child(const char *path, char *const argv[], int in_fd, int out_fd, int err_fd,
                       int fd_max)
{
    /* The server blocks the signals its control thread waits for, and an exec'd program
     * inherits the mask and ignored dispositions: give it the defaults. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);

    int fds[3] = { in_fd, out_fd, err_fd };
    /* Move the three above stdio first, so that dup2 onto 0..2 cannot clobber one of them
     * (a daemon with closed stdio may have been handed fd 0 or 1 by memfd_create or pipe). */
    for (int i = 0; i < 3; i++)
        if ((fds[i] = fcntl(fds[i], F_DUPFD, 3)) < 0)
            _exit(127);
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            _exit(127);
    /* Nothing of the server's (TUN, UDP sockets, the enclave's channel) reaches the tool. */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
        for (int fd = 3; fd < fd_max; fd++)
            close(fd);
    if (path[0])
        execve(path, argv, TOOL_ENV);
    _exit(127);     /* not found, or exec failed: the shell's "command not found" status */
}

pid_t run_spawn(char *const argv[], int in_fd, int out_fd, int err_fd)
{
    long open_max = sysconf(_SC_OPEN_MAX);
    int fd_max = open_max < 0 || open_max > FD_SCAN_MAX ? FD_SCAN_MAX : (int)open_max;
    /* Looked up here, not in the child: a tool that is missing still gives a child that
     * exits 127, as before, so every caller reports it the same way. */
    char path[PATH_MAX];
    if (run_find(argv[0], path, sizeof(path)) != 0)
        path[0] = '\0';
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0)
        exec_child(path, argv, in_fd < 0 ? null_fd : in_fd, out_fd < 0 ? null_fd : out_fd,
                   err_fd < 0 ? null_fd : err_fd, fd_max);
    close(null_fd);
    return pid;
}

int run_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void run_drain(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    char sink[512];
    for (;;) {
        char *dst = n + 1 < cap ? buf + n : sink;
        size_t room = n + 1 < cap ? cap - 1 - n : sizeof(sink);
        ssize_t r = read(fd, dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst == buf + n)
            n += (size_t)r;
    }
    buf[n] = '\0';
}

int run_cmd(char *const argv[], char *err, size_t err_len)
{
    int pfd[2];
    if (err && err_len)
        err[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) != 0)
        goto cannot;
    pid_t pid = run_spawn(argv, -1, -1, pfd[1]);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        goto cannot;
    }
    char buf[512];
    run_drain(pfd[0], buf, sizeof(buf));
    close(pfd[0]);
    int status = run_wait(pid);
    if (err && err_len) {
        buf[strcspn(buf, "\n")] = '\0';
        if (status == 127 && !buf[0])
            snprintf(err, err_len, "cannot run %s", argv[0]);
        else
            snprintf(err, err_len, "%s", buf);
    }
    return status >= 128 ? -1 : status;
cannot:
    if (err && err_len)
        snprintf(err, err_len, "cannot run %s: %s", argv[0], strerror(errno));
    return -1;
}
