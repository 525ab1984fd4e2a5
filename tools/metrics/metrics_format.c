/* Status JSON to Prometheus families (see metrics_format.h). The tables below are the list
 * of metrics: a name, its type and help, and the status key it comes from. */
#include "metrics_format.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "prom_text.h"

struct metric {
    const char *name, *type, *help;
    const char *key;    /* in the object the table is about */
};

/* Server-wide values, from the top level of the reply. */
static const struct metric SERVER[] = {
    { "vpn_sessions", "gauge", "Sessions now (current ones; rekey overlaps not counted).",
      "sessions" },
    { "vpn_wireguard_sessions", "gauge", "Of those, sessions of WireGuard peers (the "
      "WireGuard port).", "wireguard_sessions" },
    { "vpn_enclave_workers", "gauge", "Enclave worker processes (-t).", "workers" },
    { "vpn_under_load", "gauge", "1 while handshakes must prove their source with a cookie.",
      "under_load" },
    { "vpn_cookie_replies_total", "counter", "Cookie replies sent (docs/PROTOCOL.md ext. 3).",
      "cookies_sent" },
    { "vpn_session_unknown_hints_total", "counter",
      "SESSION_UNKNOWN hints sent to senders of unknown sessions (ext. 2).", "hints_sent" },
    { "vpn_enclave_restarts_total", "counter",
      "Times the enclave (supervisor and workers) was started again after dying.",
      "enclave_restarts" },
};

/* Per user, from each entry of "users" (totals since the server started). */
static const struct metric USER[] = {
    { "vpn_user_sessions", "gauge", "Current sessions of the user (a newer handshake "
      "replaces a session, so 0 or 1).", "sessions" },
    { "vpn_user_devices", "gauge", "Distinct client endpoints of the user's live sessions "
      "(current and in their rekey overlap).", "devices" },
    { "vpn_user_handshakes_total", "counter", "Sessions made for the user: connects, "
      "reconnects and rekeys.", "handshakes" },
    { "vpn_user_received_bytes_total", "counter", "Bytes of IP packets received from the "
      "user's client (upload), inner packets as written to the TUN.", "rx_bytes" },
    { "vpn_user_sent_bytes_total", "counter", "Bytes of IP packets sent to the user's client "
      "(download), inner packets as read from the TUN.", "tx_bytes" },
    { "vpn_user_received_packets_total", "counter", "IP packets received from the user's "
      "client.", "rx_packets" },
    { "vpn_user_sent_packets_total", "counter", "IP packets sent to the user's client.",
      "tx_packets" },
    { "vpn_user_upload_qos_drops_total", "counter", "Packets from the user's client dropped "
      "by its class's upload policer (QoS).", "upload_drops" },
};

/* A non-negative integer (or a boolean, as 0/1) at key; false when absent or another type. */
static bool get_u64(const json_t *obj, const char *key, uint64_t *v)
{
    const json_t *x = json_object_get(obj, key);
    if (json_is_boolean(x)) {
        *v = json_is_true(x);
        return true;
    }
    if (!json_is_integer(x) || json_integer_value(x) < 0)
        return false;
    *v = (uint64_t)json_integer_value(x);
    return true;
}

/* A string at key, or "" (a label value is never missing). */
static const char *get_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void write_server(const json_t *st, FILE *out)
{
    for (size_t i = 0; i < sizeof(SERVER) / sizeof(SERVER[0]); i++) {
        const struct metric *m = &SERVER[i];
        uint64_t v;
        prom_family(out, m->name, m->type, m->help);
        if (get_u64(st, m->key, &v))
            prom_sample_u64(out, m->name, NULL, NULL, v);
    }
}

/* "handshakes":{"ok":N,"auth_failed":N,...}: one series per result the server names. */
static void write_handshakes(const json_t *st, FILE *out)
{
    const char *name = "vpn_handshakes_total";
    prom_family(out, name, "counter", "Handshakes by result: ok (a session was made), the "
                "refusal's status (auth_failed, rate_limited, ...), or dropped (no room for "
                "one more in flight).");
    const char *result;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(st, "handshakes"), result, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            continue;
        struct prom_label l[] = { { "result", result }, { NULL, NULL } };
        prom_sample_u64(out, name, NULL, l, (uint64_t)json_integer_value(v));
    }
}

/* "handshake_latency":{"le_us":[...],"cumulative":[...],"count":N,"sum_us":N}. */
static void write_latency(const json_t *st, FILE *out)
{
    const char *name = "vpn_handshake_duration_seconds";
    prom_family(out, name, "histogram", "Time from a request's authentication (phase 1's "
                "result at the control thread) to its response being sent, for handshakes "
                "that made a session.");
    const json_t *h = json_object_get(st, "handshake_latency");
    const json_t *le = json_object_get(h, "le_us"), *cum = json_object_get(h, "cumulative");
    uint64_t count, sum_us;
    if (!json_is_array(le) || !json_is_array(cum) || json_array_size(le) != json_array_size(cum)
        || !get_u64(h, "count", &count) || !get_u64(h, "sum_us", &sum_us))
        return;
    char bound[32];
    for (size_t i = 0; i < json_array_size(le); i++) {
        json_int_t b = json_integer_value(json_array_get(le, i));
        json_int_t c = json_integer_value(json_array_get(cum, i));
        if (b <= 0 || c < 0)
            return;     /* bounds are positive; a broken list writes no bucket after it */
        prom_format_double((double)b / 1e6, bound, sizeof(bound));
        struct prom_label l[] = { { "le", bound }, { NULL, NULL } };
        prom_sample_u64(out, name, "_bucket", l, (uint64_t)c);
    }
    struct prom_label inf[] = { { "le", "+Inf" }, { NULL, NULL } };
    prom_sample_u64(out, name, "_bucket", inf, count);
    prom_sample_double(out, name, "_sum", NULL, (double)sum_us / 1e6);
    prom_sample_u64(out, name, "_count", NULL, count);
}

