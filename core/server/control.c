/* The control thread's loop (see control.h): signals, handshake and session events from the
 * TX thread, the enclave's reports and its launcher, the control socket, and timers. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "control_socket.h"
#include "server.h"
#include "service_notify.h"
#include "vpn/device_name.h"
#include "vpn/log.h"

int control_init(struct control *c, struct server *srv, struct server_config *cfg,
                 const char *config_path)
{
    memset(c, 0, sizeof(*c));
    c->srv = srv;
    c->cfg = cfg;
    c->config_path = config_path;
    ctl_submit_init(&c->submit, &srv->enclave);
    service_notify_init(&c->notify);
    return pool_init(&c->pool, cfg);
}

void control_uninit(struct control *c)
{
    ctl_submit_uninit(&c->submit);
    pool_uninit(&c->pool);
    free(c->all);
    free(c->cfg_owned);
    free(c->dyn_filters);
    c->all = NULL;
    c->cfg_owned = NULL;
    c->dyn_filters = NULL;
}

void control_on_event(struct control *c, const struct ctl_event *ev)
{
    struct session *s;
    switch (ev->meta.op) {
    case RES_HELLO:
        control_on_hello(c, ev);
        break;
    case RES_ACCEPTED:
        control_on_accepted(c, ev);
        break;
    case RES_REPLY:
        control_on_reply(c, ev);
        break;
    case RES_DISCONNECT:
        /* The client said goodbye: the worker has already erased the key. */
        if ((s = control_find(c, ev->meta.session_id)))
            control_end_session(c, s, false, "client disconnected");
        break;
    default:
        break;
    }
}

static void drain_events(struct control *c)
{
    struct server *srv = c->srv;
    uint64_t v;
    ssize_t k = read(srv->event_fd, &v, sizeof(v));
    (void)k;
    struct cds_wfcq_node *node;
    while ((node = __cds_wfcq_dequeue_blocking(&srv->events_head, &srv->events_tail))) {
        struct ctl_event *ev = caa_container_of(node, struct ctl_event, node);
        control_on_event(c, ev);
        free(ev);
    }
}

void control_on_user_ended(struct control *c, const char *user, const char *why)
{
    for (int i = c->n_all - 1; i >= 0; i--)
        if (strcmp(c->all[i]->username, user) == 0)
            control_disconnect_session(c, c->all[i], why);
}

void control_on_device_ended(struct control *c, const char *user, const char *device)
{
    uint8_t id[DEVICE_ID_LEN];
    device_id_of_name(device, id);
    for (int i = c->n_all - 1; i >= 0; i--) {
        struct session *s = c->all[i];
        if (s->wireguard && strcmp(s->username, user) == 0 &&
            memcmp(s->device, id, sizeof(id)) == 0)
            control_end_session(c, s, true, "WireGuard peer removed or re-keyed");
    }
}

void control_on_enclave_lost(struct control *c)
{
    int n = c->n_all;
    while (c->n_all)
        control_end_session(c, c->all[c->n_all - 1], false, "the enclave restarted");
    control_forget_pending(c);
    ctl_submit_drop_all(&c->submit);
    if (n)
        log_warn("%d session(s) ended with the enclave", n);
}

static void user_ended(const char *user, const char *why, void *arg)
{
    control_on_user_ended(arg, user, why);
}

static void device_ended(const char *user, const char *device, void *arg)
{
    control_on_device_ended(arg, user, device);
}

static void enclave_lost(void *arg)
{
    control_on_enclave_lost(arg);
}

int control_reopen_logs(const char *why)
{
    int rc = log_reopen();
    if (rc > 0)
        log_info("Log file reopened (%s)", why);
    else if (rc < 0)
        log_warn("Cannot reopen the log file (%s): %s; logging goes on to the old one", why,
                 strerror(-rc));
    return rc;
}

