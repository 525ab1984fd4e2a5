/* Status over the control socket (see control_socket.h). */
#include "control_socket.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "server.h"
#include "usage.h"
#include "vpn/device_name.h"
#include "vpn/json.h"
#include "vpn/limits.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/proto.h"
#include "vpn/qos.h"
#include "vpn/unix_socket.h"
#include "vpn/version.h"

int control_socket_open(const char *path, int gid)
{
    return unix_listen_group(path, gid);
}

void control_socket_close(int fd, const char *path)
{
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
}

struct show_ctx {
    const struct control *ctl;
    const struct server *srv;
    FILE *out;
    bool json;
    int n;
    uint64_t now;
    struct qos_class_stats tc[QOS_USER_MAX + 8];   /* download side, from tc, when QoS is on */
    int n_tc;
};

/* The tc class of a session's download, or NULL without QoS. */
static const struct qos_class_stats *tc_of(const struct show_ctx *c, uint16_t major,
                                           uint16_t minor)
{
    for (int i = 0; i < c->n_tc; i++)
        if (c->tc[i].major == major && c->tc[i].minor == minor)
            return &c->tc[i];
    return NULL;
}

static void show_one(const struct session *s, void *arg)
{
    struct show_ctx *c = arg;
    char ip[16], ep[64];
    struct sockaddr_in6 e;
    session_get_endpoint(s, &e);
    format_endpoint(&e, ep, sizeof(ep));
    format_ipv4(s->vpn_ip, ip);
    uint16_t major, minor;
    qos_classid_for_user(c->ctl->cfg, s->username, &major, &minor);
    const struct qos_class_stats *tc = tc_of(c, major, minor);
    unsigned long long tc_drops = tc ? (unsigned long long)tc->drops : 0;
    unsigned long long tc_rate = tc ? (unsigned long long)tc->rate_bps : 0;
    uint64_t age = (c->now - s->created_ms) / 1000;
    uint64_t idle = ms_since(c->now, __atomic_load_n(&s->last_rx_ms, __ATOMIC_RELAXED)) / 1000;
    /* A WireGuard peer is shown as `wg show` names it: its device. */
    char device[DEVICE_NAME_MAX + 1] = "";
    if (s->wireguard && !device_name_of_id(s->device, device))
        device[0] = '\0';
    if (c->json) {
        char id[16], cls[16];
        snprintf(id, sizeof(id), "%08x", s->id);
        snprintf(cls, sizeof(cls), "%x:%x", major, minor);
        fprintf(c->out, "%s{\"user\":", c->n ? "," : "");
        json_write_string(c->out, s->username);
        fprintf(c->out, ",\"session\":");
        json_write_string(c->out, id);
        fprintf(c->out, ",\"vpn_ip\":");
        json_write_string(c->out, ip);
        fprintf(c->out, ",\"endpoint\":");
        json_write_string(c->out, ep);
        fprintf(c->out, ",\"protocol\":\"%s\"", s->wireguard ? "wireguard" : "vpnse");
        if (s->wireguard) {
            fprintf(c->out, ",\"device\":");
            json_write_string(c->out, device);
        }
        fprintf(c->out,
                ",\"worker\":%d,\"handshake_age_s\":%llu,\"idle_s\":%llu,\"rx_bytes\":%llu,"
                "\"rx_packets\":%llu,\"tx_bytes\":%llu,\"tx_packets\":%llu,"
                "\"upload_drops\":%llu,\"class\":",
                s->worker, (unsigned long long)age, (unsigned long long)idle,
                (unsigned long long)counter_read(&s->rx_bytes), (unsigned long long)counter_read(&s->rx_packets),
                (unsigned long long)counter_read(&s->tx_bytes), (unsigned long long)counter_read(&s->tx_packets),
                (unsigned long long)counter_read(&s->upload_drops));
        json_write_string(c->out, cls);
        fprintf(c->out,
                ",\"retiring\":%s,\"rx_bps\":%llu,\"tx_bps\":%llu,\"download_drops\":%llu,"
                "\"class_rate_bps\":%llu}",
                s->retire_at_ms ? "true" : "false", (unsigned long long)s->rx_bps,
                (unsigned long long)s->tx_bps, tc_drops, tc_rate);
    } else {
        fprintf(c->out,
                "session %08x%s\n  user: %s%s%s\n  vpn ip: %s\n  endpoint: %s\n  worker: %d\n"
                "  latest handshake: %llu s ago\n  transfer: %llu B received (%llu packets), "
                "%llu B sent (%llu packets)\n  current rate: %.2f Mbit/s up, %.2f Mbit/s down\n"
                "  upload drops (QoS): %llu\n  download drops (tc): %llu\n  class: %x:%x%s\n\n",
                s->id, s->retire_at_ms ? " (rekey overlap)" : "", s->username,
                s->wireguard ? ", WireGuard device " : "", device, ip, ep,
                s->worker, (unsigned long long)age, (unsigned long long)counter_read(&s->rx_bytes),
                (unsigned long long)counter_read(&s->rx_packets), (unsigned long long)counter_read(&s->tx_bytes),
                (unsigned long long)counter_read(&s->tx_packets), (double)s->rx_bps / 1e6,
                (double)s->tx_bps / 1e6, (unsigned long long)counter_read(&s->upload_drops), tc_drops, major,
                minor, c->srv->qos_active ? "" : " (QoS off)");
    }
    c->n++;
}

