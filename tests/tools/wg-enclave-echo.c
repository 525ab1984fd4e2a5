/* wg-enclave-echo: a WireGuard responder for one peer whose every key operation is done by a
 * real enclave worker (enclave/worker.c and wg_worker.c) behind the worker's own seccomp
 * filter, reached over the shared rings as vpn-server's main process reaches it (OP_WG_HELLO,
 * OP_WG_ACCEPT, OP_WG_DECRYPT, OP_ENCRYPT; include/vpn/enclave_ipc.h). It answers ICMP echo
 * requests through the tunnel, so that test_wireguard_noise.sh can show wireguard-go talking
 * to the worker, and that the sandbox allows what OpenSSL's BLAKE2s needs after
 * wg_blake2s_init (a forbidden syscall kills the worker: SIGSYS). A test fixture, not a
 * server: one peer (user "peer", device "echo"), one request at a time, no timers.
 *
 *   wg-enclave-echo PORT PRIVATE_KEY_B64 PEER_PUBLIC_KEY_B64 PEER_ADDRESS [PSK_B64]
 *
 * Prints one line per event: "worker filtered" (its seccomp filter is on), "handshake N",
 * "refused REASON" (the worker's drop counter that moved: wg_unknown_peer, handshake, ...),
 * "echo N", "keepalive", "dropped REASON", "worker died: ...". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../enclave/sandbox.h"
#include "../../enclave/secrets.h"
#include "../../enclave/wg_peers.h"
#include "../../enclave/worker.h"
#include "vpn/handshake.h"
#include "vpn/keyfile.h"
#include "vpn/proto.h"
#include "vpn/wg_blake2s.h"

#include "icmp_echo.h"

enum { RESULT_WAIT_MS = 500 };

static const char *const DROP_NAMES[] = { WORKER_DROP_REASONS(COUNTER_NAME) };

static struct worker_shm *shm;
static struct worker_rings rings;
static int bell;
static pid_t worker_pid;

static void usage(void)
{
    fprintf(stderr, "usage: wg-enclave-echo PORT PRIVATE_KEY_B64 PEER_PUBLIC_KEY_B64 "
                    "PEER_ADDRESS [PSK_B64]\n");
    exit(2);
}

/* The worker: the enclave's own loop under the enclave's own filter. */
static void run_worker(struct enclave_secrets *sec, int fd) __attribute__((noreturn));
static void run_worker(struct enclave_secrets *sec, int fd)
{
    struct worker w = { .index = 0, .count = 1, .doorbell_fd = fd, .shm = shm, .sec = sec,
                        .replay_window_ms = REPLAY_WINDOW_MS_DEFAULT,
                        .key_max_age_ms = 600000 + KEY_AGE_GRACE_MS };
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    worker_rings_init(&w.rings, shm);
    int rc = sandbox_lock_memory(sec, sizeof(*sec));
    if (rc >= 0)
        rc = sandbox_worker_filter();
    if (rc != 0) {
        printf("worker sandbox failed: %s\n", strerror(-rc));
        _exit(1);
    }
    /* write(2), not stdio: a first printf may fstat stdout, which the filter forbids. */
    static const char filtered[] = "worker filtered\n";
    (void)!write(STDOUT_FILENO, filtered, sizeof(filtered) - 1);
    worker_run(&w);
    _exit(0);
}

/* Publishes one request and wakes the worker if it sleeps (enclave_ipc.h's protocol). */
static void push(struct ring *r, uint16_t op, uint16_t aux, uint32_t sid, const void *data,
                 size_t len, const struct sockaddr_in6 *peer)
{
    struct pkt_slot *s = ring_produce_slot(r, 0);
    memset(&s->meta, 0, sizeof(s->meta));
    s->meta.op = op;
    s->meta.aux = aux;
    s->meta.len = (uint16_t)len;
    s->meta.session_id = sid;
    s->meta.peer = *peer;
    memcpy(s->data, data, len);
    ring_produce_publish(r, 1);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&shm->ctl.worker_sleeping, 0, __ATOMIC_SEQ_CST))
        (void)!write(bell, "w", 1);
}

/* The worker's answer on ring r, copied into *out; false when none came (it dropped the
 * request, or died). */
