/* The control thread's handshake decisions and session life (core/server/control.c,
 * control_handshake.c, control_sessions.c), driven with the events the TX thread would hand
 * it. The enclave link is in plain memory (as in test_ctl_submit.c) with no worker behind it:
 * every request the control thread submits is read back from the workers' in_ctl rings. The
 * session tables are the real RCU tables, and responses go out of a real UDP socket to a
 * socket of the test on ::1, so that what a client would receive is checked too.
 *
 *   hello(user)         phase 1 passed in a worker: the control thread decides (address,
 *                       capacity) and hands OP_ACCEPT to a worker with its status and config
 *   accepted(req, sid)  phase 2 made session sid: the control thread adds it, sends the response
 *   reply(req, status)  phase 2 refused */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "testutil.h"

#include "../../core/server/control.h"
#include "../../core/server/server.h"
#include "vpn/handshake.h"
#include "vpn/log.h"

enum { WORKERS = 2 };

static struct server srv;
static struct control ctl;
static struct server_config cfg;
static int client_fd = -1;              /* where "clients" receive the control's datagrams */
static struct sockaddr_in6 client_addr;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    log_init(LOG_ERROR, NULL);
    rcu_register_thread();
    memset(&srv, 0, sizeof(srv));
    memset(&cfg, 0, sizeof(cfg));
    srv.enclave.workers = WORKERS;
    for (int w = 0; w < WORKERS; w++) {
        srv.enclave.shm[w] = calloc(1, sizeof(struct worker_shm));
        cr_assert(srv.enclave.shm[w]);
        srv.enclave.doorbell[w] = -1;
        worker_rings_init(&srv.enclave.rings[w], srv.enclave.shm[w]);
    }
    cr_assert_eq(sessions_init(&srv.sessions), 0);
    cfg.tun_ip = 0x0a080001;            /* 10.8.0.1/24, pool 10.8.0.10 - 10.8.0.13 */
    cfg.tun_prefix = 24;
    cfg.mtu = 1400;
    cfg.pool_start = 0x0a08000a;
    cfg.pool_end = 0x0a08000d;
    cfg.max_clients = 10;
    cfg.max_devices = 4;
    cfg.keepalive_s = 25;
    cfg.rekey_interval_s = 600;
    cfg.session_timeout_s = 60;
    cfg.replay_window_ms = REPLAY_WINDOW_MS_DEFAULT;
    /* carol has a fixed address (a [user:carol] of the classes file). */
    snprintf(cfg.users[0].name, sizeof(cfg.users[0].name), "carol");
    cfg.users[0].vpn_ip = 0x0a08000c;
    cfg.users[0].class_index = -1;
    cfg.n_users = 1;
    cr_assert_eq(control_init(&ctl, &srv, &cfg, NULL), 0);
    srv.control = &ctl;

    srv.udp_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    client_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    cr_assert(srv.udp_fd >= 0 && client_fd >= 0);
    memset(&client_addr, 0, sizeof(client_addr));
    client_addr.sin6_family = AF_INET6;
    client_addr.sin6_addr = in6addr_loopback;
    cr_assert_eq(bind(client_fd, (struct sockaddr *)&client_addr, sizeof(client_addr)), 0);
    socklen_t len = sizeof(client_addr);
    cr_assert_eq(getsockname(client_fd, (struct sockaddr *)&client_addr, &len), 0);
}

static void teardown(void)
{
    control_on_enclave_lost(&ctl);      /* ends every session: the tables are empty again */
    rcu_thread_offline();
    rcu_barrier();                      /* the sessions freed with call_rcu */
    rcu_thread_online();
    control_uninit(&ctl);
    sessions_uninit(&srv.sessions);
    for (int w = 0; w < WORKERS; w++)
        free(srv.enclave.shm[w]);
    close(srv.udp_fd);
    close(client_fd);
    rcu_unregister_thread();
}

TestSuite(control, .init = setup, .fini = teardown);

/* A request the control thread handed to a worker, taken out of its ring. */
struct submitted {
    int worker;
    struct pkt_meta meta;
    uint8_t data[SLOT_DATA];
};

