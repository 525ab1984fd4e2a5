/* An amd64 main process and client against an ARM enclave worker: the worker of the arm64 and
 * of the armhf (32-bit) build runs under qemu-user (tests/tools/worker-host.c) on a memfd this
 * test maps too, and the test drives it as vpn-server does, through the real rings and
 * doorbell (enclave_link.h), with the client half built for amd64: a handshake with fresh
 * random keys, then transport messages both ways. Every byte crosses the architectures twice:
 * through the shared memory (ring indexes, slot metadata, 64-bit counters written by a 32-bit
 * process) and through the protocol (CONNECT_REQ and DATA sealed on amd64 and opened on ARM,
 * CONNECT_RESP and DATA sealed on ARM and opened on amd64).
 *
 * Needs `make ARCH=arm64 unit` and `make ARCH=armhf unit` (make check builds both) and qemu-user;
 * a build that is missing is skipped with a message. Only the amd64 build runs this: the ARM
 * builds of this file skip it (it would be qemu starting qemu). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "testutil.h"

#include "../../client/handshake_client.h"
#include "../../core/server/enclave_link.h"
#include "vpn/enclave_proto.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

#include "vectors.inc"

enum { WAIT_MS = 30000 };   /* a hang guard only: an emulated handshake takes milliseconds */

struct cross {
    struct enclave_link e;      /* workers = 1: the fields enclave_link.h's inline helpers use */
    struct worker_shm *m;
    size_t region;
    pid_t pid;
    uint8_t s_pub[KEY_LEN], token[TOKEN_LEN];
};

/* Starts BUILD/tests/tools/worker-host under QEMU on a fresh memfd and doorbell. */
static void start(struct cross *x, const char *build, const char *qemu, const char *cpu)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/tests/tools/worker-host", build);
    if (access(path, X_OK) != 0)
        cr_skip_test("%s missing: make ARCH=%s unit", path, build + strlen("build-"));
    memset(x, 0, sizeof(*x));
    x->region = worker_region_size((size_t)sysconf(_SC_PAGESIZE));
    int shm = memfd_create("cross-worker", MFD_CLOEXEC);
    cr_assert_geq(shm, 0);
    cr_assert_eq(ftruncate(shm, (off_t)x->region), 0);
    x->m = mmap(NULL, x->region, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
    cr_assert_neq(x->m, MAP_FAILED);
    int bell[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, bell), 0);

    uint8_t s_priv[KEY_LEN];
    unhex(s_priv, sizeof(s_priv), V_SERVER_STATIC_PRIVATE);
    crypto_scalarmult_base(x->s_pub, s_priv);
    unhex(x->token, sizeof(x->token), V_AUTH_TOKEN_HEX);

    x->pid = fork();
    cr_assert_geq(x->pid, 0);
    if (x->pid == 0) {
        /* fd 3: the memfd, fd 4: the worker's end of the doorbell (worker-host.c). */
        if (dup2(shm, 3) < 0 || dup2(bell[1], 4) < 0)
            _exit(126);
        setenv("QEMU_CPU", cpu, 1);
        execlp(qemu, qemu, path, V_SERVER_STATIC_PRIVATE, V_USERNAME, V_AUTH_TOKEN_HEX,
               (char *)NULL);
        _exit(127);
    }
    sodium_memzero(s_priv, sizeof(s_priv));
    close(shm);
    close(bell[1]);
    fcntl(bell[0], F_SETFL, O_NONBLOCK);
    x->e.workers = 1;
    x->e.shm[0] = x->m;
    x->e.doorbell[0] = bell[0];
    worker_rings_init(&x->e.rings[0], x->m);
}