static bool on_signal(struct control *c)
{
    struct signalfd_siginfo si;
    if (read(c->srv->signal_fd, &si, sizeof(si)) != sizeof(si))
        return true;
    if (si.ssi_signo == SIGHUP) {
        service_notify_reloading(&c->notify);
        control_reopen_logs("SIGHUP");
        log_info("SIGHUP: reloading the configuration, users and QoS classes");
        control_reload(c, NULL, 0);
        enclave_reload_users(&c->srv->enclave);
        service_notify_reloaded(&c->notify, c->live_sessions, clock_monotonic_ms());
        return true;
    }
    log_info("Received %s, shutting down...", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
    return false;
}

void control_disconnect_all(struct control *c)
{
    struct server *srv = c->srv;
    int live = c->live_sessions;
    while (c->n_all) {
        struct session *s = c->all[c->n_all - 1];
        if (s->retire_at_ms)
            control_end_session(c, s, true, "server stopping");
        else
            control_disconnect_session(c, s, "server stopping");
    }
    /* Let the workers seal and the TX thread send (a few ms); give up after 500 ms. */
    for (int t = 0; t < 50; t++) {
        ctl_submit_flush(&c->submit);
        bool busy = ctl_submit_waiting(&c->submit, -1) > 0;
        for (int w = 0; w < srv->enclave.workers; w++)
            busy |= ring_available(&srv->enclave.rings[w].in_ctl) ||
                    ring_available(&srv->enclave.rings[w].out_enc);
        if (!busy)
            break;
        usleep(10000);
    }
    if (live)
        log_info("Sent DISCONNECT to %d client(s)", live);
}

int control_run(struct control *c)
{
    struct server *srv = c->srv;
    uint64_t next_sweep = clock_monotonic_ms() + SWEEP_MS;
    const struct enclave_events ev = { .user_ended = user_ended, .device_ended = device_ended, .lost = enclave_lost,
                                       .ctx = c };
    rcu_register_thread();
    for (;;) {
        struct pollfd p[5] = {
            { .fd = srv->signal_fd, .events = POLLIN },
            { .fd = srv->event_fd, .events = POLLIN },
            { .fd = srv->enclave.ctl_fd, .events = POLLIN },
            { .fd = srv->control_fd, .events = POLLIN },
            { .fd = srv->enclave.launcher.fd, .events = POLLIN },
        };
        uint64_t now = clock_monotonic_ms();
        int timeout = next_sweep > now ? (int)(next_sweep - now) : 0;
        if (srv->enclave.state == ENCLAVE_DOWN && !srv->enclave.awaiting_exit) {
            int due = srv->enclave.retry_at_ms > now ? (int)(srv->enclave.retry_at_ms - now) : 0;
            timeout = due < timeout ? due : timeout;
        }
        if (ctl_submit_waiting(&c->submit, -1))
            timeout = timeout < 1 ? timeout : 1;    /* the workers are draining in_ctl */
        int notify_due = service_notify_tick(&c->notify, c->live_sessions, now);
        if (notify_due >= 0 && notify_due < timeout)
            timeout = notify_due;
        rcu_thread_offline();
        int n = poll(p, 5, timeout);
        rcu_thread_online();
        if (n < 0 && errno != EINTR)
            break;
        if ((p[0].revents & POLLIN) && !on_signal(c))
            break;
        if (p[1].revents & POLLIN)
            drain_events(c);
        if (p[2].revents & (POLLIN | POLLHUP))
            enclave_handle_report(&srv->enclave, &ev);
        if (p[4].revents & (POLLIN | POLLHUP) && !enclave_handle_launcher(&srv->enclave, &ev)) {
            log_error("Stopping: without its launcher the enclave cannot come back");
            rcu_unregister_thread();
            return 1;
        }
        if (srv->control_fd >= 0 && (p[3].revents & POLLIN))
            control_socket_serve(c);
        now = clock_monotonic_ms();
        enclave_tick(&srv->enclave, now);
        ctl_submit_flush(&c->submit);
        control_sync_filters(c);
        if (now >= next_sweep) {
            control_sweep(c, now);
            control_expire_pending(c, now);
            rcu_quiescent_state();
            next_sweep = now + SWEEP_MS;
        }
    }
    rcu_unregister_thread();
    return 0;
}