/* The next request in any worker's in_ctl ring (worker 0 first), or false. */
static bool next_request(struct submitted *out)
{
    ctl_submit_flush(&ctl.submit);
    for (int w = 0; w < WORKERS; w++) {
        struct ring *r = &srv.enclave.rings[w].in_ctl;
        if (!ring_available(r))
            continue;
        struct pkt_slot *s = ring_consume_slot(r, 0);
        out->worker = w;
        out->meta = s->meta;
        memcpy(out->data, s->data, s->meta.len);
        ring_consume_release(r, 1);
        return true;
    }
    return false;
}

static unsigned requests_waiting(void)
{
    unsigned n = 0;
    for (int w = 0; w < WORKERS; w++)
        n += ring_available(&srv.enclave.rings[w].in_ctl);
    return n + ctl_submit_waiting(&ctl.submit, -1);
}

static unsigned ended_before_accept;     /* DISCONNECTs and erasures hello_dev passed over */

/* Phase 1 passed for device `device` (0: the implicit one, else a device id of 16 such bytes)
 * of user in worker `from`; returns the OP_ACCEPT it led to, with its config decoded, or
 * fails the test when none was submitted. */
static struct submitted hello_dev(const char *user, uint8_t device, int from,
                                  struct hs_config *config)
{
    static struct ctl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.meta.op = RES_HELLO;
    ev.meta.worker = (uint16_t)from;
    ev.meta.peer = client_addr;
    memset(ev.data, 0x5a, CONNECT_REQ_LEN);     /* the request itself, passed on unchanged */
    memset(ev.data + CONNECT_REQ_LEN, device, DEVICE_ID_LEN);
    ev.len = (uint16_t)(HELLO_USER_OFF + strlen(user));
    memcpy(ev.data + HELLO_USER_OFF, user, strlen(user));
    control_on_event(&ctl, &ev);
    struct submitted s;
    /* A device that made room for this one was disconnected first (DISCONNECT, erasure). */
    do
        cr_assert(next_request(&s), "no OP_ACCEPT for %s", user);
    while ((s.meta.op == OP_SEAL_CONTROL || s.meta.op == OP_ERASE) && ++ended_before_accept);
    cr_assert_eq(s.meta.op, OP_ACCEPT);
    cr_assert_geq(s.meta.len, CONNECT_REQ_LEN + RESP_CONFIG_BASE);
    cr_assert_eq(s.data[0], 0x5a, "the request goes to phase 2 as it came");
    cr_assert(hs_config_decode(s.data + CONNECT_REQ_LEN, s.meta.len - CONNECT_REQ_LEN, config));
    cr_assert_eq(config->replay_window_ms, 0, "the control thread never pushes a window");
    return s;
}

static struct submitted hello_from(const char *user, int from, struct hs_config *config)
{
    return hello_dev(user, 0, from, config);
}

static struct submitted hello(const char *user, struct hs_config *config)
{
    return hello_from(user, 1, config);
}

/* What a client received from the control thread (a response), or 0 bytes. */
static ssize_t received(uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 50; i++) {
        ssize_t n = recv(client_fd, buf, cap, MSG_DONTWAIT);
        if (n >= 0 || i == 49)
            return n < 0 ? 0 : n;
        usleep(1000);
    }
    return 0;
}

/* Phase 2 made session sid for the request `req` (a worker's RES_ACCEPTED); the response
 * bytes are "RESP" and the session id. */
static void accepted(const struct submitted *req, uint32_t sid)
{
    static struct ctl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.meta.op = RES_ACCEPTED;
    ev.meta.worker = (uint16_t)req->worker;
    ev.meta.session_id = sid;
    ev.meta.cookie = req->meta.cookie;
    ev.meta.peer = req->meta.peer;
    ev.len = 8;
    memcpy(ev.data, "RESP", 4);
    memcpy(ev.data + 4, &sid, 4);
    control_on_event(&ctl, &ev);
}

static void reply(const struct submitted *req, uint16_t status)
{
    static struct ctl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.meta.op = RES_REPLY;
    ev.meta.worker = (uint16_t)req->worker;
    ev.meta.cookie = req->meta.cookie;
    ev.meta.aux = status;
    ev.meta.peer = req->meta.peer;
    ev.len = 4;
    memcpy(ev.data, "FAIL", 4);
    control_on_event(&ctl, &ev);
}

/* The response a client got for session sid, checked. */
static void expect_response(uint32_t sid)
{
    uint8_t buf[64];
    ssize_t n = received(buf, sizeof(buf));
    cr_expect_eq(n, 8, "one response of 8 bytes, got %zd", n);
    uint32_t got;
    memcpy(&got, buf + 4, 4);
    cr_expect(memcmp(buf, "RESP", 4) == 0 && got == sid, "the response of session %08x", sid);
}

