/* The control thread's handshake decisions under a burst (bench/run-scale.sh): a thousand
 * clients that connect, or rekey, at the same moment. The real control_on_hello hands phase 2
 * (OP_ACCEPT) to the workers' in_ctl rings, here in plain memory with no enclave behind them,
 * so that every request it submits can be counted per worker:
 *   - the accepts of a burst are spread over the workers: "least loaded" must count the
 *     accepts already handed out, not only the sessions made, or a burst that arrives before
 *     the first result all goes to one worker (and, at a rekey of a thousand sessions, can
 *     need more key slots than one worker owns: SESSION_SLOTS / workers);
 *   - every authenticated request is taken, even one per user for every user at once (no
 *     silent drop for want of a pending entry). */
#include <stdlib.h>

#include "testutil.h"

#include "../../core/server/control.h"
#include "../../core/server/server.h"

enum { WORKERS = 4 };

static struct server srv;
static struct control ctl;
static struct server_config cfg;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    memset(&srv, 0, sizeof(srv));
    memset(&cfg, 0, sizeof(cfg));
    srv.udp_fd = -1;                /* responses go nowhere: this test only counts requests */
    srv.enclave.workers = WORKERS;
    for (int w = 0; w < WORKERS; w++) {
        srv.enclave.shm[w] = calloc(1, sizeof(struct worker_shm));
        cr_assert(srv.enclave.shm[w]);
        srv.enclave.doorbell[w] = -1;
        worker_rings_init(&srv.enclave.rings[w], srv.enclave.shm[w]);
    }
    cfg.tun_ip = 0x0a080001;        /* 10.8.0.1/21, pool 10.8.0.10 - 10.8.7.254 */
    cfg.tun_prefix = 21;
    cfg.mtu = 1400;
    cfg.pool_start = 0x0a08000a;
    cfg.pool_end = 0x0a0807fe;
    cfg.max_clients = MAX_CLIENTS_LIMIT;
    cfg.max_devices = USER_DEVICES_DEFAULT;
    cfg.keepalive_s = 25;
    cfg.rekey_interval_s = 600;
    cfg.session_timeout_s = 3600;
    cr_assert_eq(control_init(&ctl, &srv, &cfg, NULL), 0);
    srv.control = &ctl;
}

static void teardown(void)
{
    control_forget_pending(&ctl);
    control_uninit(&ctl);
    for (int w = 0; w < WORKERS; w++)
        free(srv.enclave.shm[w]);
}

TestSuite(control_handshake, .init = setup, .fini = teardown);

/* Phase 1 passed in a worker for user NAME: the result the TX thread hands the control
 * thread (the request itself, its device id (none here), then the user name). */
static void hello(const char *name)
{
    static struct ctl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.meta.op = RES_HELLO;
    ev.meta.worker = 0;
    ev.meta.peer.sin6_family = AF_INET6;
    ev.len = (uint16_t)(HELLO_USER_OFF + strlen(name));
    memcpy(ev.data + HELLO_USER_OFF, name, strlen(name));
    control_on_hello(&ctl, &ev);
}

/* OP_ACCEPT requests handed to worker w so far (in its ring or waiting in the backlog). */
static uint32_t accepts_for(int w)
{
    return ring_available(&srv.enclave.rings[w].in_ctl) + ctl_submit_waiting(&ctl.submit, w);
}

Test(control_handshake, a_burst_is_spread_over_the_workers)
{
    char name[32];
    for (int i = 0; i < 8 * WORKERS; i++) {
        snprintf(name, sizeof(name), "user%04d", i + 1);
        hello(name);
    }
    for (int w = 0; w < WORKERS; w++)
        cr_expect_eq(accepts_for(w), 8, "worker %d was handed %u of %d accepts", w,
                     accepts_for(w), 8 * WORKERS);
}

Test(control_handshake, every_user_at_once_is_taken)
{
    char name[32];
    uint32_t total = 0;
    for (int i = 0; i < MAX_USERS; i++) {
        snprintf(name, sizeof(name), "user%04d", i + 1);
        hello(name);
    }
    for (int w = 0; w < WORKERS; w++)
        total += accepts_for(w);
    cr_expect_eq(total, MAX_USERS, "%u accepts handed out for %d users", total, MAX_USERS);
    for (int w = 0; w < WORKERS; w++)
        cr_expect_eq(accepts_for(w), MAX_USERS / WORKERS, "worker %d: %u", w, accepts_for(w));
}

Test(control_handshake, a_refused_accept_no_longer_counts_as_load)
{
    hello("user0001");
    hello("user0002");
    hello("user0003");
    hello("user0004");
    for (int w = 0; w < WORKERS; w++)
        cr_assert_eq(accepts_for(w), 1);
    /* Worker 2 refuses its request (phase 2 found the key table full, say): the reply comes
     * back with the request's cookie, and worker 2 is the least loaded again. */
    struct pkt_slot *s = ring_consume_slot(&srv.enclave.rings[2].in_ctl, 0);
    static struct ctl_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.meta.op = RES_REPLY;
    ev.meta.cookie = s->meta.cookie;
    ev.meta.aux = STATUS_SERVER_FULL;
    ev.meta.peer.sin6_family = AF_INET6;
    ev.len = CONNECT_FAIL_EXT_LEN;
    control_on_reply(&ctl, &ev);
    hello("user0005");
    cr_expect_eq(accepts_for(2), 2, "the next accept went elsewhere");
}
