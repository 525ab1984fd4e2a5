/* Per-user totals (see user_totals.h). */
#include "user_totals.h"

#include <string.h>

#include "control.h"
#include "server.h"
#include "vpn/json.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/qos.h"

/* FNV-1a: the table is keyed by names the users file chose, not by an attacker (a handshake
 * reaches the control thread only once its user is authentic). */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The user's slot, or a free one to take (add), or -1. */
static int slot_of(const struct user_totals *t, const char *user, bool add)
{
    uint32_t i = name_hash(user) % USER_TOTALS_SLOTS;
    for (int n = 0; n < USER_TOTALS_SLOTS; n++, i = (i + 1) % USER_TOTALS_SLOTS) {
        if (!t->slot[i].user[0])
            return add && t->used < USER_TOTALS_SLOTS - 1 ? (int)i : -1;
        if (strcmp(t->slot[i].user, user) == 0)
            return (int)i;
    }
    return -1;
}

static struct user_total *find(struct user_totals *t, const char *user, bool add)
{
    int i = slot_of(t, user, add);
    if (i < 0) {
        if (add) {
            static struct log_limit lim;
            log_limited(&lim, LOG_WARN, "Totals: %d users seen since the start; %s is not "
                        "counted in the status until a restart", t->used, user);
        }
        return NULL;
    }
    struct user_total *u = &t->slot[i];
    if (!u->user[0]) {
        memcpy(u->user, user, strlen(user) + 1);
        t->used++;
    }
    return u;
}

void user_totals_session_made(struct user_totals *t, const struct session *s, const char *cls)
{
    struct user_total *u = find(t, s->username, true);
    if (!u)
        return;
    u->handshakes++;
    snprintf(u->cls, sizeof(u->cls), "%s", cls);
}

void user_totals_session_ended(struct user_totals *t, const struct session *s)
{
    struct user_total *u = find(t, s->username, true);
    if (!u)
        return;
    u->rx_bytes += counter_read(&s->rx_bytes);
    u->rx_packets += counter_read(&s->rx_packets);
    u->tx_bytes += counter_read(&s->tx_bytes);
    u->tx_packets += counter_read(&s->tx_packets);
    u->upload_drops += counter_read(&s->upload_drops);
}

/* A user's live sessions, summed for the status. */
enum { ENDPOINTS_MAX = 4 };     /* a user holds one current session and few retiring ones */
struct live {
    struct user_total sum;
    int sessions, devices;
    uint64_t rx_bps, tx_bps;
    struct sockaddr_in6 endpoints[ENDPOINTS_MAX];
    const struct session *current;
};

static void add_live(struct live *l, const struct session *s)
{
    l->sum.rx_bytes += counter_read(&s->rx_bytes);
    l->sum.rx_packets += counter_read(&s->rx_packets);
    l->sum.tx_bytes += counter_read(&s->tx_bytes);
    l->sum.tx_packets += counter_read(&s->tx_packets);
    l->sum.upload_drops += counter_read(&s->upload_drops);
    l->rx_bps += s->rx_bps;
    l->tx_bps += s->tx_bps;
    if (!s->retire_at_ms) {
        l->sessions++;
        l->current = s;
    }
    struct sockaddr_in6 ep;
    session_get_endpoint(s, &ep);
    for (int i = 0; i < l->devices && i < ENDPOINTS_MAX; i++)
        if (endpoint_equal(&l->endpoints[i], &ep))
            return;
    if (l->devices < ENDPOINTS_MAX)
        l->endpoints[l->devices] = ep;
    l->devices++;
}

void user_totals_write_json(const struct user_totals *t, const struct control *c, FILE *out)
{
    /* Scratch for one status at a time (the control thread serves one client at a time). */
    static struct live live[USER_TOTALS_SLOTS];
    memset(live, 0, sizeof(live));
    for (int i = 0; i < c->n_all; i++) {
        const struct session *s = c->all[i];
        int k = slot_of(t, s->username, false);
        if (k >= 0)
            add_live(&live[k], s);
    }
    fputs("\"users\":[", out);
    int n = 0;
    for (int k = 0; k < USER_TOTALS_SLOTS; k++) {
        const struct user_total *u = &t->slot[k];
        if (!u->user[0])
            continue;
        const struct live *l = &live[k];
        /* An online user's class is its current session's, as the configuration in force
         * has it; an offline user's the one it had. */
        const struct session *cur = l->current;
        fprintf(out, "%s{\"user\":", n++ ? "," : "");
        json_write_string(out, u->user);
        fputs(",\"class\":", out);
        json_write_string(out, cur ? qos_class_name_for(c->cfg, cur->vpn_ip) : u->cls);
        fprintf(out, ",\"sessions\":%d,\"devices\":%d,\"handshakes\":%llu,\"rx_bytes\":%llu,"
                     "\"rx_packets\":%llu,\"tx_bytes\":%llu,\"tx_packets\":%llu,"
                     "\"upload_drops\":%llu,\"rx_bps\":%llu,\"tx_bps\":%llu}",
                l->sessions, l->devices, (unsigned long long)u->handshakes,
                (unsigned long long)(u->rx_bytes + l->sum.rx_bytes),
                (unsigned long long)(u->rx_packets + l->sum.rx_packets),
                (unsigned long long)(u->tx_bytes + l->sum.tx_bytes),
                (unsigned long long)(u->tx_packets + l->sum.tx_packets),
                (unsigned long long)(u->upload_drops + l->sum.upload_drops),
                (unsigned long long)l->rx_bps, (unsigned long long)l->tx_bps);
    }
    fputs("]", out);
}