/* A refusal (reply) forwarded to the client. */
static void expect_refusal(void)
{
    uint8_t buf[64];
    ssize_t n = received(buf, sizeof(buf));
    cr_expect(n == 4 && memcmp(buf, "FAIL", 4) == 0, "the refusal is forwarded (%zd bytes)", n);
}

static void expect_nothing_received(const char *why)
{
    uint8_t buf[64];
    cr_expect_eq(received(buf, sizeof(buf)), 0, "%s", why);
}

static struct session *by_id(uint32_t id)
{
    rcu_read_lock();
    struct session *s = sessions_find_id(&srv.sessions, id);
    rcu_read_unlock();
    return s;
}

static struct session *by_ip(uint32_t ip)
{
    rcu_read_lock();
    struct session *s = sessions_find_ip(&srv.sessions, ip);
    rcu_read_unlock();
    return s;
}

/* A device of a user connected through both phases: returns its session. */
static struct session *connect_device(const char *user, uint8_t device, uint32_t sid)
{
    struct hs_config c;
    struct submitted req = hello_dev(user, device, 1, &c);
    cr_assert_eq(req.meta.aux, STATUS_OK, "%s: status %u", user, req.meta.aux);
    accepted(&req, sid);
    expect_response(sid);
    struct session *s = control_find(&ctl, sid);
    cr_assert(s, "%s: session %08x made", user, sid);
    cr_assert_eq(s->vpn_ip, c.client_ip);
    return s;
}

static struct session *connect_user(const char *user, uint32_t sid)
{
    return connect_device(user, 0, sid);
}

static unsigned pending_used(void)
{
    unsigned n = 0;
    for (int i = 0; i < PENDING_MAX; i++)
        n += ctl.pendings[i].used;
    return n;
}

Test(control, a_handshake_makes_a_session_in_both_tables)
{
    struct hs_config c;
    struct submitted req = hello_from("alice", 1, &c);
    cr_expect_eq(req.meta.aux, STATUS_OK);
    cr_expect_eq(c.client_ip, 0x0a08000a, "the pool's first address");
    cr_expect_eq(c.server_ip, cfg.tun_ip);
    cr_expect_eq(c.prefix_len, 24);
    cr_expect_eq(c.mtu, 1400);
    cr_expect_eq(c.keepalive_s, 25);
    cr_expect_eq(c.rekey_s, 600);
    cr_expect_eq(c.idle_timeout_s, 60);
    cr_expect_eq(pending_used(), 1);
    cr_expect_eq(pool_in_use(&ctl.pool), 1, "reserved while pending");
    expect_nothing_received("no answer before phase 2");

    accepted(&req, 0x1001);
    expect_response(0x1001);
    struct session *s = control_find(&ctl, 0x1001);
    cr_assert(s);
    cr_expect_str_eq(s->username, "alice");
    cr_expect_eq(s->vpn_ip, 0x0a08000a);
    cr_expect_eq(s->worker, 1, "the worker that owns slot 1");
    cr_expect_eq(by_id(0x1001), s);
    cr_expect_eq(by_ip(0x0a08000a), s);
    cr_expect_eq(ctl.live_sessions, 1);
    cr_expect_eq(ctl.worker_sessions[1], 1);
    cr_expect_eq(ctl.handshakes_ok, 1);
    cr_expect_eq(pending_used(), 0);
    cr_expect_eq(requests_waiting(), 0);
}

Test(control, phase_2_goes_to_the_least_loaded_worker)
{
    connect_user("alice", 0x1001);      /* worker 1 */
    struct hs_config c;
    struct submitted req = hello_from("bob", 1, &c);
    cr_expect_eq(req.worker, 0, "worker 1 has a session, worker 0 none");
}

