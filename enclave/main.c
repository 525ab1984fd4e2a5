/* vpn-enclave: the software enclave. Started by vpn-server, never by hand.
 *
 * This process (the supervisor) alone opens the server's private key and the users file. It
 * keeps them, and every session key, in locked shared memory that only it and its workers map,
 * forks the worker pool, restarts a worker that dies, and reports to the main process over a
 * private socketpair. Workers do the handshakes and all AEAD work on the rings the main
 * process shares with them (include/vpn/enclave_ipc.h).
 *
 * File descriptors inherited from vpn-server:
 *   3            memfd with one struct worker_shm region per worker
 *   4            control channel (SOCK_SEQPACKET): our reports, the server's requests
 *   5 .. 5+N-1   doorbell socket of each worker
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "secrets.h"
#include "users.h"
#include "worker.h"
#include "vpn/enclave_ipc.h"
#include "vpn/keyfile.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/server_config.h"   /* ENCLAVE_USER, for messages */

enum { FD_SHM = 3, FD_CTL = 4, FD_DOORBELL0 = 5 };

struct supervisor {
    int workers;
    uid_t uid;              /* ENCLAVE_USER's, given by vpn-server: never 0 */
    gid_t gid;
    uint32_t replay_window_ms;
    const char *key_path;
    const char *users_path;
    int users_fd;           /* kept open to re-read the file on SIGHUP (see reload_users) */
    struct enclave_secrets *sec;
    pid_t pids[MAX_WORKERS];
    uint64_t started_ms[MAX_WORKERS];
    unsigned quick_deaths[MAX_WORKERS];
};

static volatile sig_atomic_t child_exited;
static volatile sig_atomic_t stop_requested;

static void on_sigchld(int sig) { (void)sig; child_exited = 1; }
static void on_stop(int sig) { (void)sig; stop_requested = 1; }

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)send(FD_CTL, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, MSG_NOSIGNAL);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report("ERROR %s", msg);
    log_error("enclave: %s", msg);
    exit(2);
}

/* Reads the server key, or creates it on first start (REQUIREMENTS.md section 2). */
static void load_or_create_key(struct supervisor *s)
{
    char err[512];
    if (access(s->key_path, F_OK) != 0 && errno == ENOENT) {
        uint8_t k[KEY_LEN];
        randombytes_buf(k, sizeof(k));
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        int rc = keyfile_write(s->key_path, k, false, err, sizeof(err));
        sodium_memzero(k, sizeof(k));
        if (rc != 0)
            fail("cannot create the server key: %s", err);
        log_info("Generated a new server key in %s", s->key_path);
    }
    if (keyfile_read(s->key_path, s->sec->s_priv, err, sizeof(err)) != 0)
        fail("%s", err);
    crypto_scalarmult_base(s->sec->s_pub, s->sec->s_priv);
}

static struct worker_shm *map_region(int index)
{
    size_t region = (sizeof(struct worker_shm) + 4095) & ~(size_t)4095;
    void *p = mmap(NULL, sizeof(struct worker_shm), PROT_READ | PROT_WRITE, MAP_SHARED, FD_SHM,
                   (off_t)region * index);
    return p == MAP_FAILED ? NULL : p;
}

#ifdef ENCLAVE_TEST_HOOKS
/* Test-only build (make's build/test-enclave/vpn-enclave): SIGUSR1 makes a worker call a
 * syscall its seccomp filter forbids, so the tests can watch the kernel kill it and the
 * supervisor restart it. Never compiled into bin/vpn-enclave. */
#include <sys/syscall.h>
static void forbidden_syscall(int sig)
{
    (void)sig;
    syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
}
static void test_hooks_arm(void)
{
    signal(SIGUSR1, forbidden_syscall);
}
#endif

