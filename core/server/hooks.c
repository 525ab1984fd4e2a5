/* Connect and disconnect hooks (hooks.h). */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "server.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/run.h"

static struct hook_run *free_slot(struct hooks *h)
{
    for (int i = 0; i < HOOKS_RUNNING_MAX; i++)
        if (!h->runs[i].pid)
            return &h->runs[i];
    return NULL;
}

void hooks_session(struct control *c, const struct session *s, const char *why)
{
    const char *cmd = why ? c->cfg->hook_on_disconnect : c->cfg->hook_on_connect;
    struct hooks *h = &c->hooks;
    if (!cmd[0])
        return;
    struct hook_run *slot = free_slot(h);
    if (!slot) {
        h->skipped++;
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "Hook for %s not run: %d hooks still running", s->username,
                    HOOKS_RUNNING_MAX);
        return;
    }
    char ip[16], ep[64], e_event[32], e_user[USERNAME_MAX + 16], e_addr[32], e_ep[96],
        e_id[32], e_rx[48], e_tx[48], e_reason[160];
    struct sockaddr_in6 e;
    session_get_endpoint(s, &e);
    format_endpoint(&e, ep, sizeof(ep));
    snprintf(e_event, sizeof(e_event), "VPN_EVENT=%s", why ? "disconnect" : "connect");
    snprintf(e_user, sizeof(e_user), "VPN_USER=%s", s->username);
    snprintf(e_addr, sizeof(e_addr), "VPN_ADDRESS=%s", format_ipv4(s->vpn_ip, ip));
    snprintf(e_ep, sizeof(e_ep), "VPN_ENDPOINT=%s", ep);
    snprintf(e_id, sizeof(e_id), "VPN_SESSION=%08x", s->id);
    snprintf(e_rx, sizeof(e_rx), "VPN_RX_BYTES=%" PRIu64,
             s->usage_row_rx + counter_read(&s->rx_bytes));
    snprintf(e_tx, sizeof(e_tx), "VPN_TX_BYTES=%" PRIu64,
             s->usage_row_tx + counter_read(&s->tx_bytes));
    snprintf(e_reason, sizeof(e_reason), "VPN_REASON=%s", why ? why : "");
    char *const envp[] = { (char *)"PATH=/usr/sbin:/sbin:/usr/bin:/bin", e_event, e_user,
                           e_addr, e_ep, e_id, e_rx, e_tx, e_reason, NULL };
    char *const argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
    /* Its output goes where the server's does (the log or the journal); no input. */
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct run_fd fds[] = { { null_fd, STDIN_FILENO }, { STDOUT_FILENO, STDOUT_FILENO },
                            { STDERR_FILENO, STDERR_FILENO } };
    struct run_child child = { .path = "/bin/sh", .argv = argv, .envp = envp, .fds = fds,
                               .n_fds = 3, .say_exec_error = true, .unprivileged = true };
    pid_t pid = null_fd >= 0 ? run_start(&child) : -EMFILE;
    if (null_fd >= 0)
        close(null_fd);
    if (pid < 0) {
        h->failed++;
        log_warn("Hook %s for %s: cannot start: %s", why ? "on_disconnect" : "on_connect",
                 s->username, strerror((int)-pid));
        return;
    }
    slot->pid = pid;
    slot->deadline_ms = clock_monotonic_ms() + (uint64_t)c->cfg->hook_timeout_s * 1000;
    h->started++;
}

void hooks_tick(struct control *c, uint64_t now_ms)
{
    struct hooks *h = &c->hooks;
    for (int i = 0; i < HOOKS_RUNNING_MAX; i++) {
        struct hook_run *r = &h->runs[i];
        if (!r->pid)
            continue;
        int status;
        pid_t done = waitpid(r->pid, &status, WNOHANG);
        if (done == r->pid || (done < 0 && errno == ECHILD)) {
            if (done == r->pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                h->failed++;
                log_warn("A hook exited with %s %d", WIFEXITED(status) ? "status" : "signal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            }
            r->pid = 0;
        } else if (now_ms >= r->deadline_ms) {
            /* Its whole process group: what the shell started goes too. */
            kill(-r->pid, SIGKILL);
            h->timed_out++;
            log_warn("A hook ran longer than [hooks] timeout (%u s): killed",
                     c->cfg->hook_timeout_s);
            r->deadline_ms = UINT64_MAX;    /* reaped at a next tick */
        }
    }
}

void hooks_stop(struct control *c)
{
    /* Two seconds to finish (the disconnect hooks of the shutdown itself), then TERM, then
     * KILL, a second each. */
    static const int signals[] = { 0, SIGTERM, SIGKILL };
    static const int waits[] = { 20, 10, 10 };
    struct hooks *h = &c->hooks;
    for (int pass = 0; pass < 3; pass++) {
        bool any = false;
        for (int i = 0; i < HOOKS_RUNNING_MAX; i++)
            if (h->runs[i].pid) {
                if (signals[pass])
                    kill(-h->runs[i].pid, signals[pass]);
                any = true;
            }
        if (!any)
            return;
        for (int t = 0; t < waits[pass]; t++) {
            hooks_tick(c, 0);
            usleep(100000);
        }
    }
}