/* Closes the doorbell, which ends the worker's loop, and checks that it exited cleanly. */
static void stop(struct cross *x)
{
    close(x->e.doorbell[0]);
    int st;
    cr_assert_eq(waitpid(x->pid, &st, 0), x->pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker-host ended with status %#x", st);
    munmap(x->m, x->region);
}

/* Producer side of ring r: one request, published, the worker woken as vpn-server does. */
static struct pkt_slot *request_slot(struct cross *x, struct ring *r)
{
    cr_assert_gt(ring_free(r), 0);
    struct pkt_slot *s = ring_produce_slot(r, 0);
    memset(&s->meta, 0, sizeof(s->meta));
    s->meta.peer.sin6_family = AF_INET6;
    s->meta.peer.sin6_port = htons(51820);
    return s;
}

static void submit(struct cross *x, struct ring *r)
{
    ring_produce_publish(r, 1);
    enclave_wake_worker(&x->e, 0);
}

/* Consumer side: waits for the next result on r (the worker rings our doorbell only when we
 * announce that we sleep, as the TX thread does; polling the ring is enough here). */
static struct pkt_slot *await_result(struct cross *x, struct ring *r)
{
    for (int waited = 0; ring_available(r) == 0; waited += 2) {
        cr_assert_lt(waited, WAIT_MS, "no result from the worker (pid %d)", (int)x->pid);
        poll(NULL, 0, 2);
    }
    return ring_consume_slot(r, 0);
}

static void handshake(struct cross *x, struct session_keys *keys, uint32_t *sid)
{
    struct worker_rings *wr = &x->e.rings[0];
    struct hs_client st;
    uint8_t e_priv[KEY_LEN], req[CONNECT_REQ_LEN];
    randombytes_buf(e_priv, sizeof(e_priv));
    cr_assert(hs_client_request_flags(&st, e_priv, x->s_pub, V_USERNAME, x->token,
                                      clock_realtime_ms(), REQ_FLAG_WINDOW, req));

    struct pkt_slot *s = request_slot(x, &wr->in_hs);
    s->meta.op = OP_HELLO;
    s->meta.len = CONNECT_REQ_LEN;
    memcpy(s->data, req, CONNECT_REQ_LEN);
    submit(x, &wr->in_hs);
    struct pkt_slot *hello = await_result(x, &wr->out_dec);
    cr_assert_eq(hello->meta.op, RES_HELLO, "op %u", hello->meta.op);
    cr_assert_eq(hello->meta.len, HELLO_USER_OFF + strlen(V_USERNAME));
    cr_assert_eq(memcmp(hello->data + HELLO_USER_OFF, V_USERNAME, strlen(V_USERNAME)), 0);
    ring_consume_release(&wr->out_dec, 1);

    struct hs_config cfg = { .prefix_len = 24, .mtu = 1400, .client_ip = 0x0a08000a,
                             .server_ip = 0x0a080001, .keepalive_s = 25, .route_count = 1,
                             .routes[0] = { 0xc0a86400, 24 } };
    s = request_slot(x, &wr->in_ctl);
    s->meta.op = OP_ACCEPT;
    s->meta.aux = STATUS_OK;
    memcpy(s->data, req, CONNECT_REQ_LEN);
    s->meta.len = (uint16_t)(CONNECT_REQ_LEN + hs_config_encode(s->data + CONNECT_REQ_LEN, &cfg));
    submit(x, &wr->in_ctl);
    struct pkt_slot *acc = await_result(x, &wr->out_dec);
    cr_assert_eq(acc->meta.op, RES_ACCEPTED, "op %u", acc->meta.op);
    struct hs_config got;
    cr_assert_eq(hs_client_response(&st, acc->data, acc->meta.len, x->token, &got, keys),
                 HSC_ACCEPTED, "the amd64 client opens the ARM worker's CONNECT_RESP");
    cr_assert_eq(got.session_id, acc->meta.session_id);
    cr_assert_eq(got.client_ip, cfg.client_ip);
    cr_assert_eq(got.routes[0].net, cfg.routes[0].net);
    cr_assert_eq(got.replay_window_ms, REPLAY_WINDOW_MS_DEFAULT);
    *sid = got.session_id;
    ring_consume_release(&wr->out_dec, 1);
    hs_client_wipe(&st);
}

/* An IPv4/UDP packet of len bytes from src, its payload a pattern of seed. */
static void ip_packet(uint8_t *p, size_t len, uint32_t src, uint32_t seed)
{
    memset(p, 0, 28);
    p[0] = 0x45;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[8] = 64;
    p[9] = 17;
    put_be32(p + 12, src);
    put_be32(p + 16, 0xc0a8640a);
    for (size_t i = 28; i < len; i++)
        p[i] = (uint8_t)(seed * 31 + i);
}

static void round_trips(const char *build, const char *qemu, const char *cpu)
{
    static struct cross x;
    start(&x, build, qemu, cpu);
    struct worker_rings *wr = &x.e.rings[0];
    struct session_keys k;
    uint32_t sid;
    handshake(&x, &k, &sid);

    static const size_t sizes[] = { 28, 29, 64, 555, 1000, 1399, 1400 };
    enum { N = sizeof(sizes) / sizeof(sizes[0]) };
    uint8_t pt[1500], back[1500];
    for (uint32_t i = 0; i < N; i++) {
        /* client -> server: sealed here, opened by the ARM worker into out_dec. */
        ip_packet(pt, sizes[i], 0x0a08000a, i);
        struct pkt_slot *s = request_slot(&x, &wr->in_rx);
        s->meta.op = OP_DECRYPT;
        s->meta.session_id = sid;
        s->meta.len = (uint16_t)transport_seal(s->data, MSG_DATA, k.k_c2s, sid, i,
                                               clock_realtime_ms(), pt, sizes[i]);
        submit(&x, &wr->in_rx);
        struct pkt_slot *d = await_result(&x, &wr->out_dec);
        cr_assert_eq(d->meta.op, RES_DATA, "packet %u: op %u", i, d->meta.op);
        cr_assert_eq(d->meta.session_id, sid);
        cr_assert_eq(d->meta.len, sizes[i]);
        cr_assert_eq(memcmp(d->data, pt, sizes[i]), 0, "packet %u decrypted on ARM", i);
        ring_consume_release(&wr->out_dec, 1);

        /* server -> client: sealed by the ARM worker into out_enc, opened here. */
        ip_packet(pt, sizes[i], 0xc0a8640a, i + 100);
        s = request_slot(&x, &wr->in_tun);
        s->meta.op = OP_ENCRYPT;
        s->meta.session_id = sid;
        s->meta.len = (uint16_t)sizes[i];
        memcpy(s->data, pt, sizes[i]);
        submit(&x, &wr->in_tun);
        struct pkt_slot *e = await_result(&x, &wr->out_enc);
        cr_assert_eq(e->meta.op, RES_SEALED, "packet %u: op %u", i, e->meta.op);
        cr_assert_eq(e->meta.len, TRANSPORT_OVERHEAD + sizes[i]);
        cr_assert_eq(e->meta.peer.sin6_port, htons(51820), "the endpoint comes back intact");
        struct vpn_hdr h;
        cr_assert_eq(proto_hdr_parse(e->data, e->meta.len, &h), HDR_OK);
        cr_assert_eq(h.type, MSG_DATA);
        cr_assert_eq(get_be32(e->data + HDR_LEN), sid, "nonce = session id || counter");
        cr_assert_eq(get_be64(e->data + HDR_LEN + 4), (uint64_t)i);
        cr_assert(transport_open(back, e->data, e->meta.len, k.k_s2c),
                  "packet %u sealed on ARM opens on amd64", i);
        cr_assert_eq(memcmp(back, pt, sizes[i]), 0);
        ring_consume_release(&wr->out_enc, 1);
    }
    /* 64-bit counters and a 32-bit field written by the worker, read here. */
    cr_assert_eq(counter_read(&x.m->ctl.packets_decrypted), N);
    cr_assert_eq(counter_read(&x.m->ctl.packets_encrypted), N);
    cr_assert_eq(x.m->ctl.sessions, 1);
    cr_assert_eq(x.m->ctl.pid, (uint32_t)x.pid, "qemu-user runs the guest in its own process");
    for (int r = 0; r < DROP_REASONS; r++)
        cr_assert_eq(counter_read(&x.m->ctl.drops[r]), 0, "drop counter %d", r);
    uint64_t beat = __atomic_load_n(&x.m->ctl.heartbeat_ms, __ATOMIC_RELAXED);
    cr_assert(beat > 1700000000000ULL && beat <= clock_realtime_ms(),
              "heartbeat %llu: a 64-bit time in ms from the ARM clock", (unsigned long long)beat);
    sodium_memzero(&k, sizeof(k));
    stop(&x);
}

static void amd64_only(void)
{
#ifndef __x86_64__
    cr_skip_test("the amd64 build drives the ARM workers; this build is their guest");
#endif
    cr_assert(sodium_init() >= 0);
}

TestSuite(cross_worker, .init = amd64_only);

Test(cross_worker, amd64_main_and_client_with_an_arm64_worker, .timeout = 120)
{
    round_trips("build-arm64", "qemu-aarch64", "cortex-a72");
}

Test(cross_worker, amd64_main_and_client_with_an_armhf_worker, .timeout = 120)
{
    round_trips("build-armhf", "qemu-arm", "cortex-a7");
}