/* Every drop counter and header verdict, by the names declared beside their enums
 * (counter.h), in text or JSON. */
static const char *const RX_NAMES[] = { RX_DROP_REASONS(COUNTER_NAME) };
static const char *const TUN_NAMES[] = { TUN_DROP_REASONS(COUNTER_NAME) };
static const char *const TX_NAMES[] = { TX_DROP_REASONS(COUNTER_NAME) };
static const char *const HDR_NAMES[] = { HDR_VERDICT_LIST(COUNTER_NAME) };
static const char *const WORKER_NAMES[] = { WORKER_DROP_REASONS(COUNTER_NAME) };

struct counter_out {
    FILE *out;
    bool json;
    int n;
};

static void put_counter(struct counter_out *o, const char *prefix, const char *name, uint64_t v)
{
    if (o->json)
        fprintf(o->out, "%s\"%s%s\":%llu", o->n ? "," : "", prefix, name, (unsigned long long)v);
    else
        fprintf(o->out, "%s%s%s %llu", o->n ? ", " : " ", prefix, name, (unsigned long long)v);
    o->n++;
}

static void show_drops(const struct server *srv, FILE *out, bool json)
{
    struct counter_out o = { .out = out, .json = json };
    fprintf(out, json ? "\"drops\":{" : "drops:");
    for (int i = 0; i < RX_DROPS; i++)
        put_counter(&o, "", RX_NAMES[i], counter_read(&srv->rx_drops[i]));
    for (int i = HDR_OK + 1; i < HDR_VERDICTS; i++)
        put_counter(&o, "rx_header_", HDR_NAMES[i], counter_read(&srv->rx_hdr_verdicts[i]));
    for (int i = 0; i < TUN_DROPS; i++)
        put_counter(&o, "", TUN_NAMES[i], counter_read(&srv->tun_drops[i]));
    for (int i = 0; i < TX_DROPS; i++)
        put_counter(&o, "", TX_NAMES[i], counter_read(&srv->tx_drops[i]));
    for (int d = 0; d < DROP_REASONS; d++) {
        uint64_t sum = 0;
        for (int w = 0; w < srv->enclave.workers; w++)
            sum += counter_read(&srv->enclave.shm[w]->ctl.drops[d]);
        put_counter(&o, "enclave_", WORKER_NAMES[d], sum);
    }
    fprintf(out, json ? "}" : "\n");
}