Test(control, addresses_new_users_fixed_ones_and_the_last_one)
{
    struct session *a = connect_user("alice", 0x1001);
    struct session *b = connect_user("bob", 0x1002);
    struct session *c = connect_user("carol", 0x1003);
    cr_expect_eq(a->vpn_ip, 0x0a08000a);
    cr_expect_eq(b->vpn_ip, 0x0a08000b);
    cr_expect_eq(c->vpn_ip, 0x0a08000c, "carol's fixed address");
    struct session *d = connect_user("dave", 0x1004);
    cr_expect_eq(d->vpn_ip, 0x0a08000d, "carol's address is never anyone else's");
    /* bob leaves; erin gets no address of another user while a fresh one ... */
    control_end_session(&ctl, b, true, "test");
    struct submitted erase;
    cr_assert(next_request(&erase));
    cr_expect(erase.meta.op == OP_ERASE && erase.meta.session_id == 0x1002);
    struct hs_config cf;
    struct submitted req = hello("erin", &cf);
    cr_expect_eq(req.meta.aux, STATUS_OK);
    cr_expect_eq(cf.client_ip, 0x0a08000b, "the only free one");
    reply(&req, STATUS_AUTH_FAILED);
    expect_refusal();
    /* ... and bob, coming back, gets the address he had. */
    req = hello("bob", &cf);
    cr_expect_eq(cf.client_ip, 0x0a08000b);
}

Test(control, one_pending_handshake_per_user)
{
    struct hs_config c1, c2;
    struct submitted first = hello("alice", &c1);
    struct submitted second = hello("alice", &c2);
    cr_expect_eq(pending_used(), 1, "the newer request replaced the older");
    cr_expect_eq(pool_in_use(&ctl.pool), 1, "the older one's address was given back");
    cr_expect_eq(c2.client_ip, c1.client_ip);
    cr_expect_neq(first.meta.cookie, second.meta.cookie);

    /* The older one's phase 2 finishes late: its keys are erased, nothing is sent. */
    accepted(&first, 0x2001);
    cr_expect_null(control_find(&ctl, 0x2001));
    cr_expect_null(by_id(0x2001));
    expect_nothing_received("no response for a request we gave up on");
    struct submitted erase;
    cr_assert(next_request(&erase));
    cr_expect_eq(erase.meta.op, OP_ERASE);
    cr_expect_eq(erase.meta.session_id, 0x2001);
    cr_expect_eq(erase.worker, enclave_worker_of(&srv.enclave, 0x2001));

    accepted(&second, 0x2003);
    expect_response(0x2003);
    cr_expect(control_find(&ctl, 0x2003));
    cr_expect_eq(ctl.live_sessions, 1);
}

Test(control, the_pending_table_full_drops_the_request)
{
    char name[32];
    struct hs_config c;
    /* The pool runs out after three: the rest are POOL_EXHAUSTED, pending all the same. */
    for (int i = 0; i < PENDING_MAX; i++) {
        snprintf(name, sizeof(name), "user%03d", i);
        hello(name, &c);
    }
    cr_expect_eq(pending_used(), PENDING_MAX);
    static struct ctl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.meta.op = RES_HELLO;
    ev.meta.peer = client_addr;
    ev.len = HELLO_USER_OFF + 5;
    memcpy(ev.data + HELLO_USER_OFF, "extra", 5);
    control_on_event(&ctl, &ev);
    struct submitted s;
    cr_expect_not(next_request(&s), "a burst: dropped, the client retries");
    /* ... and the entries expire. */
    control_expire_pending(&ctl, clock_monotonic_ms() + PENDING_TIMEOUT_MS + 1);
    cr_expect_eq(pending_used(), 0);
    cr_expect_eq(pool_in_use(&ctl.pool), 0);
}

Test(control, server_full_and_pool_exhausted)
{
    cfg.max_clients = 2;
    connect_user("alice", 0x1001);
    connect_user("bob", 0x1002);
    struct hs_config c;
    struct submitted req = hello_from("dave", 1, &c);
    cr_expect_eq(req.meta.aux, STATUS_SERVER_FULL);
    cr_expect_eq(req.worker, 1, "a refusal is built by the worker that did phase 1");
    cr_expect_eq(c.client_ip, 0);
    reply(&req, STATUS_SERVER_FULL);
    expect_refusal();
    cr_expect_eq(ctl.handshakes_refused, 1);
    cr_expect_eq(pending_used(), 0);
    /* A rekey of a connected user is no new client: it goes through at the limit. */
    req = hello("alice", &c);
    cr_expect_eq(req.meta.aux, STATUS_OK);
    cr_expect_eq(c.client_ip, 0x0a08000a);
    reply(&req, STATUS_STALE_TIMESTAMP);
    expect_refusal();

    cfg.max_clients = 10;               /* now the pool: .10 .11 taken, .12 carol's, .13 */
    connect_user("dave", 0x1003);
    req = hello("erin", &c);
    cr_expect_eq(req.meta.aux, STATUS_POOL_EXHAUSTED);
    reply(&req, STATUS_POOL_EXHAUSTED);
    expect_refusal();
    req = hello("carol", &c);
    cr_expect_eq(req.meta.aux, STATUS_OK, "a fixed address is always there for its user");
    cr_expect_eq(c.client_ip, 0x0a08000c);
}

