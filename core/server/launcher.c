/* The enclave launcher (see launcher.h). */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vpn/fd_pass.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/run.h"

/* What vpn-enclave needs while it starts as root: read root-only files (root owns them: no
 * capability needed), lock memory and raise its limit, drop its capability bounding set and
 * switch to its own user. CAP_KILL lets the launcher stop an enclave running as that user. */
static const cap_value_t LAUNCHER_CAPS[] = {
    CAP_IPC_LOCK, CAP_KILL, CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_RESOURCE,
};
enum { N_LAUNCHER_CAPS = sizeof(LAUNCHER_CAPS) / sizeof(LAUNCHER_CAPS[0]) };
enum { STOP_GRACE_MS = 2000, REAP_POLL_MS = 200 };
_Static_assert(ENCLAVE_FD_DOORBELL0 + MAX_WORKERS <= RUN_FDS_MAX,
               "run_start cannot give vpn-enclave all its doorbells");

struct launcher_state {
    int fd;                     /* vpn-server */
    const char *path;
    char *const *argv;
    const char *users_path;
    int workers;
    pid_t child;                /* the supervisor, or 0 */
    int keeper;                 /* our end of the keeper channel, or -1 */
};

static void answer(struct launcher_state *st, uint32_t type, int32_t pid, int32_t status,
                   const char *text)
{
    struct launch_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.pid = pid;
    m.status = status;
    if (text)
        snprintf(m.text, sizeof(m.text), "%s", text);
    (void)!fd_pass_send(st->fd, &m, sizeof(m), NULL, 0);
}

static int limit_capabilities(void)
{
    cap_value_t keep[N_LAUNCHER_CAPS];
    int n = 0;
    cap_t now = cap_get_proc();
    if (!now)
        return -errno;
    /* Keep those of the list we have (a container may lack CAP_SYS_RESOURCE, say). */
    for (int i = 0; i < N_LAUNCHER_CAPS; i++) {
        cap_flag_value_t v = CAP_CLEAR;
        if (cap_get_flag(now, LAUNCHER_CAPS[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET)
            keep[n++] = LAUNCHER_CAPS[i];
    }
    cap_free(now);
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        bool wanted = false;
        for (int i = 0; i < n; i++)
            wanted |= keep[i] == cap;
        if (!wanted && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return -errno;
    }
    cap_t caps = cap_init();
    int rc = -ENOMEM;
    if (caps && cap_set_flag(caps, CAP_PERMITTED, n, keep, CAP_SET) == 0 &&
        cap_set_flag(caps, CAP_EFFECTIVE, n, keep, CAP_SET) == 0)
        rc = cap_set_proc(caps) == 0 ? 0 : -errno;
    if (caps)
        cap_free(caps);
    return rc;
}

/* vpn-enclave with the received descriptors at their fixed numbers (enclave_proto.h), our
 * stdio (its log goes where vpn-server's goes), and nothing else; signals as new, and the
 * environment vpn-server was started with (the enclave reads none of it). Returns the pid or
 * -errno. */
static pid_t exec_enclave(const struct launcher_state *st, const int *fds, int keeper_end)
{
    struct run_fd map[6 + MAX_WORKERS] = {
        { STDIN_FILENO, STDIN_FILENO },
        { STDOUT_FILENO, STDOUT_FILENO },
        { STDERR_FILENO, STDERR_FILENO },
        { fds[0], ENCLAVE_FD_SHM },
        { fds[1], ENCLAVE_FD_CTL },
        { keeper_end, ENCLAVE_FD_KEEPER },
    };
    for (int i = 0; i < st->workers; i++)
        map[6 + i] = (struct run_fd){ fds[2 + i], ENCLAVE_FD_DOORBELL0 + i };
    struct run_child c = { .path = st->path, .argv = st->argv, .envp = environ, .fds = map,
                           .n_fds = 6 + st->workers, .say_exec_error = true };
    return run_start(&c);
}

static void start_enclave(struct launcher_state *st, const int *fds, int nfds)
{
    char why[SUP_TEXT_MAX];
    int pair[2];
    if (st->child) {
        answer(st, LAUNCH_ERROR, 0, EBUSY, "an enclave is already running");
        return;
    }
    if (nfds != 2 + st->workers) {
        answer(st, LAUNCH_ERROR, 0, EINVAL, "wrong number of descriptors");
        return;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        snprintf(why, sizeof(why), "keeper channel: %s", strerror(errno));
        answer(st, LAUNCH_ERROR, 0, errno, why);
        return;
    }
    pid_t pid = exec_enclave(st, fds, pair[1]);
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        snprintf(why, sizeof(why), "fork: %s", strerror((int)-pid));
        answer(st, LAUNCH_ERROR, 0, (int)-pid, why);
        return;
    }
    st->child = pid;
    st->keeper = pair[0];
    answer(st, LAUNCH_STARTED, pid, 0, NULL);
}

static void reload_users(struct launcher_state *st)
{
    char why[SUP_TEXT_MAX];
    if (!st->child) {
        answer(st, LAUNCH_ERROR, 0, ESRCH, "no enclave is running");
        return;
    }
    /* Opened anew, so that a file replaced by rename (editors, install, vpnctl) is read. */
    int fd = open(st->users_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, sizeof(why), "%s: cannot open users file: %s", st->users_path,
                 strerror(errno));
        answer(st, LAUNCH_ERROR, 0, errno, why);
        return;
    }
    struct keeper_msg k = { .type = KEEPER_USERS_FD };
    int rc = fd_pass_send(st->keeper, &k, sizeof(k), &fd, 1);
    close(fd);
    if (rc != 0) {
        snprintf(why, sizeof(why), "cannot hand the users file to the enclave: %s",
                 strerror(-rc));
        answer(st, LAUNCH_ERROR, 0, -rc, why);
    }
}

