/* Per-user totals (core/server/user_totals.c) and the handshake latency histogram
 * (handshake_latency.c), as the status reports them: a user's byte and packet totals are its
 * ended sessions' plus its live ones', so they never go down when a session ends (a rekey, an
 * idle timeout, a reconnect); sessions and devices count only what is live; the histogram is
 * cumulative in its JSON. The control is plain memory with the sessions the test makes. */
#include <jansson.h>
#include <stdlib.h>

#include "testutil.h"

#include "../../core/server/control.h"
#include "../../core/server/handshake_latency.h"
#include "../../core/server/sessions.h"
#include "../../core/server/user_totals.h"

static struct control ctl;
static struct server_config cfg;
static struct user_totals totals;

static struct session *session(const char *user, uint16_t port, uint64_t rx, uint64_t tx)
{
    struct session *s = calloc(1, sizeof(*s));
    cr_assert(s);
    snprintf(s->username, sizeof(s->username), "%s", user);
    s->vpn_ip = 0x0a08000a;
    s->endpoint.sin6_family = AF_INET6;
    s->endpoint.sin6_port = htons(port);
    s->rx_bytes = rx;
    s->rx_packets = rx / 100;
    s->tx_bytes = tx;
    s->tx_packets = tx / 100;
    return s;
}

static void setup(void)
{
    memset(&ctl, 0, sizeof(ctl));
    memset(&cfg, 0, sizeof(cfg));
    memset(&totals, 0, sizeof(totals));
    ctl.cfg = &cfg;
    ctl.all = calloc(8, sizeof(*ctl.all));
    ctl.cap_all = 8;
}

/* The status's "users" array, parsed; the user's entry in *u (or NULL). */
static json_t *status_users(const char *user, json_t **u)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    fputc('{', f);
    user_totals_write_json(&totals, &ctl, f);
    fputc('}', f);
    cr_assert_eq(fclose(f), 0);
    json_error_t e;
    json_t *j = json_loads(buf, 0, &e);
    cr_assert(j, "not JSON (%s): %s", e.text, buf);
    free(buf);
    *u = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(j, "users"), i, x)
        if (strcmp(json_string_value(json_object_get(x, "user")), user) == 0)
            *u = x;
    return j;
}

static long long field(json_t *u, const char *key)
{
    cr_assert(u);
    json_t *v = json_object_get(u, key);
    cr_assert(json_is_integer(v), "%s missing", key);
    return json_integer_value(v);
}

TestSuite(user_totals, .init = setup);

Test(user_totals, totals_grow_across_a_rekey_and_an_end)
{
    struct session *a = session("alice", 1000, 5000, 7000);
    user_totals_session_made(&totals, a, "vip");
    ctl.all[ctl.n_all++] = a;
    json_t *u, *j = status_users("alice", &u);
    cr_expect_eq(field(u, "rx_bytes"), 5000);
    cr_expect_eq(field(u, "tx_bytes"), 7000);
    cr_expect_eq(field(u, "sessions"), 1);
    cr_expect_eq(field(u, "devices"), 1);
    cr_expect_eq(field(u, "handshakes"), 1);
    cr_expect_str_eq(json_string_value(json_object_get(u, "class")), "default",
                     "an online user's class is the configuration's for its address");
    json_decref(j);

    /* A rekey: the new session is current, the old one retires, then ends. */
    struct session *b = session("alice", 1000, 300, 400);
    user_totals_session_made(&totals, b, "vip");
    a->retire_at_ms = 1;
    ctl.all[ctl.n_all++] = b;
    j = status_users("alice", &u);
    cr_expect_eq(field(u, "rx_bytes"), 5300);
    cr_expect_eq(field(u, "sessions"), 1, "a retiring session is not a current one");
    cr_expect_eq(field(u, "devices"), 1, "the same endpoint is one device");
    cr_expect_eq(field(u, "handshakes"), 2);
    json_decref(j);

    user_totals_session_ended(&totals, a);
    ctl.all[0] = ctl.all[--ctl.n_all];
    free(a);
    j = status_users("alice", &u);
    cr_expect_eq(field(u, "rx_bytes"), 5300, "the ended session's bytes were lost");
    cr_expect_eq(field(u, "tx_bytes"), 7400);
    cr_expect_eq(field(u, "rx_packets"), 53);
    json_decref(j);

    /* The last session ends: the user stays, offline, with its class and totals. */
    user_totals_session_ended(&totals, b);
    ctl.n_all = 0;
    free(b);
    j = status_users("alice", &u);
    cr_expect_eq(field(u, "rx_bytes"), 5300);
    cr_expect_eq(field(u, "tx_bytes"), 7400);
    cr_expect_eq(field(u, "sessions"), 0);
    cr_expect_eq(field(u, "devices"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(u, "class")), "vip");
    json_decref(j);
}