Test(control, a_refusal_gives_the_reservation_back)
{
    struct hs_config c;
    struct submitted req = hello("alice", &c);
    cr_expect_eq(pool_in_use(&ctl.pool), 1);
    reply(&req, STATUS_AUTH_FAILED);
    cr_expect_eq(pool_in_use(&ctl.pool), 0);
    cr_expect_eq(pending_used(), 0);
    cr_expect_eq(srv.auth_pressure_until_ms, 0);
    /* A late result for it changes nothing but erasing its keys. */
    accepted(&req, 0x3001);
    cr_expect_null(control_find(&ctl, 0x3001));
    cr_expect_eq(pool_in_use(&ctl.pool), 0);
    /* RATE_LIMITED: the RX thread asks for cookies for a while. */
    req = hello("alice", &c);
    reply(&req, STATUS_RATE_LIMITED);
    cr_expect_gt(srv.auth_pressure_until_ms, clock_monotonic_ms());
}

Test(control, rekey_overlap_then_the_old_session_ends)
{
    struct session *old = connect_user("alice", 0x1001);
    uint32_t ip = old->vpn_ip;
    struct hs_config c;
    struct submitted req = hello("alice", &c);
    cr_expect_eq(c.client_ip, ip, "same address");
    cr_expect_eq(pool_in_use(&ctl.pool), 1, "not taken twice");
    uint64_t before = clock_monotonic_ms();
    accepted(&req, 0x1002);
    expect_response(0x1002);
    struct session *s = control_find(&ctl, 0x1002);
    cr_assert(s);
    cr_expect_geq(old->retire_at_ms, before + REKEY_OVERLAP_MS);
    cr_expect_eq(s->retire_at_ms, 0);
    cr_expect_eq(by_ip(ip), s, "sending on the new session at once");
    cr_expect_eq(by_id(0x1001), old, "receiving on the old one still");
    cr_expect_eq(ctl.live_sessions, 1);
    static const uint8_t implicit[DEVICE_ID_LEN];
    cr_expect_eq(control_current_of(&ctl, "alice", implicit), s);

    control_sweep(&ctl, old->retire_at_ms - 1);
    cr_expect(control_find(&ctl, 0x1001), "the overlap is not over");
    control_sweep(&ctl, old->retire_at_ms);
    cr_expect_null(control_find(&ctl, 0x1001));
    cr_expect_null(by_id(0x1001));
    cr_expect_eq(by_ip(ip), s);
    cr_expect_eq(pool_in_use(&ctl.pool), 1, "the address stays with the user");
    struct submitted erase;
    cr_assert(next_request(&erase));
    cr_expect_eq(erase.meta.op, OP_ERASE);
    cr_expect_eq(erase.meta.session_id, 0x1001);
    cr_expect_eq(ctl.live_sessions, 1);
}

/* The data threads stamp last_rx_ms with their own clock reads, so a sweep may see a time a
 * millisecond after its own "now" (the TX thread read the clock after the control thread
 * did). That is a session in use, not one idle for 2^64 ms: the bench saw a busy upload end
 * with "idle timeout" 20 s into a 3600 s timeout. */
Test(control, a_last_rx_after_the_sweeps_now_is_not_idle)
{
    struct session *a = connect_user("alice", 0x1001);
    uint64_t now = clock_monotonic_ms();
    a->last_rx_ms = now + 1;
    control_sweep(&ctl, now);
    cr_expect(control_find(&ctl, 0x1001), "an active session ended as idle");
    cr_expect_eq(ctl.live_sessions, 1);
}