/* Reaps every child (the supervisor, and workers orphaned to us as the subreaper); reports
 * the supervisor's end. */
static void reap(struct launcher_state *st)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid != st->child)
            continue;
        st->child = 0;
        close(st->keeper);
        st->keeper = -1;
        answer(st, LAUNCH_EXITED, pid, status, NULL);
    }
}

/* vpn-server closed the channel: the supervisor sees its own channel close and stops; give it
 * a grace period, then kill it, and reap everything. */
static void finish(struct launcher_state *st) __attribute__((noreturn));
static void finish(struct launcher_state *st)
{
    uint64_t deadline = clock_monotonic_ms() + STOP_GRACE_MS;
    if (st->keeper >= 0)
        close(st->keeper);
    while (st->child && clock_monotonic_ms() < deadline) {
        if (waitpid(st->child, NULL, WNOHANG) == st->child)
            st->child = 0;
        else
            usleep(10000);
    }
    if (st->child) {
        kill(st->child, SIGKILL);
        waitpid(st->child, NULL, 0);
    }
    /* Workers orphaned by a killed supervisor die of PR_SET_PDEATHSIG; reap them here. */
    deadline = clock_monotonic_ms() + STOP_GRACE_MS;
    while (clock_monotonic_ms() < deadline) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid < 0)
            break;      /* ECHILD: nothing left */
        if (pid == 0)
            usleep(10000);
    }
    _exit(0);
}

static void launcher_main(struct launcher_state *st) __attribute__((noreturn));
static void launcher_main(struct launcher_state *st)
{
    for (int fd = 3; fd < 1024; fd++)
        if (fd != st->fd)
            close(fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_IGN);    /* the terminal's ^C is for vpn-server, which stops us */
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_NAME, "vpn-launcher", 0, 0, 0);
    /* Orphaned enclave workers come to us, so that we can reap them before we exit. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    int rc = limit_capabilities();
    if (rc != 0)
        log_warn("enclave launcher: cannot limit its capabilities: %s", strerror(-rc));
    for (;;) {
        struct pollfd p = { .fd = st->fd, .events = POLLIN };
        int n = poll(&p, 1, REAP_POLL_MS);
        reap(st);
        if (n <= 0)
            continue;
        struct launch_msg m;
        int fds[FD_PASS_MAX], nfds = 0;
        ssize_t r = fd_pass_recv(st->fd, &m, sizeof(m), fds, FD_PASS_MAX, &nfds);
        if (r == -EAGAIN || r == -EINTR)
            continue;
        if (r == 0 || (r < 0 && r != -EBADMSG))
            finish(st);
        if (r == -EBADMSG) {
            answer(st, LAUNCH_ERROR, 0, EBADMSG, "malformed request");
            continue;
        }
        if (m.type == LAUNCH_START)
            start_enclave(st, fds, nfds);
        else if (m.type == LAUNCH_RELOAD_USERS && nfds == 0)
            reload_users(st);
        else
            answer(st, LAUNCH_ERROR, 0, EINVAL, "request not permitted");
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
    }
}

int launcher_spawn(struct launcher *l, const char *enclave_path, char *const enclave_argv[],
                   const char *users_path, int workers)
{
    int pair[2];
    l->pid = 0;
    l->fd = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pair[0]);
        close(pair[1]);
        return -e;
    }
    if (pid == 0) {
        struct launcher_state st = { .fd = pair[1], .path = enclave_path, .argv = enclave_argv,
                                     .users_path = users_path, .workers = workers, .keeper = -1 };
        launcher_main(&st);
    }
    close(pair[1]);
    l->pid = pid;
    l->fd = pair[0];
    return 0;
}

int launcher_start_enclave(struct launcher *l, int shm_fd, int ctl_fd, const int *doorbells,
                           int workers)
{
    int fds[2 + MAX_WORKERS];
    struct launch_msg m;
    memset(&m, 0, sizeof(m));
    m.type = LAUNCH_START;
    fds[0] = shm_fd;
    fds[1] = ctl_fd;
    memcpy(fds + 2, doorbells, sizeof(int) * (size_t)workers);
    return fd_pass_send(l->fd, &m, sizeof(m), fds, 2 + workers);
}

int launcher_reload_users(struct launcher *l)
{
    struct launch_msg m;
    memset(&m, 0, sizeof(m));
    m.type = LAUNCH_RELOAD_USERS;
    return fd_pass_send(l->fd, &m, sizeof(m), NULL, 0);
}

int launcher_read(struct launcher *l, struct launch_msg *m)
{
    int fds[FD_PASS_MAX], nfds;
    ssize_t r = fd_pass_recv(l->fd, m, sizeof(*m), fds, 0, &nfds);
    if (r == -EAGAIN || r == -EINTR || r == -EBADMSG)
        return 0;
    if (r <= 0)
        return -1;
    m->text[sizeof(m->text) - 1] = '\0';
    return 1;
}

void launcher_stop(struct launcher *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->pid > 0)
        waitpid(l->pid, NULL, 0);
    l->pid = 0;
}
