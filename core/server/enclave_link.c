/* Starting, restarting and stopping the enclave from the main process (see enclave_link.h). */
#include "enclave_link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vpn/enclave_proto.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/server_config.h"

enum {
    READY_TIMEOUT_MS = 10000,
    /* An enclave that dies sooner than this after its start counts as a quick failure: the
     * next start waits RESTART_DELAY_MS doubled per quick failure in a row, up to
     * RESTART_DELAY_MAX_MS, so that a crash loop neither spins nor floods the log. */
    QUICK_FAILURE_MS = 10000,
    RESTART_DELAY_MS = 500,
    RESTART_DELAY_MAX_MS = 30000,
};

static size_t region_size(void)
{
    return worker_region_size((size_t)sysconf(_SC_PAGESIZE));
}

/* Asks the launcher for a new supervisor on a fresh report channel. */
static int launch(struct enclave_link *e)
{
    int ctl[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0)
        return -errno;
    /* A new enclave has no sessions: its workers' counters of live keys start at zero (no
     * worker runs while we write this). */
    for (int i = 0; i < e->workers; i++)
        __atomic_store_n(&e->shm[i]->ctl.sessions, 0, __ATOMIC_RELAXED);
    int rc = launcher_start_enclave(&e->launcher, e->shm_fd, ctl[1], e->worker_bell, e->workers);
    close(ctl[1]);
    if (rc != 0) {
        close(ctl[0]);
        return rc;
    }
    e->ctl_fd = ctl[0];
    e->state = ENCLAVE_STARTING;
    e->awaiting_exit = true;
    e->started_ms = clock_monotonic_ms();
    return 0;
}

/* The supervisor is gone (its channel closed): every key died with it. */
static void lost(struct enclave_link *e, const struct enclave_events *ev)
{
    if (e->ctl_fd >= 0)
        close(e->ctl_fd);
    e->ctl_fd = -1;
    if (e->state == ENCLAVE_DOWN)
        return;
    uint64_t now = clock_monotonic_ms();
    bool quick = now - e->started_ms < QUICK_FAILURE_MS;
    e->quick_failures = quick ? e->quick_failures + 1 : 0;
    uint64_t delay = 0;
    if (e->quick_failures) {
        unsigned shift = e->quick_failures - 1 > 6 ? 6 : e->quick_failures - 1;
        delay = (uint64_t)RESTART_DELAY_MS << shift;
        if (delay > RESTART_DELAY_MAX_MS)
            delay = RESTART_DELAY_MAX_MS;
    }
    e->state = ENCLAVE_DOWN;
    e->retry_at_ms = now + delay;
    memset(e->worker_pids, 0, sizeof(e->worker_pids));
    if (delay)
        log_error("The enclave (PID %d) is gone, and every session's keys with it; it failed "
                  "%u time(s) in a row soon after starting: next start in %.1f s", (int)e->pid,
                  e->quick_failures, (double)delay / 1000.0);
    else
        log_error("The enclave (PID %d) is gone, and every session's keys with it; starting "
                  "a new one", (int)e->pid);
    e->pid = 0;
    if (ev && ev->lost)
        ev->lost(ev->ctx);
}