Test(control, idle_sessions_end_and_give_their_address_back)
{
    struct session *a = connect_user("alice", 0x1001);
    struct session *b = connect_user("bob", 0x1002);
    uint64_t now = clock_monotonic_ms();
    a->last_rx_ms = now - 60001;        /* idle longer than session_timeout */
    b->last_rx_ms = now;
    control_sweep(&ctl, now);
    cr_expect_null(control_find(&ctl, 0x1001));
    cr_expect_null(by_id(0x1001));
    cr_expect_null(by_ip(0x0a08000a));
    cr_expect(control_find(&ctl, 0x1002));
    cr_expect_eq(ctl.live_sessions, 1);
    cr_expect_eq(pool_in_use(&ctl.pool), 1);
    struct submitted erase;
    cr_assert(next_request(&erase));
    cr_expect_eq(erase.meta.op, OP_ERASE);
    cr_expect_eq(erase.meta.session_id, 0x1001);
}

Test(control, a_client_disconnect_ends_its_session_only)
{
    connect_user("alice", 0x1001);
    connect_user("bob", 0x1002);
    static struct ctl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.meta.op = RES_DISCONNECT;
    ev.meta.session_id = 0x1001;
    control_on_event(&ctl, &ev);
    cr_expect_null(control_find(&ctl, 0x1001));
    cr_expect_null(by_ip(0x0a08000a));
    cr_expect(control_find(&ctl, 0x1002));
    cr_expect_eq(ctl.live_sessions, 1);
    cr_expect_eq(ctl.worker_sessions[1], 0);
    cr_expect_eq(requests_waiting(), 0, "the worker erased the key itself");
}

Test(control, a_removed_user_is_disconnected)
{
    connect_user("alice", 0x1001);
    connect_user("bob", 0x1002);
    control_on_user_ended(&ctl, "alice", "user removed");
    cr_expect_null(control_find(&ctl, 0x1001));
    cr_expect(control_find(&ctl, 0x1002));
    struct submitted r;
    cr_assert(next_request(&r));
    cr_expect_eq(r.meta.op, OP_SEAL_CONTROL);
    cr_expect_eq(r.meta.aux, MSG_DISCONNECT);
    cr_expect_eq(r.meta.session_id, 0x1001);
    cr_expect_eq(memcmp(&r.meta.peer.sin6_addr, &client_addr.sin6_addr, 16), 0,
                 "to the client's endpoint");
    cr_assert(next_request(&r));
    cr_expect_eq(r.meta.op, OP_ERASE);
    cr_expect_eq(r.meta.session_id, 0x1001);
    cr_expect_not(next_request(&r));
}

Test(control, the_enclave_lost_ends_everything)
{
    connect_user("alice", 0x1001);
    connect_user("bob", 0x1002);
    struct hs_config c;
    struct submitted req = hello("carol", &c);
    /* Requests still waiting for room in a ring die with the enclave too. */
    for (int i = 0; i < 300; i++)
        ctl_submit(&ctl.submit, 0, OP_ERASE, 0x9000 + (uint32_t)i, 0, NULL, 0, NULL, 0);
    cr_assert_gt(ctl_submit_waiting(&ctl.submit, 0), 0);

    control_on_enclave_lost(&ctl);
    cr_expect_eq(ctl.n_all, 0);
    cr_expect_eq(ctl.live_sessions, 0);
    cr_expect_null(by_id(0x1001));
    cr_expect_null(by_id(0x1002));
    cr_expect_null(by_ip(0x0a08000a));
    cr_expect_eq(pending_used(), 0);
    cr_expect_eq(pool_in_use(&ctl.pool), 0, "every address back, the pending one too");
    cr_expect_eq(ctl_submit_waiting(&ctl.submit, -1), 0);
    for (int w = 0; w < WORKERS; w++)
        cr_expect_eq(ctl.worker_sessions[w], 0);
    /* carol's phase 2 finishing now (a worker of the dead enclave) makes nothing. */
    accepted(&req, 0x1003);
    cr_expect_null(control_find(&ctl, 0x1003));
    expect_nothing_received("no response after the enclave died");
}

/* Extension 5: two devices of one user are two sessions with two addresses; each one's
 * rekey replaces its own session only; the implicit device is a device like the others. */