static void run_worker(struct supervisor *s, int index) __attribute__((noreturn));
static void run_worker(struct supervisor *s, int index)
{
    struct worker w = {
        .index = index,
        .count = s->workers,
        .doorbell_fd = FD_DOORBELL0 + index,
        .sec = s->sec,
        .replay_window_ms = s->replay_window_ms,
    };
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* Inherited from the supervisor, and set again here (before the filter forbids prctl)
     * so that no worker ever depends on how it was started: it holds every session key. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        log_error("enclave worker %d: cannot disable dumps: %s", index, strerror(errno));
        _exit(1);
    }
    signal(SIGCHLD, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    for (int i = 0; i < s->workers; i++)
        if (i != index)
            close(FD_DOORBELL0 + i);
    close(FD_CTL);
    close(s->users_fd);
    w.shm = map_region(index);
    close(FD_SHM);
    if (!w.shm) {
        log_error("enclave worker %d: cannot map its rings: %s", index, strerror(errno));
        _exit(1);
    }
    worker_rings_init(&w.rings, w.shm);
#ifdef ENCLAVE_TEST_HOOKS
    test_hooks_arm();   /* before the filter: installing a handler is not allowed after */
#endif
    int rc = sandbox_lock_memory(s->sec, sizeof(*s->sec));
    if (rc == 1 && index == 0)
        log_debug("enclave: memlock limit too small for everything; locked secrets and stack");
    if (rc >= 0)
        rc = sandbox_worker_filter();
    if (rc != 0) {
        log_error("enclave worker %d: sandbox: %s", index, strerror(-rc));
        _exit(1);
    }
    w.shm->ctl.pid = (uint32_t)getpid();
    worker_run(&w);
    _exit(0);
}

static int spawn(struct supervisor *s, int index)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        run_worker(s, index);
    s->pids[index] = pid;
    s->started_ms[index] = clock_monotonic_ms();
    report("WORKER %d %d", index, (int)pid);
    return 0;
}

/* Reaps dead workers, reports them and starts replacements. A worker that keeps dying at once
 * is restarted with a growing delay rather than in a tight loop. */
static void reap(struct supervisor *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < s->workers; i++) {
            if (s->pids[i] != pid)
                continue;
            char how[64];
            if (WIFSIGNALED(status))
                snprintf(how, sizeof(how), "signal %d%s", WTERMSIG(status),
                         WTERMSIG(status) == SIGSYS ? " (seccomp violation)" : "");
            else
                snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
            s->pids[i] = 0;
            /* A worker exits 0 only when the main process closed its doorbell: the server
             * is stopping, so are we; nothing to restart or report. */
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                stop_requested = 1;
            if (stop_requested)
                break;
            report("DIED %d %d %s", i, (int)pid, how);
            if (clock_monotonic_ms() - s->started_ms[i] < 2000)
                s->quick_deaths[i]++;
            else
                s->quick_deaths[i] = 0;
            if (s->quick_deaths[i] > 3)
                usleep(200000u * (s->quick_deaths[i] > 10 ? 10 : s->quick_deaths[i]));
            if (spawn(s, i) != 0)
                report("DIED %d 0 cannot fork: %s", i, strerror(errno));
        }
    }
}

static void report_removed(const char *name, void *ctx)
{
    (void)ctx;
    report("REMOVED %s", name);
}

/* SIGHUP, forwarded by the server: re-read the users file through the descriptor opened at
 * start (the supervisor no longer has the right to open it) and merge it into the live table.
 * A file replaced by rename (a new inode) cannot be seen that way: say so. */
static void reload_users(struct supervisor *s)
{
    struct stat st;
    if (fstat(s->users_fd, &st) == 0 && st.st_nlink == 0) {
        report("RELOADFAIL %s was replaced (renamed over); edit it in place, or restart the "
               "server to read the new file", s->users_path);
        return;
    }
    struct user_table *next = malloc(sizeof(*next));
    struct config_error err;
    if (!next) {
        report("RELOADFAIL out of memory");
        return;
    }
    if (users_load_fd(s->users_fd, s->users_path, next, &err) != 0) {
        report("RELOADFAIL %s", err.msg);
    } else {
        int changes = users_merge(&s->sec->users, next, report_removed, NULL);
        if (changes < 0)
            report("RELOADFAIL more than %d users", MAX_USERS);
        else
            report("RELOADED %d change(s), %d user(s)", changes, next->count);
    }
    sodium_memzero(next, sizeof(*next));
    free(next);
}