/* Each enclave worker: PID, sessions whose keys it holds, packets it sealed and opened, and
 * how long since its loop last ran (a wedged worker shows a growing age under load). */
static void show_workers(const struct server *srv, FILE *out, bool json)
{
    uint64_t now = clock_realtime_ms();
    if (json)
        fprintf(out, "\"enclave_workers\":[");
    for (int w = 0; w < srv->enclave.workers; w++) {
        const struct worker_ctl *c = &srv->enclave.shm[w]->ctl;
        uint64_t beat = __atomic_load_n(&c->heartbeat_ms, __ATOMIC_RELAXED);
        unsigned long long age = beat && now > beat ? (unsigned long long)(now - beat) : 0;
        if (json)
            fprintf(out, "%s{\"worker\":%d,\"pid\":%u,\"sessions\":%u,\"decrypted\":%llu,"
                         "\"encrypted\":%llu,\"loop_age_ms\":%llu,\"restarts\":%u}",
                    w ? "," : "", w, c->pid, c->sessions,
                    (unsigned long long)counter_read(&c->packets_decrypted),
                    (unsigned long long)counter_read(&c->packets_encrypted), age,
                    srv->enclave.worker_restarts[w]);
        else
            fprintf(out, "enclave worker %d: pid %u, %u sessions, %llu packets opened, %llu sealed, "
                         "loop ran %llu ms ago\n", w, c->pid, c->sessions,
                    (unsigned long long)counter_read(&c->packets_decrypted),
                    (unsigned long long)counter_read(&c->packets_encrypted), age);
    }
    fprintf(out, json ? "]," : "\n");
}

/* "handshakes":{"ok":N,"auth_failed":N,...,"dropped":N}: every handshake phase 1 passed or
 * the enclave answered, by its result (the protocol's status names, in lower case). */
static void show_handshakes(const struct control *ctl, FILE *out)
{
    fprintf(out, "\"handshakes\":{\"ok\":%llu", (unsigned long long)ctl->handshakes_ok);
    for (unsigned st = STATUS_OK + 1; st < HANDSHAKE_STATUS_SLOTS; st++) {
        const char *name = proto_status_name(st);
        if (!name && !ctl->refused_by_status[st])
            continue;
        fputs(",\"", out);
        if (name)
            for (; *name; name++)
                fputc(*name >= 'A' && *name <= 'Z' ? *name - 'A' + 'a' : *name, out);
        else
            fprintf(out, "status_%u", st);
        fprintf(out, "\":%llu", (unsigned long long)ctl->refused_by_status[st]);
    }
    fprintf(out, ",\"dropped\":%llu}", (unsigned long long)ctl->handshakes_dropped);
}

/* "qos_classes":[...]: the download tree's leaves as tc counts them (QoS on; [] otherwise),
 * each named by its class and, for a user's own leaf, its user (qos.h: the tree). */
static void show_qos_classes(const struct show_ctx *c, FILE *out)
{
    const struct server_config *cfg = c->ctl->cfg;
    fputs("\"qos_classes\":[", out);
    int n = 0;
    for (int i = 0; i < c->n_tc; i++) {
        const struct qos_class_stats *tc = &c->tc[i];
        const char *cls = NULL, *user = "";
        if (tc->major != QOS_ROOT_MAJOR)
            continue;
        if (tc->minor == cfg->default_minor)
            cls = QOS_DEFAULT_CLASS_NAME;
        for (int u = 0; !cls && u < cfg->n_users; u++)
            if (cfg->users[u].class_index >= 0 && qos_user_minor(cfg, u) == tc->minor) {
                cls = cfg->classes[cfg->users[u].class_index].name;
                user = cfg->users[u].name;
            }
        if (!cls)
            continue;   /* 1:1, the inner class every leaf borrows from */
        char id[16];
        snprintf(id, sizeof(id), "%x:%x", tc->major, tc->minor);
        fprintf(out, "%s{\"classid\":", n++ ? "," : "");
        json_write_string(out, id);
        fputs(",\"class\":", out);
        json_write_string(out, cls);
        fputs(",\"user\":", out);
        json_write_string(out, user);
        fprintf(out, ",\"bytes\":%llu,\"packets\":%llu,\"drops\":%llu,\"rate_bps\":%llu}",
                (unsigned long long)tc->bytes, (unsigned long long)tc->packets,
                (unsigned long long)tc->drops, (unsigned long long)tc->rate_bps);
    }
    fputs("]", out);
}