/* "drops":{...}: the server's drop counters by reason; the rx_header_* entries break
 * rx_header down by the check that failed, so they get a family of their own (summing
 * vpn_drops_total counts every drop once). */
static void write_drops(const json_t *st, FILE *out)
{
    static const char HDR[] = "rx_header_";
    const json_t *drops = json_object_get(st, "drops");
    for (int pass = 0; pass < 2; pass++) {
        const char *name = pass ? "vpn_rx_header_drops_total" : "vpn_drops_total";
        prom_family(out, name, "counter", pass ?
                    "Datagrams dropped for a bad header, by the check that failed (a "
                    "breakdown of vpn_drops_total{reason=\"rx_header\"})." :
                    "Packets dropped, by reason (README, \"Monitoring\"; enclave_* inside "
                    "the enclave workers).");
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)drops, key, v) {
            bool is_hdr = strncmp(key, HDR, sizeof(HDR) - 1) == 0;
            if (is_hdr != (pass == 1) || !json_is_integer(v) || json_integer_value(v) < 0)
                continue;
            struct prom_label l[] = { { pass ? "check" : "reason",
                                        pass ? key + sizeof(HDR) - 1 : key }, { NULL, NULL } };
            prom_sample_u64(out, name, NULL, l, (uint64_t)json_integer_value(v));
        }
    }
}

/* "enclave_workers":[{"worker":0,...}]. */
static void write_workers(const json_t *st, FILE *out)
{
    static const struct metric W[] = {
        { "vpn_enclave_worker_restarts_total", "counter", "Times the enclave supervisor "
          "started a worker again after it died (kill, seccomp, malformed request).",
          "restarts" },
        { "vpn_enclave_worker_sessions", "gauge", "Sessions whose keys the worker holds.",
          "sessions" },
        { "vpn_enclave_worker_decrypted_packets_total", "counter", "Packets the worker "
          "opened.", "decrypted" },
        { "vpn_enclave_worker_encrypted_packets_total", "counter", "Packets the worker "
          "sealed.", "encrypted" },
    };
    const json_t *workers = json_object_get(st, "enclave_workers");
    for (size_t m = 0; m < sizeof(W) / sizeof(W[0]); m++) {
        prom_family(out, W[m].name, W[m].type, W[m].help);
        size_t i;
        const json_t *w;
        json_array_foreach(workers, i, w) {
            uint64_t id, v;
            if (!get_u64(w, "worker", &id) || !get_u64(w, W[m].key, &v))
                continue;
            char num[24];
            snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
            struct prom_label l[] = { { "worker", num }, { NULL, NULL } };
            prom_sample_u64(out, W[m].name, NULL, l, v);
        }
    }
}

static void write_users(const json_t *st, FILE *out)
{
    const json_t *users = json_object_get(st, "users");
    for (size_t m = 0; m < sizeof(USER) / sizeof(USER[0]); m++) {
        prom_family(out, USER[m].name, USER[m].type, USER[m].help);
        size_t i;
        const json_t *u;
        json_array_foreach(users, i, u) {
            uint64_t v;
            if (!get_u64(u, USER[m].key, &v))
                continue;
            struct prom_label l[] = { { "user", get_str(u, "user") },
                                      { "class", get_str(u, "class") }, { NULL, NULL } };
            prom_sample_u64(out, USER[m].name, NULL, l, v);
        }
    }
}

/* "qos_classes":[...]: drops in the download tree's leaves (a user's own, or the default
 * class's, which its users share: user ""). */
static void write_qos(const json_t *st, FILE *out)
{
    const char *name = "vpn_qos_download_drops_total";
    prom_family(out, name, "counter", "Packets to clients dropped by the download tree's "
                "leaf (tc), by classid; user is empty for the default class's shared leaf. "
                "Reset when SIGHUP rebuilds the tree.");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(st, "qos_classes"), i, c) {
        uint64_t v;
        if (!get_u64(c, "drops", &v))
            continue;
        struct prom_label l[] = { { "classid", get_str(c, "classid") },
                                  { "class", get_str(c, "class") },
                                  { "user", get_str(c, "user") }, { NULL, NULL } };
        prom_sample_u64(out, name, NULL, l, v);
    }
}

static void write_up(FILE *out, bool up)
{
    prom_family(out, "vpn_up", "gauge", "1 when vpn-server answered on its control socket.");
    prom_sample_u64(out, "vpn_up", NULL, NULL, up);
}

void metrics_format_down(FILE *out)
{
    write_up(out, false);
}

int metrics_format(const char *text, size_t len, FILE *out)
{
    json_t *st = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(st)) {
        json_decref(st);
        metrics_format_down(out);
        return -1;
    }
    write_up(out, true);
    prom_family(out, "vpn_build_info", "gauge", "The running vpn-server's version; always 1.");
    struct prom_label version[] = { { "version", get_str(st, "version") }, { NULL, NULL } };
    prom_sample_u64(out, "vpn_build_info", NULL, version, 1);
    write_server(st, out);
    write_handshakes(st, out);
    write_latency(st, out);
    write_drops(st, out);
    write_workers(st, out);
    write_users(st, out);
    write_qos(st, out);
    json_decref(st);
    return 0;
}