static bool await(struct ring *r, struct pkt_slot *out)
{
    for (int waited = 0; waited < RESULT_WAIT_MS * 10; waited++) {
        if (ring_available(r)) {
            *out = *ring_consume_slot(r, 0);
            ring_consume_release(r, 1);
            return true;
        }
        int status;
        if (waitpid(worker_pid, &status, WNOHANG) == worker_pid) {
            printf("worker died: %s %d\n", WIFSIGNALED(status) ? "signal" : "status",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            exit(1);
        }
        usleep(100);
    }
    return false;
}

/* The name of the drop counter that moved since before[], or "nothing". */
static const char *drop_that_moved(const uint64_t *before)
{
    for (int i = 0; i < DROP_REASONS; i++)
        if (__atomic_load_n(&shm->ctl.drops[i], __ATOMIC_RELAXED) != before[i])
            return DROP_NAMES[i];
    return "nothing";
}

int main(int argc, char **argv)
{
    uint8_t priv[WG_KEY_LEN];
    struct wg_peer_list *peers = calloc(1, sizeof(*peers));
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 5 || argc > 6 || !peers || sodium_init() < 0 || wg_blake2s_init() != 0)
        usage();
    struct wg_peer_def *d = &peers->defs[peers->count++];
    uint32_t peer_ip;
    if (keyfile_decode(argv[2], priv) != 0 || keyfile_decode(argv[3], d->public_key) != 0 ||
        (argc == 6 && keyfile_decode(argv[5], d->psk) != 0) ||
        inet_pton(AF_INET, argv[4], &peer_ip) != 1)
        usage();
    strcpy(d->user, "peer");
    memcpy(d->device_id, "echo", 4);

    /* The enclave's secrets as the supervisor makes them: locked shared memory holding the
     * WireGuard identity, one user and its one device. */
    struct enclave_secrets *sec = secrets_map();
    if (!sec || !wg_identity_init(&sec->wg_id, priv)) {
        perror("wg-enclave-echo: secrets");
        return 1;
    }
    sodium_memzero(priv, sizeof(priv));
    sec->wg_enabled = 1;
    sec->users.count = 1;
    strcpy(sec->users.users[0].name, "peer");
    wg_peers_init(&sec->wg_peers);
    int skipped;
    if (wg_peers_admit(&sec->wg_peers, &sec->users, peers, clock_realtime_ms(), &skipped) != 1)
        return 1;
    sodium_memzero(peers, sizeof(*peers));
    free(peers);

    shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int pair[2];
    if (shm == MAP_FAILED || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
        perror("wg-enclave-echo: rings");
        return 1;
    }
    worker_rings_init(&rings, shm);
    worker_pid = fork();
    if (worker_pid < 0)
        return 1;
    if (worker_pid == 0) {
        close(pair[0]);
        run_worker(sec, pair[1]);
    }
    close(pair[1]);
    bell = pair[0];

    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(argv[1])) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("wg-enclave-echo: bind");
        return 1;
    }
    uint32_t sid = 0;
    unsigned handshakes = 0, echoes = 0;
    for (;;) {
        uint8_t msg[2048];
        struct sockaddr_in6 from;
        socklen_t fl = sizeof(from);
        struct pkt_slot res;
        uint64_t before[DROP_REASONS];
        ssize_t n = recvfrom(fd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fl);
        if (n < 0 || n > SLOT_DATA)
            continue;
        memcpy(before, shm->ctl.drops, sizeof(before));
        switch (wg_classify(msg, (unsigned)n)) {
        case WG_MSG_INITIATION: {
            push(&rings.in_hs, OP_WG_HELLO, 0, 0, msg, (size_t)n, &from);
            if (!await(&rings.out_dec, &res) || res.meta.op != RES_HELLO) {
                printf("refused %s\n", drop_that_moved(before));
                break;
            }
            /* The main process's phase 2: RES_HELLO's request block and a config block with
             * the device's address. */
            uint8_t acc[CONNECT_REQ_LEN + RESP_CONFIG_MAX];
            struct hs_config cfg = { .prefix_len = 24, .mtu = 1420,
                                     .client_ip = ntohl(peer_ip), .keepalive_s = 25 };
            memcpy(acc, res.data, CONNECT_REQ_LEN);
            size_t len = CONNECT_REQ_LEN + hs_config_encode(acc + CONNECT_REQ_LEN, &cfg);
            push(&rings.in_ctl, OP_WG_ACCEPT, STATUS_OK, 0, acc, len, &from);
            if (!await(&rings.out_dec, &res) || res.meta.op != RES_ACCEPTED) {
                printf("refused %s\n", drop_that_moved(before));
                break;
            }
            sid = res.meta.session_id;
            sendto(fd, res.data, res.meta.len, 0, (struct sockaddr *)&from, fl);
            printf("handshake %u\n", ++handshakes);
            break;
        }
        case WG_MSG_TRANSPORT: {
            push(&rings.in_rx, OP_WG_DECRYPT, 0, wg_get_le32(msg + WG_DATA_RECEIVER), msg,
                 (size_t)n, &from);
            if (!await(&rings.out_dec, &res)) {
                printf("dropped %s\n", drop_that_moved(before));
                break;
            }
            if (res.meta.op == RES_KEEPALIVE) {
                printf("keepalive\n");
                break;
            }
            size_t len = res.meta.len;
            if (res.meta.op != RES_DATA || !make_echo_reply(res.data, &len))
                break;
            push(&rings.in_tun, OP_ENCRYPT, 0, sid, res.data, len, &from);
            if (!await(&rings.out_enc, &res) || res.meta.aux != HELLO_WIREGUARD) {
                printf("dropped %s\n", drop_that_moved(before));
                break;
            }
            sendto(fd, res.data, res.meta.len, 0, (struct sockaddr *)&from, fl);
            printf("echo %u\n", ++echoes);
            break;
        }
        default:
            break;
        }
    }
}