/* Waits until fd is ready for events or the deadline (monotonic ms) passes. */
static bool wait_ready(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = clock_monotonic_ms();
        if (now >= deadline)
            return false;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)(deadline - now));
        if (n > 0)
            return true;
        if (n == 0 || errno != EINTR)
            return false;
    }
}

/* Sends the whole reply on the non-blocking fd before the deadline; false when the client
 * stopped reading (full socket buffer until the deadline), went away, or failed. A client that
 * never reads costs the control thread CONTROL_REPLY_MS, not forever. */
static bool send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
            !wait_ready(fd, POLLOUT, deadline))
            return false;
    }
    return true;
}

/* SO_PEERCRED: struct ucred, _GNU_SOURCE. */
void control_socket_serve(struct control *ctl)
{
    const struct server *srv = ctl->srv;
    /* Non-blocking: neither the request nor the reply may hold the control thread, which
     * also finishes handshakes and ends sessions, for longer than its deadline. */
    int c = accept4(srv->control_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    char req[CONTROL_REQUEST_MAX];
    ssize_t req_len;
    /* A slow or silent client gets CONTROL_REQUEST_MS, then nothing. */
    if (!wait_ready(c, POLLIN, clock_monotonic_ms() + CONTROL_REQUEST_MS) ||
        (req_len = read(c, req, sizeof(req))) <= 0) {
        close(c);
        return;
    }
    char *body = NULL;
    size_t body_len = 0;
    FILE *out = open_memstream(&body, &body_len);
    if (!out) {
        close(c);
        return;
    }
    enum control_request what = control_request_parse(req, (size_t)req_len);
    bool json = what == CONTROL_REQ_SHOW_JSON;
    struct ucred peer;
    socklen_t peer_len = sizeof(peer);
    bool peer_root = getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0 &&
                     peer.uid == 0;
    if (what == CONTROL_REQ_UNKNOWN) {
        fprintf(out, "error: unknown request (expected \"show\", \"show json\", \"usage json\", "
                     "\"users\", \"reload\" or \"reopen-logs\")\n");
    } else if (what == CONTROL_REQ_USAGE_JSON) {
        usage_write_json(ctl, out, control_request_days(req, (size_t)req_len));
    } else if (what == CONTROL_REQ_USERS) {
        control_users_show(ctl, out);
    } else if ((what == CONTROL_REQ_RELOAD || what == CONTROL_REQ_REOPEN_LOGS) && !peer_root) {
        /* The socket may be a group's ([metrics] control_socket_group): reading is theirs,
         * changing anything is root's. */
        fprintf(out, "error: only root may ask for that\n");
    } else if (what == CONTROL_REQ_RELOAD) {
        control_users_reload(ctl, out);
    } else if (what == CONTROL_REQ_REOPEN_LOGS) {
        int rc = control_reopen_logs("vpnctl reopen-logs");
        if (rc < 0)
            fprintf(out, "error: cannot reopen the log file: %s\n", strerror(-rc));
        else
            fprintf(out, "ok: %s\n", rc ? "log file reopened" : "logging to stderr, nothing to reopen");
    } else {
        static struct show_ctx ctx;
        memset(&ctx, 0, sizeof(ctx));
        ctx.srv = srv;
        ctx.ctl = ctl;
        ctx.out = out;
        ctx.json = json;
        ctx.now = clock_monotonic_ms();
        if (srv->qos_active) {
            int n = qos_read_stats(srv->tun_name, ctx.tc, (int)(sizeof(ctx.tc) / sizeof(ctx.tc[0])));
            ctx.n_tc = n > 0 ? n : 0;
        }
        char ip[16];
        int wg_sessions = 0;
        for (int i = 0; i < ctl->n_all; i++)
            wg_sessions += ctl->all[i]->wireguard && !ctl->all[i]->retire_at_ms;
        if (json) {
            fprintf(out, "{\"version\":");
            json_write_string(out, vpn_version);
            fprintf(out, ",\"interface\":");
            json_write_string(out, srv->tun_name);
            fprintf(out, ",\"tun_ip\":");
            json_write_string(out, format_ipv4(ctl->cfg->tun_ip, ip));
            fprintf(out, ",\"port\":%u,\"workers\":%d,\"sessions\":%d,\"handshakes_ok\":%llu,"
                         "\"handshakes_refused\":%llu,\"handshakes_dropped\":%llu,"
                         "\"under_load\":%s,\"cookies_sent\":%llu,\"hints_sent\":%llu,"
                         "\"enclave_restarts\":%u,\"wireguard_sessions\":%d,"
                         "\"wireguard_keepalives_sent\":%llu,",
                    ctl->cfg->listen_port, srv->enclave.workers, ctl->live_sessions,
                    (unsigned long long)ctl->handshakes_ok,
                    (unsigned long long)ctl->handshakes_refused,
                    (unsigned long long)ctl->handshakes_dropped,
                    server_under_load(srv, ctx.now) ? "true" : "false",
                    (unsigned long long)counter_read(&srv->cookies_sent),
                    (unsigned long long)counter_read(&srv->hints_sent),
                    srv->enclave.restarts ? srv->enclave.restarts - 1 : 0, wg_sessions,
                    (unsigned long long)ctl->wg_keepalives_sent);
        } else {
            fprintf(out, "interface: %s\n  tunnel address: %s/%u\n  listening port: %u\n"
                         "  public key: %s\n  enclave workers: %d\n  sessions: %d\n"
                         "  handshakes: %llu accepted, %llu refused%s; %llu cookie replies\n\n",
                    srv->tun_name, format_ipv4(ctl->cfg->tun_ip, ip), ctl->cfg->tun_prefix,
                    ctl->cfg->listen_port, srv->enclave.public_key, srv->enclave.workers,
                    ctl->live_sessions, (unsigned long long)ctl->handshakes_ok,
                    (unsigned long long)ctl->handshakes_refused,
                    server_under_load(srv, ctx.now) ? " (under load)" : "",
                    (unsigned long long)counter_read(&srv->cookies_sent));
            if (ctl->cfg->wg_enabled)
                fprintf(out, "wireguard:\n  listening port: %u\n  public key: %s\n"
                             "  sessions: %d\n\n", ctl->cfg->wg_listen_port,
                        srv->enclave.wg_public_key, wg_sessions);
        }
        show_workers(srv, out, json);
        if (json) {
            show_drops(srv, out, true);
            fputc(',', out);
            show_handshakes(ctl, out);
            fputc(',', out);
            handshake_latency_write_json(&ctl->handshake_latency, out);
            fputc(',', out);
            user_totals_write_json(&ctl->totals, ctl, out);
            fputc(',', out);
            show_qos_classes(&ctx, out);
            fprintf(out, ",\"peers\":[");
        }
        for (int i = 0; i < ctl->n_all; i++)
            show_one(ctl->all[i], &ctx);
        if (json)
            fprintf(out, "]}\n");
        else
            show_drops(srv, out, false);
    }
    fclose(out);
    if (!send_all(c, body, body_len, clock_monotonic_ms() + CONTROL_REPLY_MS))
        log_debug("Control socket: a client did not take its %zu-byte reply within %d ms; "
                  "dropped", body_len, CONTROL_REPLY_MS);
    free(body);
    close(c);
}
