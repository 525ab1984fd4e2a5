/* Starting programs: fork/exec with a fixed descriptor layout, and the system tools (see
 * run.h). */
#include "vpn/run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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

/* Writes a NUL-terminated string to fd, ignoring errors (a child's last words). */
static void say(int fd, const char *s)
{
    (void)!write(fd, s, strlen(s));
}

/* Child side: only async-signal-safe calls between fork and exec (the server forks tc from
 * its control thread while the data threads run, and a lock one of them held stays locked
 * here). Never returns. */
__attribute__((noreturn))
static void exec_child(const struct run_child *c, int max_to, int fd_max, const char *why_prefix)
{
    /* Dispositions first, then the mask: a signal left pending must not reach one of our
     * handlers. The server blocks the signals its control thread waits for, the launcher
     * ignores SIGINT and SIGHUP, and an exec'd program keeps the mask and what is ignored. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, &dfl, NULL);  /* SIGKILL, SIGSTOP and glibc's own 32 and 33
                                              refuse: fine, glibc sets those up itself */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* Lift every source that moves above the highest target, so that no dup2 onto a target
     * clobbers a source still to be moved (a daemon with closed stdio may have been handed
     * fd 0 or 1 by pipe or memfd_create). The lifted copies are closed with the rest below. */
    int src[RUN_FDS_MAX];
    for (int i = 0; i < c->n_fds; i++) {
        if (c->fds[i].from == c->fds[i].to)
            continue;
        if ((src[i] = fcntl(c->fds[i].from, F_DUPFD, max_to + 1)) < 0)
            _exit(127);
    }
    for (int i = 0; i < c->n_fds; i++) {
        int to = c->fds[i].to;
        if (c->fds[i].from != to) {
            if (dup2(src[i], to) < 0)
                _exit(127);
        } else {
            /* Kept where it is: only its close-on-exec flag goes (a closed one stays closed,
             * as a daemon's stdio may be). */
            (void)fcntl(to, F_SETFD, 0);
        }
    }
    /* Nothing else of ours (TUN, UDP sockets, the enclave's channels, the lifted copies)
     * reaches the program. */
    for (int fd = 0; fd <= max_to; fd++) {
        bool wanted = false;
        for (int i = 0; i < c->n_fds && !wanted; i++)
            wanted = c->fds[i].to == fd;
        if (!wanted)
            close(fd);
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)max_to + 1, ~0U, 0U) != 0)
#endif
        for (int fd = max_to + 1; fd < fd_max; fd++)
            close(fd);

    if (c->unprivileged &&
        (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 ||
         prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || setpgid(0, 0) != 0))
        _exit(127);
    if (c->path && c->path[0]) {
        execve(c->path, c->argv, c->envp);
        if (why_prefix) {
            /* strerrordesc_np reads a constant table: no locale, no lock (strerror may
             * take both). */
            const char *why = strerrordesc_np(errno);
            say(STDERR_FILENO, why_prefix);
            say(STDERR_FILENO, why ? why : "unknown error");
            say(STDERR_FILENO, "\n");
        }
    }
    _exit(127);     /* not found, or exec failed: the shell's "command not found" status */
}

pid_t run_start(const struct run_child *c)
{
    if (c->n_fds < 0 || c->n_fds > RUN_FDS_MAX)
        return -EINVAL;
    int max_to = STDERR_FILENO;
    for (int i = 0; i < c->n_fds; i++) {
        if (c->fds[i].to < 0 || c->fds[i].to >= RUN_FDS_MAX)
            return -EINVAL;
        for (int j = 0; j < i; j++)
            if (c->fds[j].to == c->fds[i].to)
                return -EINVAL;
        if (c->fds[i].to > max_to)
            max_to = c->fds[i].to;
    }
    /* Everything the child needs is computed here: after fork it may not allocate. */
    long open_max = sysconf(_SC_OPEN_MAX);
    int fd_max = open_max < 0 || open_max > FD_SCAN_MAX ? FD_SCAN_MAX : (int)open_max;
    char why_prefix[PATH_MAX + 32];
    if (c->say_exec_error)
        snprintf(why_prefix, sizeof(why_prefix), "[ERROR] cannot run %s: ",
                 c->path ? c->path : "");
    pid_t pid = fork();
    if (pid == 0)
        exec_child(c, max_to, fd_max, c->say_exec_error ? why_prefix : NULL);
    return pid < 0 ? -errno : pid;
}

pid_t run_spawn(char *const argv[], int in_fd, int out_fd, int err_fd)
{
    /* Looked up here, not in the child: a tool that is missing still gives a child that
     * exits 127, as before, so every caller reports it the same way. */
    char path[PATH_MAX];
    if (run_find(argv[0], path, sizeof(path)) != 0)
        path[0] = '\0';
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return -1;
    struct run_fd fds[3] = {
        { in_fd < 0 ? null_fd : in_fd, STDIN_FILENO },
        { out_fd < 0 ? null_fd : out_fd, STDOUT_FILENO },
        { err_fd < 0 ? null_fd : err_fd, STDERR_FILENO },
    };
    struct run_child c = { .path = path, .argv = argv, .envp = TOOL_ENV, .fds = fds,
                           .n_fds = 3 };
    pid_t pid = run_start(&c);
    close(null_fd);
    return pid < 0 ? -1 : pid;
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

int run_cmd_input(char *const argv[], const char *input, char *err, size_t err_len)
{
    int pfd[2], in[2] = { -1, -1 };
    if (err && err_len)
        err[0] = '\0';
    if (input && pipe2(in, O_CLOEXEC) != 0)
        goto cannot;
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        if (input) {
            close(in[0]);
            close(in[1]);
        }
        goto cannot;
    }
    pid_t pid = run_spawn(argv, in[0], -1, pfd[1]);
    close(pfd[1]);
    if (input)
        close(in[0]);
    if (pid < 0) {
        close(pfd[0]);
        if (input)
            close(in[1]);
        goto cannot;
    }
    if (input) {
        /* All of it before reading stderr: fine while it fits the pipe (64 KiB), which every
         * caller's few lines do; a tool that exits early makes write fail (EPIPE, SIGPIPE is
         * ignored by our programs), and its status says why. */
        for (size_t n = strlen(input), off = 0; off < n;) {
            ssize_t w = write(in[1], input + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        close(in[1]);
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

int run_capture(char *const argv[], char *out, size_t out_len)
{
    int pfd[2];
    out[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = run_spawn(argv, -1, pfd[1], -1);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return -1;
    }
    run_drain(pfd[0], out, out_len);
    close(pfd[0]);
    int status = run_wait(pid);
    return status >= 128 ? -1 : status;
}

int run_cmd(char *const argv[], char *err, size_t err_len)
{
    return run_cmd_input(argv, NULL, err, err_len);
}