static void usage(void)
{
    fprintf(stderr, "vpn-enclave is started by vpn-server; it is not meant to be run by hand.\n"
                    "usage: vpn-enclave --workers N --private-key FILE --users FILE "
                    "--uid UID --gid GID [--replay-window-ms MS] [--log-level N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct supervisor s = { .workers = 1, .replay_window_ms = 5000 };
    static const struct option opts[] = {
        { "workers", required_argument, NULL, 'w' },
        { "private-key", required_argument, NULL, 'k' },
        { "users", required_argument, NULL, 'u' },
        { "replay-window-ms", required_argument, NULL, 'r' },
        { "log-level", required_argument, NULL, 'l' },
        { "uid", required_argument, NULL, 'U' },
        { "gid", required_argument, NULL, 'G' },
        { NULL, 0, NULL, 0 },
    };
    long uid = 0, gid = 0;
    int c;
    int level = LOG_INFO;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': s.workers = atoi(optarg); break;
        case 'k': s.key_path = optarg; break;
        case 'u': s.users_path = optarg; break;
        case 'r': s.replay_window_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'l': level = atoi(optarg); break;
        case 'U': uid = strtol(optarg, NULL, 10); break;
        case 'G': gid = strtol(optarg, NULL, 10); break;
        default: usage();
        }
    }
    log_init(level, NULL);
    if (!s.key_path || !s.users_path || s.workers < 1 || s.workers > MAX_WORKERS ||
        s.replay_window_ms == 0)
        usage();
    struct sockaddr_storage probe;
    socklen_t plen = sizeof(probe);
    if (getsockname(FD_CTL, (struct sockaddr *)&probe, &plen) != 0)
        usage();    /* not started by vpn-server */
    if (sodium_init() < 0)
        fail("libsodium failed to initialise");
    /* Our own uid, never the main process's nor root's: vpn-server looked it up. */
    if (uid <= 0 || gid <= 0 || uid >= (long)UINT32_MAX || gid >= (long)UINT32_MAX)
        fail("no unprivileged uid and gid to run as (--uid, --gid: the system user %s's)",
             ENCLAVE_USER);
    s.uid = (uid_t)uid;
    s.gid = (gid_t)gid;

    /* Locked memory for the secrets, the rings and each worker's own pages. */
    int rc = sandbox_no_dumps(256u << 20);
    if (rc != 0)
        fail("cannot disable core dumps: %s", strerror(-rc));
    s.sec = secrets_map();
    if (!s.sec)
        fail("cannot lock the enclave's secret memory: %s", strerror(errno));
    load_or_create_key(&s);
    struct config_error err;
    s.users_fd = users_open(s.users_path, &err);
    if (s.users_fd < 0 || users_load_fd(s.users_fd, s.users_path, &s.sec->users, &err) != 0)
        fail("%s", err.msg);

    rc = sandbox_drop_privileges(s.uid, s.gid);
    if (rc == -EPERM)
        fail("not started as root: cannot switch to uid %u", (unsigned)s.uid);
    if (rc != 0)
        fail("cannot switch to uid %u, gid %u: %s", (unsigned)s.uid, (unsigned)s.gid,
             strerror(-rc));

    struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP };
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = on_stop;
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGINT, SIG_IGN);    /* the terminal's ^C is for vpn-server, which stops us */
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    for (int i = 0; i < s.workers; i++)
        if (spawn(&s, i) != 0)
            fail("cannot start worker %d: %s", i, strerror(errno));
    char pub[KEYFILE_B64_LEN + 1];
    keyfile_encode(s.sec->s_pub, pub);
    report("READY %d %s", s.sec->users.count, pub);

    rc = sandbox_supervisor_filter();
    if (rc != 0)
        fail("cannot install the seccomp filter: %s", strerror(-rc));

    /* Serve until the main process closes the channel or stops us. */
    while (!stop_requested) {
        struct pollfd p = { .fd = FD_CTL, .events = POLLIN };
        int n = poll(&p, 1, 1000);
        if (child_exited) {
            child_exited = 0;
            reap(&s);
        }
        if (n > 0) {
            char buf[256];
            ssize_t r = recv(FD_CTL, buf, sizeof(buf) - 1, 0);
            if (r <= 0 && !(r < 0 && errno == EINTR))
                break;  /* the main process is gone: so are we */
            if (r > 0) {
                buf[r] = '\0';
                if (strcmp(buf, "RELOAD") == 0)
                    reload_users(&s);
            }
        }
    }
    stop_requested = 1;
    for (int i = 0; i < s.workers; i++)
        if (s.pids[i] > 0)
            kill(s.pids[i], SIGTERM);
    for (int i = 0; i < s.workers; i++)
        if (s.pids[i] > 0)
            waitpid(s.pids[i], NULL, 0);
    secrets_unmap(s.sec);
    return 0;
}