/* One supervisor report. false when the channel closed. */
static bool read_report(struct enclave_link *e, struct sup_report *r)
{
    ssize_t n = recv(e->ctl_fd, r, sizeof(*r), MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? (r->type = 0, true) : false;
    if (n == 0)
        return false;
    if ((size_t)n != sizeof(*r)) {
        r->type = 0;    /* not a report: ignored */
        return true;
    }
    r->text[sizeof(r->text) - 1] = '\0';
    return true;
}

static void on_report(struct enclave_link *e, const struct sup_report *r,
                      const struct enclave_events *ev)
{
    bool worker_ok = r->worker >= 0 && r->worker < e->workers;
    switch (r->type) {
    case SUP_READY:
        e->users = r->value;
        memcpy(e->public_key, r->text, sizeof(e->public_key) - 1);
        e->public_key[sizeof(e->public_key) - 1] = '\0';
        e->state = ENCLAVE_READY;
        if (e->restarts++)
            log_info("Enclave restarted (PID: %d), %d users; clients reconnect by themselves",
                     (int)e->pid, e->users);
        if (ev && ev->ready)
            ev->ready(ev->ctx);
        break;
    case SUP_WG_IDENTITY:
        memcpy(e->wg_public_key, r->text, sizeof(e->wg_public_key) - 1);
        e->wg_public_key[sizeof(e->wg_public_key) - 1] = '\0';
        break;
    case SUP_ERROR:
        log_error("Enclave: %s", r->text);
        break;
    case SUP_WORKER:
        if (worker_ok) {
            if (e->state == ENCLAVE_READY) {
                e->worker_restarts[r->worker]++;
                log_info("Enclave worker %d restarted (PID: %d)", r->worker, r->pid);
            }
            e->worker_pids[r->worker] = r->pid;
        }
        break;
    case SUP_DIED:
        if (worker_ok)
            log_error("Enclave worker %d (PID: %d) died: %s", r->worker, r->pid, r->text);
        break;
    case SUP_USER_REMOVED:
    case SUP_USER_CHANGED:
    case SUP_USER_DISABLED: {
        static const char *const how[] = { [SUP_USER_REMOVED] = "removed from",
                                           [SUP_USER_CHANGED] = "has a new token in",
                                           [SUP_USER_DISABLED] = "disabled in" };
        static const char *const why[] = { [SUP_USER_REMOVED] = "user removed",
                                           [SUP_USER_CHANGED] = "user's token changed",
                                           [SUP_USER_DISABLED] = "user disabled" };
        log_info("User %s %s the users file", r->text, how[r->type]);
        if (ev && ev->user_ended)
            ev->user_ended(r->text, why[r->type], ev->ctx);
        break;
    }
    case SUP_RELOADED:
        e->users = r->users;
        e->users_reloads++;
        log_info("Users reloaded: %d change(s), %d user(s)", r->value, r->users);
        break;
    case SUP_RELOAD_FAILED:
        e->users_reload_failures++;
        snprintf(e->users_reload_error, sizeof(e->users_reload_error), "%s", r->text);
        log_error("Users not reloaded, keeping the current ones: %s", r->text);
        break;
    default:
        break;
    }
}

void enclave_handle_report(struct enclave_link *e, const struct enclave_events *ev)
{
    struct sup_report r;
    for (int i = 0; i < 64 && e->ctl_fd >= 0; i++) {
        memset(&r, 0, sizeof(r));
        if (!read_report(e, &r)) {
            lost(e, ev);
            return;
        }
        if (!r.type)
            return;
        on_report(e, &r, ev);
    }
}

bool enclave_handle_launcher(struct enclave_link *e, const struct enclave_events *ev)
{
    struct launch_msg m;
    int rc;
    while ((rc = launcher_read(&e->launcher, &m)) > 0) {
        switch (m.type) {
        case LAUNCH_STARTED:
            e->pid = m.pid;
            log_info("Enclave process started (PID: %d)", (int)e->pid);
            break;
        case LAUNCH_EXITED:
            e->awaiting_exit = false;
            if (WIFSIGNALED(m.status))
                log_warn("Enclave process %d was killed by signal %d%s", (int)m.pid,
                         WTERMSIG(m.status),
                         WTERMSIG(m.status) == SIGSYS ? " (seccomp violation)" : "");
            else
                log_warn("Enclave process %d exited with status %d", (int)m.pid,
                         WEXITSTATUS(m.status));
            lost(e, ev);
            break;
        case LAUNCH_ERROR:
            log_error("Enclave launcher: %s", m.text);
            if (e->state == ENCLAVE_STARTING && !e->pid) {
                e->awaiting_exit = false;
                lost(e, ev);    /* the start itself failed: try again later */
            }
            break;
        default:
            break;
        }
    }
    if (rc < 0) {
        log_error("The enclave launcher is gone: the enclave cannot be restarted");
        return false;
    }
    return true;
}

void enclave_tick(struct enclave_link *e, uint64_t now_ms)
{
    if (e->state != ENCLAVE_DOWN || e->awaiting_exit || now_ms < e->retry_at_ms)
        return;
    int rc = launch(e);
    if (rc != 0) {
        log_error("Cannot start a new enclave: %s", strerror(-rc));
        e->retry_at_ms = now_ms + RESTART_DELAY_MAX_MS;
    }
}

/* Start-up: waits for the first supervisor's READY (or the reason it failed). */
static int wait_ready(struct enclave_link *e, char *why, size_t why_len)
{
    uint64_t deadline = clock_monotonic_ms() + READY_TIMEOUT_MS;
    snprintf(why, why_len, "the enclave exited during start-up");
    while (clock_monotonic_ms() < deadline) {
        struct pollfd p[2] = { { .fd = e->ctl_fd, .events = POLLIN },
                               { .fd = e->launcher.fd, .events = POLLIN } };
        int n = poll(p, 2, 100);
        if (n <= 0)
            continue;
        if (p[1].revents & POLLIN) {
            struct launch_msg m;
            if (launcher_read(&e->launcher, &m) < 0)
                return -1;
            if (m.type == LAUNCH_STARTED)
                e->pid = m.pid;
            else if (m.type == LAUNCH_ERROR)
                snprintf(why, why_len, "%s", m.text);
            else if (m.type == LAUNCH_EXITED)
                return -1;
        }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            struct sup_report r;
            memset(&r, 0, sizeof(r));
            if (!read_report(e, &r))
                return -1;
            if (r.type == SUP_ERROR) {
                snprintf(why, why_len, "%s", r.text);
            } else if (r.type) {
                on_report(e, &r, NULL);
                if (e->state == ENCLAVE_READY)
                    return 0;
            }
        }
    }
    snprintf(why, why_len, "the enclave did not get ready within %d s", READY_TIMEOUT_MS / 1000);
    return -1;
}

