/* vpn-enclave: the software enclave. Started by vpn-server, never by hand.
 *
 * This process (the supervisor) alone opens the server's private key and the users file. It
 * keeps them, and every session key, in locked shared memory that only it and its workers map,
 * forks the worker pool, restarts a worker that dies, and reports to the main process over a
 * private socketpair. Workers do the handshakes and all AEAD work on the rings the main
 * process shares with them (include/vpn/enclave_ipc.h).
 *
 * It is started by vpn-server's launcher, with the descriptors of include/vpn/enclave_proto.h:
 * the rings' memfd, the channel for our reports (binary struct sup_report), the keeper channel
 * on which the launcher hands us the users file on reload, and each worker's doorbell.
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

#include "check_files.h"
#include "sandbox.h"
#include "secrets.h"
#include "users.h"
#include "wg_noise.h"
#include "wg_peers.h"
#include "worker.h"
#include "vpn/aead.h"
#include "vpn/enclave_ipc.h"
#include "vpn/enclave_proto.h"
#include "vpn/fd_pass.h"
#include "vpn/keyfile.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/server_config.h"   /* ENCLAVE_USER, for messages */
#include "vpn/thread_slice.h"
#include "vpn/wg_blake2s.h"

enum {
    FD_SHM = ENCLAVE_FD_SHM,
    FD_CTL = ENCLAVE_FD_CTL,
    FD_KEEPER = ENCLAVE_FD_KEEPER,
    FD_DOORBELL0 = ENCLAVE_FD_DOORBELL0,
};

struct supervisor {
    int workers;
    uid_t uid;              /* ENCLAVE_USER's, given by vpn-server: never 0 */
    gid_t gid;
    uint32_t replay_window_ms;
    uint32_t rekey_interval_s;      /* keys older than this + KEY_AGE_GRACE_MS are refused */
    const char *key_path;
    const char *wg_key_path;        /* [wireguard] private_key_file when enabled, else NULL */
    const char *users_path;
    struct enclave_secrets *sec;
    pid_t pids[MAX_WORKERS];
    uint64_t started_ms[MAX_WORKERS];
    unsigned quick_deaths[MAX_WORKERS];
};

static volatile sig_atomic_t child_exited;
static volatile sig_atomic_t stop_requested;

static void on_sigchld(int sig) { (void)sig; child_exited = 1; }
static void on_stop(int sig) { (void)sig; stop_requested = 1; }

static void report(uint32_t type, int worker, int pid, int value, int users, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void report(uint32_t type, int worker, int pid, int value, int users, const char *fmt, ...)
{
    struct sup_report r;
    memset(&r, 0, sizeof(r));
    r.type = type;
    r.worker = worker;
    r.pid = pid;
    r.value = value;
    r.users = users;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r.text, sizeof(r.text), fmt, ap);
        va_end(ap);
    }
    (void)send(FD_CTL, &r, sizeof(r), MSG_NOSIGNAL);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    char msg[SUP_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report(SUP_ERROR, 0, 0, 0, 0, "%s", msg);
    log_error("enclave: %s", msg);
    exit(2);
}

/* Reads an X25519 private key file (server.key, or WireGuard's), or creates it on first
 * start (REQUIREMENTS.md section 2), clamped as `wg genkey` clamps. */
static void load_or_create_key(const char *path, const char *what, uint8_t priv[KEY_LEN])
{
    char err[512];
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        uint8_t k[KEY_LEN];
        randombytes_buf(k, sizeof(k));
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        int rc = keyfile_write(path, k, false, err, sizeof(err));
        sodium_memzero(k, sizeof(k));
        if (rc != 0)
            fail("cannot create the %s: %s", what, err);
        log_info("Generated a new %s in %s", what, path);
    }
    if (keyfile_read(path, priv, err, sizeof(err)) != 0)
        fail("%s", err);
}

/* [wireguard] enabled: the server's WireGuard identity (docs/WIREGUARD.md, "Enclave
 * identity"); its public key goes to the main process, which checks mac1 with it. */
static void load_wireguard_key(struct supervisor *s)
{
    uint8_t priv[WG_KEY_LEN];
    load_or_create_key(s->wg_key_path, "WireGuard key", priv);
    bool ok = wg_identity_init(&s->sec->wg_id, priv);
    sodium_memzero(priv, sizeof(priv));
    if (!ok)
        fail("%s: libcrypto failed to derive the WireGuard identity", s->wg_key_path);
    s->sec->wg_enabled = 1;
}