Test(user_totals, devices_are_distinct_endpoints)
{
    struct session *a = session("bob", 1000, 1, 1), *b = session("bob", 2000, 1, 1);
    user_totals_session_made(&totals, a, "default");
    user_totals_session_made(&totals, b, "default");
    a->retire_at_ms = 1;    /* replaced by a second device's handshake */
    ctl.all[ctl.n_all++] = a;
    ctl.all[ctl.n_all++] = b;
    json_t *u, *j = status_users("bob", &u);
    cr_expect_eq(field(u, "devices"), 2);
    cr_expect_eq(field(u, "sessions"), 1);
    json_decref(j);
    free(a);
    free(b);
}

Test(user_totals, many_users_each_kept_apart)
{
    char name[32];
    for (int i = 0; i < MAX_USERS; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        struct session *s = session(name, 1, (uint64_t)i, 0);
        user_totals_session_made(&totals, s, "default");
        user_totals_session_ended(&totals, s);
        free(s);
    }
    cr_expect_eq(totals.used, MAX_USERS);
    json_t *u, *j = status_users("user777", &u);
    cr_expect_eq(field(u, "rx_bytes"), 777);
    cr_expect_eq(json_array_size(json_object_get(j, "users")), MAX_USERS);
    json_decref(j);
}

Test(handshake_latency, buckets_cumulative_in_json)
{
    struct handshake_latency h;
    memset(&h, 0, sizeof(h));
    handshake_latency_observe(&h, 100);       /* <= 250 */
    handshake_latency_observe(&h, 250);       /* <= 250: the bound is inclusive */
    handshake_latency_observe(&h, 251);       /* <= 500 */
    handshake_latency_observe(&h, 9000000);   /* above every bound */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fputc('{', f);
    handshake_latency_write_json(&h, f);
    fputc('}', f);
    fclose(f);
    json_t *j = json_loads(buf, 0, NULL);
    cr_assert(j, "%s", buf);
    json_t *l = json_object_get(j, "handshake_latency");
    json_t *le = json_object_get(l, "le_us"), *cum = json_object_get(l, "cumulative");
    cr_assert_eq(json_array_size(le), HANDSHAKE_LATENCY_BUCKETS);
    cr_assert_eq(json_array_size(cum), HANDSHAKE_LATENCY_BUCKETS);
    cr_expect_eq(json_integer_value(json_array_get(le, 0)), 250);
    cr_expect_eq(json_integer_value(json_array_get(cum, 0)), 2);
    cr_expect_eq(json_integer_value(json_array_get(cum, 1)), 3);
    cr_expect_eq(json_integer_value(json_array_get(cum, HANDSHAKE_LATENCY_BUCKETS - 1)), 3);
    cr_expect_eq(json_integer_value(json_object_get(l, "count")), 4);
    cr_expect_eq(json_integer_value(json_object_get(l, "sum_us")), 100 + 250 + 251 + 9000000);
    json_decref(j);
    free(buf);
}