int enclave_start(struct enclave_link *e, const struct server_config *cfg, int workers,
                  const char *enclave_path, uid_t uid, gid_t gid, char *why, size_t why_len)
{
    /* vpn-enclave's command line; the launcher keeps its own copy (it is forked). */
    static char n_workers[16], window[16], rekey[16], level[8], uid_s[16], gid_s[16];
    static char *argv[20];
    memset(e, 0, sizeof(*e));
    e->workers = workers;
    e->ctl_fd = e->shm_fd = -1;
    e->launcher.fd = -1;
    for (int i = 0; i < MAX_WORKERS; i++)
        e->doorbell[i] = e->worker_bell[i] = -1;

    e->map_len = region_size() * (size_t)workers;
    e->shm_fd = memfd_create("vpn-rings", MFD_CLOEXEC);
    if (e->shm_fd < 0 || ftruncate(e->shm_fd, (off_t)e->map_len) != 0)
        goto sys_fail;
    e->map = mmap(NULL, e->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, e->shm_fd, 0);
    if (e->map == MAP_FAILED) {
        e->map = NULL;
        goto sys_fail;
    }
    for (int i = 0; i < workers; i++) {
        int pair[2];
        e->shm[i] = (struct worker_shm *)((char *)e->map + region_size() * (size_t)i);
        worker_rings_init(&e->rings[i], e->shm[i]);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            goto sys_fail;
        e->doorbell[i] = pair[0];
        e->worker_bell[i] = pair[1];
        fcntl(e->doorbell[i], F_SETFL, O_NONBLOCK);
    }

    snprintf(n_workers, sizeof(n_workers), "%d", workers);
    snprintf(window, sizeof(window), "%u", cfg->replay_window_ms);
    snprintf(rekey, sizeof(rekey), "%u", cfg->rekey_interval_s);
    snprintf(level, sizeof(level), "%d", cfg->log_level);
    snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)uid);
    snprintf(gid_s, sizeof(gid_s), "%u", (unsigned)gid);
    char *const args[] = { (char *)"vpn-enclave", (char *)"--workers", n_workers,
                           (char *)"--private-key", (char *)cfg->private_key_file,
                           (char *)"--users", (char *)cfg->users_file,
                           (char *)"--replay-window-ms", window, (char *)"--rekey-interval",
                           rekey, (char *)"--log-level", level, (char *)"--uid", uid_s,
                           (char *)"--gid", gid_s, NULL };
    memcpy(argv, args, sizeof(args));
    int rc = launcher_spawn(&e->launcher, enclave_path, argv, cfg->users_file, workers);
    if (rc != 0) {
        errno = -rc;
        goto sys_fail;
    }
    rc = launch(e);
    if (rc != 0) {
        errno = -rc;
        goto sys_fail;
    }
    if (wait_ready(e, why, why_len) != 0) {
        enclave_stop(e);
        return -1;
    }
    return 0;

sys_fail:
    snprintf(why, why_len, "%s", strerror(errno));
    enclave_stop(e);
    return -1;
}

void enclave_stop(struct enclave_link *e)
{
    if (e->ctl_fd >= 0)
        close(e->ctl_fd);       /* the supervisor stops its workers and exits */
    e->ctl_fd = -1;
    launcher_stop(&e->launcher);    /* waits for the supervisor, then for the launcher */
    e->pid = 0;
    e->state = ENCLAVE_DOWN;
    for (int i = 0; i < e->workers; i++) {
        if (e->doorbell[i] >= 0)
            close(e->doorbell[i]);
        if (e->worker_bell[i] >= 0)
            close(e->worker_bell[i]);
        e->doorbell[i] = e->worker_bell[i] = -1;
    }
    if (e->shm_fd >= 0)
        close(e->shm_fd);
    e->shm_fd = -1;
    if (e->map)
        munmap(e->map, e->map_len);
    e->map = NULL;
}

void enclave_reload_users(struct enclave_link *e)
{
    if (e->state != ENCLAVE_READY) {
        log_warn("The enclave is restarting: it reads the users file when it starts");
        return;
    }
    int rc = launcher_reload_users(&e->launcher);
    if (rc != 0)
        log_error("Cannot ask the enclave to reload the users: %s", strerror(-rc));
}