/* The users file's users and WireGuard peers into the live tables (start: empty). Returns the
 * number of peers added, or -1 with *err. */
static int load_users(struct supervisor *s, struct config_error *err)
{
    struct wg_peer_list *peers = malloc(sizeof(*peers));
    if (!peers) {
        snprintf(err->msg, sizeof(err->msg), "out of memory reading %s", s->users_path);
        return -1;
    }
    int added = -1, skipped = 0;
    if (users_load_all(s->users_path, &s->sec->users, peers, err) == 0) {
        /* Requests and initiations recorded before this start cannot be replayed now
         * (PROTOCOL.md step 4; for WireGuard the peers' TAI64N floor, wg_peers_admit). */
        uint64_t now = clock_realtime_ms();
        users_set_ts_floor(&s->sec->users, now);
        added = wg_peers_admit(&s->sec->wg_peers, &s->sec->users, peers, now, &skipped);
    }
    sodium_memzero(peers, sizeof(*peers));
    free(peers);
    return added;
}

/* Maps worker index's rings with a PROT_NONE page after them: with the guard pages around the
 * secrets (secrets_map), no write running off the end of the rings can reach a key. */
static struct worker_shm *map_region(int index)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t region = worker_region_size(page);
    uint8_t *area = mmap(NULL, region + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        return NULL;
    void *p = mmap(area, region, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, FD_SHM,
                   (off_t)(region * (size_t)index));
    if (p == MAP_FAILED) {
        int e = errno;
        munmap(area, region + page);
        errno = e;
        return NULL;
    }
    return p;
}

#ifdef ENCLAVE_TEST_HOOKS
/* Test-only build (make's build/test-enclave/vpn-enclave): SIGUSR1 makes a worker call a
 * syscall its seccomp filter forbids, so the tests can watch the kernel kill it and the
 * supervisor restart it. Never compiled into bin/vpn-enclave. */
#include <sched.h>
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

/* The supervisor's hooks, run from its main loop once its filter is in place; each breaks one
 * argument rule of that filter, which must make the kernel kill it there:
 *   SIGUSR1  clone(CLONE_VM | CLONE_THREAD | ...), a thread rather than a fork
 *   SIGUSR2  prctl(PR_SET_DUMPABLE, 1)
 *   SIGURG   kill(own pid, SIGCONT), a signal other than SIGTERM or SIGKILL
 * Each reports "TESTHOOK calling ..." before the call and "TESTHOOK survived ..." after it
 * (which a test must never see). A worker forked later inherits the handler and ignores it;
 * SIGUSR1 is its own hook again once run_worker has armed it. */
static volatile sig_atomic_t supervisor_hook;
static void on_supervisor_hook(int sig) { supervisor_hook = sig; }
static char hook_thread_stack[16384] __attribute__((aligned(16)));
static int hook_thread(void *arg) { (void)arg; return 0; }

static void supervisor_hooks_arm(void)
{
    signal(SIGUSR1, on_supervisor_hook);
    signal(SIGUSR2, on_supervisor_hook);
    signal(SIGURG, on_supervisor_hook);
}

static void supervisor_hook_run(void)
{
    int sig = supervisor_hook;
    supervisor_hook = 0;
    const char *what = sig == SIGUSR1 ? "clone(CLONE_VM|CLONE_THREAD)"
                     : sig == SIGUSR2 ? "prctl(PR_SET_DUMPABLE, 1)"
                     : sig == SIGURG ? "kill(self, SIGCONT)" : NULL;
    if (!what)
        return;
    report(SUP_ERROR, 0, 0, 0, 0, "TESTHOOK calling %s", what);
    if (sig == SIGUSR1)
        (void)clone(hook_thread, hook_thread_stack + sizeof(hook_thread_stack),
                    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM, NULL);
    else if (sig == SIGUSR2)
        (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    else
        (void)kill(getpid(), SIGCONT);
    report(SUP_ERROR, 0, 0, 0, 0, "TESTHOOK survived %s", what);
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
        .key_max_age_ms = (uint64_t)s->rekey_interval_s * 1000 + KEY_AGE_GRACE_MS,
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
    close(FD_KEEPER);
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
    report(SUP_WORKER, index, (int)pid, 0, 0, NULL);
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
            report(SUP_DIED, i, (int)pid, status, 0, "%s", how);
            if (clock_monotonic_ms() - s->started_ms[i] < 2000)
                s->quick_deaths[i]++;
            else
                s->quick_deaths[i] = 0;
            if (s->quick_deaths[i] > 3)
                usleep(200000u * (s->quick_deaths[i] > 10 ? 10 : s->quick_deaths[i]));
            if (spawn(s, i) != 0)
                report(SUP_DIED, i, 0, 0, 0, "cannot fork: %s", strerror(errno));
        }
    }
}