Test(control, two_devices_of_one_user_have_a_session_each)
{
    struct session *a = connect_device("alice", 0xa1, 0x1001);
    struct session *b = connect_device("alice", 0xb2, 0x1002);
    cr_expect_neq(a->vpn_ip, b->vpn_ip, "an address each");
    cr_expect_eq(ctl.live_sessions, 2);
    cr_expect_eq(control_devices_online(&ctl, "alice"), 2);
    cr_expect_eq(by_ip(a->vpn_ip), a);
    cr_expect_eq(by_ip(b->vpn_ip), b);

    /* Device a rekeys: same address, its own old session retires, b's stays current. */
    struct hs_config c;
    struct submitted req = hello_dev("alice", 0xa1, 1, &c);
    cr_expect_eq(c.client_ip, a->vpn_ip);
    accepted(&req, 0x1003);
    expect_response(0x1003);
    cr_expect_gt(a->retire_at_ms, 0);
    cr_expect_eq(b->retire_at_ms, 0, "the other device's session is not replaced");
    cr_expect_eq(ctl.live_sessions, 2);

    /* A third device, and the old client without an id (the implicit device). */
    struct session *i = connect_device("alice", 0, 0x1004);
    cr_expect_neq(i->vpn_ip, a->vpn_ip);
    cr_expect_neq(i->vpn_ip, b->vpn_ip);
    cr_expect_eq(control_devices_online(&ctl, "alice"), 3);

    /* Both devices' handshakes can be in flight at once. */
    hello_dev("alice", 0xa1, 1, &c);
    hello_dev("alice", 0xb2, 1, &c);
    cr_expect_eq(pending_used(), 2);
}

/* A device whose last packet the TX thread stamped a moment after the control thread read
 * its clock is in use: it does not give up its place to a newcomer (it did, as silent for
 * 2^64 ms). */
Test(control, max_devices_keeps_a_device_stamped_after_now)
{
    cfg.max_devices = 2;
    struct session *a = connect_device("carol", 0xa1, 0x1001);
    struct session *b = connect_device("carol", 0xb2, 0x1002);
    a->last_rx_ms = b->last_rx_ms = clock_monotonic_ms() + 5;
    struct hs_config c;
    struct submitted req = hello_dev("carol", 0xc3, 1, &c);
    cr_expect_eq(req.meta.aux, STATUS_SERVER_FULL);
    cr_expect(control_find(&ctl, 0x1001) && control_find(&ctl, 0x1002), "both devices stay");
    reply(&req, STATUS_SERVER_FULL);
    expect_refusal();
}

/* max_devices: a device beyond it is refused (SERVER_FULL) unless one of the user's devices
 * has gone silent for three keepalives, which then makes room; the fixed address goes to
 * the first device and the others get dynamic ones. */
Test(control, max_devices_refuses_unless_a_device_is_gone)
{
    cfg.max_devices = 2;
    struct session *a = connect_device("carol", 0xa1, 0x1001);
    cr_expect_eq(a->vpn_ip, 0x0a08000c, "carol's fixed address to her first device");
    struct session *b = connect_device("carol", 0xb2, 0x1002);
    cr_expect_neq(b->vpn_ip, 0x0a08000c);
    struct hs_config c;
    struct submitted req = hello_dev("carol", 0xc3, 1, &c);
    cr_expect_eq(req.meta.aux, STATUS_SERVER_FULL);
    reply(&req, STATUS_SERVER_FULL);
    expect_refusal();
    /* Another user is not concerned. */
    connect_user("bob", 0x1003);

    /* Device a goes quiet for longer than three keepalives: the newcomer takes its place. */
    a->last_rx_ms = clock_monotonic_ms() - 3 * 25 * 1000 - 1;
    ended_before_accept = 0;
    req = hello_dev("carol", 0xc3, 1, &c);
    cr_expect_eq(req.meta.aux, STATUS_OK);
    cr_expect_null(control_find(&ctl, 0x1001), "the silent device's session ended");
    struct submitted r;
    while (next_request(&r))
        ended_before_accept += (r.meta.op == OP_SEAL_CONTROL || r.meta.op == OP_ERASE) &&
                               r.meta.session_id == 0x1001;
    cr_expect_eq(ended_before_accept, 2, "with a DISCONNECT and its keys' erasure");
    cr_expect_eq(c.client_ip, 0x0a08000c, "its fixed address is free again");
    accepted(&req, 0x1004);
    expect_response(0x1004);
    cr_expect_eq(control_devices_online(&ctl, "carol"), 2);
    /* The class or the user may allow more (server_config_max_devices). */
    cfg.max_devices = 3;
    req = hello_dev("carol", 0xd4, 1, &c);
    cr_expect_eq(req.meta.aux, STATUS_OK);
}