static void report_ended(const char *name, enum user_end why, void *ctx)
{
    (void)ctx;
    report(why == USER_END_REMOVED ? SUP_USER_REMOVED
           : why == USER_END_DISABLED ? SUP_USER_DISABLED : SUP_USER_CHANGED,
           0, 0, 0, 0, "%s", name);
}

static void report_peer_ended(const char *user, const char *device, void *ctx)
{
    (void)ctx;
    report(SUP_WG_PEER_ENDED, 0, 0, 0, 0, "%s:%s", user, device);
}

/* SIGHUP, through the launcher: it opened the users file anew (so a file replaced by rename is
 * read too) and handed us the descriptor; we merge it into the live table. */
static void reload_users(struct supervisor *s)
{
    struct keeper_msg k;
    int fd = -1, nfds = 0;
    ssize_t r = fd_pass_recv(FD_KEEPER, &k, sizeof(k), &fd, 1, &nfds);
    if (r <= 0)
        return;
    if (k.type != KEEPER_USERS_FD || nfds != 1) {
        if (nfds)
            close(fd);
        return;
    }
    struct user_table *next = malloc(sizeof(*next));
    struct wg_peer_list *peers = malloc(sizeof(*peers));
    struct config_error err;
    if (!next || !peers) {
        report(SUP_RELOAD_FAILED, 0, 0, 0, 0, "out of memory");
    } else if (users_load_fd_all(fd, s->users_path, next, peers, &err) != 0) {
        report(SUP_RELOAD_FAILED, 0, 0, 0, 0, "%s", err.msg);
    } else {
        /* Peers first out, then users, then peers in (wg_peers.h): an entry never names a
         * user table entry that users_merge gave to someone else. */
        uint64_t now = clock_realtime_ms();
        struct enclave_secrets *sec = s->sec;
        int retired = wg_peers_retire(&sec->wg_peers, &sec->users, peers, report_peer_ended,
                                      NULL);
        int changes = users_merge(&sec->users, next, now, report_ended, NULL);
        int skipped = 0;
        int added = wg_peers_admit(&sec->wg_peers, &sec->users, peers, now, &skipped);
        if (changes < 0)
            report(SUP_RELOAD_FAILED, 0, 0, 0, 0, "more than %d users", MAX_USERS);
        else if (skipped)
            report(SUP_RELOAD_FAILED, 0, 0, 0, 0, "%d WireGuard peer(s) left out", skipped);
        else
            report(SUP_RELOADED, 0, 0, changes + retired + added, next->count, NULL);
    }
    close(fd);
    if (next) {
        sodium_memzero(next, sizeof(*next));
        free(next);
    }
    if (peers) {
        sodium_memzero(peers, sizeof(*peers));
        free(peers);
    }
}

static void usage(void)
{
    fprintf(stderr, "vpn-enclave is started by vpn-server; it is not meant to be run by hand.\n"
                    "usage: vpn-enclave --workers N --private-key FILE --users FILE "
                    "--uid UID --gid GID [--wg-private-key FILE] [--replay-window-ms MS] "
                    "[--rekey-interval S] [--log-level N]\n"
                    "       vpn-enclave --check --private-key FILE --users FILE "
                    "[--wg-private-key FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct supervisor s = { .workers = 1, .replay_window_ms = REPLAY_WINDOW_MS_DEFAULT,
                            .rekey_interval_s = 600 };
    static const struct option opts[] = {
        { "workers", required_argument, NULL, 'w' },
        { "private-key", required_argument, NULL, 'k' },
        { "wg-private-key", required_argument, NULL, 'W' },
        { "users", required_argument, NULL, 'u' },
        { "replay-window-ms", required_argument, NULL, 'r' },
        { "rekey-interval", required_argument, NULL, 'R' },
        { "log-level", required_argument, NULL, 'l' },
        { "uid", required_argument, NULL, 'U' },
        { "gid", required_argument, NULL, 'G' },
        { "check", no_argument, NULL, 'C' },
        { NULL, 0, NULL, 0 },
    };
    bool check = false;
    long uid = 0, gid = 0;
    int c;
    int level = LOG_INFO;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': s.workers = atoi(optarg); break;
        case 'k': s.key_path = optarg; break;
        case 'W': s.wg_key_path = optarg; break;
        case 'u': s.users_path = optarg; break;
        case 'r': s.replay_window_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'R': s.rekey_interval_s = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'l': level = atoi(optarg); break;
        case 'U': uid = strtol(optarg, NULL, 10); break;
        case 'G': gid = strtol(optarg, NULL, 10); break;
        case 'C': check = true; break;
        default: usage();
        }
    }
    log_init(level, NULL);
    /* vpn-server --check-config: read the secret files as a start would, and stop there. */
    if (check) {
        if (!s.key_path || !s.users_path || optind < argc)
            usage();
        if (sodium_init() < 0)
            fail("libsodium failed to initialise");
        return check_files(s.key_path, s.wg_key_path, s.users_path);
    }
    if (!s.key_path || !s.users_path || s.workers < 1 || s.workers > MAX_WORKERS ||
        s.replay_window_ms < REPLAY_WINDOW_MS_MIN || s.replay_window_ms > REPLAY_WINDOW_MS_MAX ||
        s.rekey_interval_s == 0)
        usage();
    struct sockaddr_storage probe;
    socklen_t plen = sizeof(probe);
    if (getsockname(FD_CTL, (struct sockaddr *)&probe, &plen) != 0)
        usage();    /* not started by vpn-server */
    if (sodium_init() < 0)
        fail("libsodium failed to initialise");
    /* Before the privilege drop and the filters (aead.h); the workers inherit it. */
    if (aead_init() != 0)
        log_warn("enclave: OpenSSL's AEAD is unavailable: libsodium's serves instead");
    /* BLAKE2s for WireGuard, fetched before any filter (wg_blake2s.h); the workers inherit
     * it. */
    if (s.wg_key_path && wg_blake2s_init() != 0)
        fail("OpenSSL's libcrypto lacks BLAKE2s (BLAKE2S-256, BLAKE2SMAC): WireGuard cannot "
             "run");
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
    load_or_create_key(s.key_path, "server key", s.sec->s_priv);
    crypto_scalarmult_base(s.sec->s_pub, s.sec->s_priv);
    if (s.wg_key_path)
        load_wireguard_key(&s);
    wg_peers_init(&s.sec->wg_peers);
    struct config_error err;
    int wg_peers = load_users(&s, &err);
    if (wg_peers < 0)
        fail("%s", err.msg);
    randombytes_buf(s.sec->phantom_key, sizeof(s.sec->phantom_key));

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

    /* The workers' short slice (vpn/thread_slice.h), set here because fork passes it on: a
     * worker restarted by the filtered supervisor could not set it itself. */
    thread_short_slice();
    for (int i = 0; i < s.workers; i++)
        if (spawn(&s, i) != 0)
            fail("cannot start worker %d: %s", i, strerror(errno));
    char pub[KEYFILE_B64_LEN + 1];
    if (s.sec->wg_enabled) {
        keyfile_encode(s.sec->wg_id.pub, pub);
        report(SUP_WG_IDENTITY, 0, 0, wg_peers, 0, "%s", pub);
    }
    keyfile_encode(s.sec->s_pub, pub);
    report(SUP_READY, 0, 0, s.sec->users.count, s.sec->users.count, "%s", pub);

#ifdef ENCLAVE_TEST_HOOKS
    supervisor_hooks_arm();
#endif
    rc = sandbox_supervisor_filter();
    if (rc != 0)
        fail("cannot install the seccomp filter: %s", strerror(-rc));

    /* Serve until the main process closes the channel or stops us. Nothing is read from the
     * main process's channel but its end: requests come from the launcher only. */
    while (!stop_requested) {
        struct pollfd p[2] = { { .fd = FD_CTL, .events = POLLIN },
                               { .fd = FD_KEEPER, .events = POLLIN } };
        int n = poll(p, 2, 1000);
        if (child_exited) {
            child_exited = 0;
            reap(&s);
        }
#ifdef ENCLAVE_TEST_HOOKS
        supervisor_hook_run();
#endif
        if (n <= 0)
            continue;
        if (p[0].revents & (POLLIN | POLLHUP)) {
            char byte;
            ssize_t r = recv(FD_CTL, &byte, 1, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                break;  /* the main process is gone: so are we */
        }
        if (p[1].revents & POLLIN)
            reload_users(&s);
        else if (p[1].revents & POLLHUP)
            break;      /* the launcher is gone */
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
