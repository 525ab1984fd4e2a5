/* A hostile main process against a real enclave worker: while the worker serves its rings, the
 * main side keeps rewriting pkt_meta.len of the requests in flight, between the valid value and
 * one beyond what the request allows. Whatever the compiler makes of worker.c, the worker may
 * only serve a request, drop it, end itself with WORKER_EXIT_MALFORMED, or die of SIGSEGV on a
 * guard page; it must never write outside its result slot, and never into the secrets (finding
 * H2: worker_handle checked meta.len in the shared slot, and the handlers read it again).
 *
 * Memory is laid out as in production, where a worker maps its rings after the supervisor
 * mapped the secrets, and mmap's top-down search puts them directly below the secrets:
 *
 *   lower addresses                                                           higher addresses
 *   | worker_shm: ctl in_rx in_tun in_ctl out_dec out_enc | tail |[guard]| enclave_secrets ...
 *   |<-------- memfd, MAP_SHARED (map_region) ------------------>|<---- secrets_map() ------->
 *
 * The ring mapping ends exactly where secrets_map()'s allocation begins: at the secrets mapping
 * itself today, at the PROT_NONE guard below it once secrets_map() has one. "tail" is the rest
 * of the ring mapping's last page after struct worker_shm (2880 bytes on x86-64 today); the
 * test fills it, the ring index padding and the secrets mapping's own slack with canaries.
 *
 * Processes and CPUs (the race needs two; on one it is left to preemption and rarely lands):
 *
 *   test process = supervisor + main process           worker child (fork; worker_run)
 *   CPU 1: producer, result drain, restarts, and the    CPU 0: the real worker loop on the
 *          racing writes between producer passes        rings above; doorbell = socketpair
 *   CPU 2..: extra racing threads (WORKER_RACE_THREADS, default one per CPU beyond two)
 *
 * Requests: OP_SEAL_CONTROL (aux MSG_DISCONNECT, len 1) keeps in_ctl full: the request of the
 * finding. A few OP_ENCRYPT on in_tun and OP_DECRYPT on in_rx stay in flight too: they read the
 * length on other paths. Each ring's requests belong to their own live session of worker 0, so
 * a result's only correct length follows from its session id.
 *
 * The race: a write the worker can act on lasts a moment only (a "pulse": big value, a short
 * spin, valid value again), because a value that stayed would be caught by the worker's first
 * read and cost a restart instead. Pulse lengths sweep a range, so that some fit the distance
 * between the worker's two reads on any CPU. On in_ctl the pulses go to the few slots the worker
 * is about to read: its unpublished results show how far through its batch it is.
 *
 * After WORKER_RACE_SECONDS (default 10; the test stops early once the secrets are hit):
 * S_priv, S_pub, the user table, every key slot and every canary must be as written; no result
 * may be longer than its request allowed or have spilled into the slot after it; and the worker
 * may only have ended by exit status 3 or SIGSEGV.
 *
 * What the test takes for granted of the code under test (a change to one of these needs a
 * change here): secrets_map() returns the struct inside one read-write mapping, and its guards,
 * if any, are PROT_NONE mappings that touch that one; worker_run() serves a struct worker set
 * up as run_worker sets it up; results are written in request order after out_enc's head (the
 * racers steer by them); a result's cookie and meta padding are left alone, zeroed or copied
 * from the request. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "../../enclave/devices.h"
#include "../../enclave/secrets.h"
#include "../../enclave/worker.h"
#include "vpn/enclave_ipc.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

enum {
    WORKER_COUNT = 2,           /* worker 0 of a pool of 2: it owns the even key slots */
    TUN_LEN = 100,              /* OP_ENCRYPT plaintext */
    INNER_LEN = 28,             /* IPv4 + UDP header: the OP_DECRYPT plaintext */
    RX_LEN = TRANSPORT_OVERHEAD + INNER_LEN,
    SIDE_INFLIGHT = 8,          /* OP_ENCRYPT / OP_DECRYPT requests kept in flight */
    /* Tuning of the race, measured on a 2-CPU x86-64 VM: pulses of one fixed length won with
     * gcc -O2 at some lengths and never at others; spread over all 256 in_ctl slots in flight
     * they took up to 5 s; aimed at the next 8 slots, gcc is beaten within 0.3 s and clang has
     * the secrets within about 0.2 s. */
    RACE_AHEAD = 8,             /* in_ctl slots pulsed from the worker's position on */
    FLIP_ROUNDS = 8,            /* pulse rounds between producer passes */
    PULSE_STEPS = 9,            /* pulse spins: 1, 2, 4 ... 256, one length per round */
    CHECK_EVERY_MS = 20,        /* secrets and canaries are compared this often */
    SLOT_CTL = 0, SLOT_TUN = 2, SLOT_RX = 4,
    SID_CTL = 0x51a7u << SESSION_SLOT_BITS | SLOT_CTL,
    SID_TUN = 0x7f3eu << SESSION_SLOT_BITS | SLOT_TUN,
    SID_RX = 0x2b1du << SESSION_SLOT_BITS | SLOT_RX,
    CLIENT_IP = 0x0a08000a,
    MAX_DIFFS = 8,
};

/* Big values, taken in turn. The first passes the bound check and is wrong for the op: gcc -O2
 * checks the bound on one load, the op's exact length on a second, and uses the first. The
 * second is the largest a uint16_t holds: clang -O2 checks both on one load and hands a second
 * one to seal_to, which then writes 64 KB. */
static const uint16_t big_len[] = { SLOT_DATA, UINT16_MAX };

#define CANARY_BYTE 0xa5
static const uint32_t CANARY_COOKIE = 0xc0ffee11u;

struct span {
    uintptr_t lo, hi;
};

/* Where the test found or put things. */
struct layout {
    struct enclave_secrets *sec;
    struct span sec_vma;        /* the mapping that holds the secrets */
    struct span alloc;          /* sec_vma and the PROT_NONE mappings right below it, if any */
    bool guard_below;
    struct worker_shm *shm;
    size_t shm_len;             /* page-rounded, as map_region maps it */
    int memfd;
};

/* A request ring: its handle, the length its requests carry, how many may be in flight. */
struct race_ring {
    struct ring r;
    uint16_t valid_len;
    uint32_t inflight;
};

struct race {
    struct layout lay;
    struct enclave_secrets *expect;     /* private copy of what the secrets must hold */
    struct worker_rings rings;          /* the main process's handles */
    struct race_ring in[3];             /* in_ctl, in_tun, in_rx */
    int doorbell[2];                    /* [0] main's end, [1] the worker's */
    pid_t worker;
    int cpus;
    int stop;
    uint32_t generation;                /* worker incarnations, for ctl_progress */
    uint64_t rx_counter;
    uint8_t rx_key[KEY_LEN];            /* the client's k_c2s of SID_RX */
    char worker_log[64];

    /* tallies */
    double start;
    uint64_t produced, results, restarts, malformed_exits, segv_exits, other_exits;
    int other_status;
    uint64_t bad_len, bad_slot;
    double t_bad_len, t_bad_slot, t_shm, t_secrets;
    char first_bad_len[192], first_bad_slot[192], shm_diff[192];
    char secrets_diff[MAX_DIFFS][160];
    int n_secrets_diff;
};

static struct race R;
static volatile sig_atomic_t worker_ended;     /* SIGCHLD: reap and restart before racing on */
static pthread_t racers[16];
static int n_racers;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double env_double(const char *name, double def)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v)
        return def;
    double d = strtod(v, &end);
    return *end || d < 0 ? def : d;
}

static void pin(int cpu)
{
    if (R.cpus < 2)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
}

/* Deterministic bytes that differ by seed, so a shifted or copied block shows as a change. */
static void pattern(void *p, size_t n, uint32_t seed)
{
    uint8_t *b = p;
    uint32_t x = seed * 2654435761u + 0x9e3779b9u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
}

/* The mapping in /proc/self/maps that contains addr (want_end 0) or ends at want_end; perms
 * gets its permissions ("rw-s", "---p", ...). */
static bool find_vma(uintptr_t addr, uintptr_t want_end, struct span *out, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) != 3)
            continue;
        if (want_end ? hi == want_end : (addr >= lo && addr < hi)) {
            out->lo = lo;
            out->hi = hi;
            memcpy(perms, p, 5);
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* Maps the secrets with the real secrets_map() and one worker's ring region right below them.
 *
 * Where "below" starts: a guard page is a mapping of its own (PROT_NONE cannot share a mapping
 * with read-write pages), so /proc/self/maps shows secrets_map()'s allocation as the mapping
 * that holds the secrets plus, once it has guards, the PROT_NONE mappings that touch it. The
 * ring region is put against the lowest of those that touch it from below: an overflow off the
 * end of out_enc then meets the guard first, and the secrets only if there is none.
 *
 * Placement uses MAP_FIXED_NOREPLACE, so nothing already there is replaced. If that address is
 * taken, another secrets_map() lands elsewhere (the earlier one stays mapped until a placement
 * worked, so no address is tried twice); a big reservation to carve both from is not possible,
 * since secrets_map() picks its own address. */
static void place(struct layout *lay)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct enclave_secrets *tried[8];
    int n_tried = 0;
    lay->shm_len = (sizeof(struct worker_shm) + page - 1) & ~(page - 1);
    lay->memfd = memfd_create("worker_shm", MFD_CLOEXEC);
    cr_assert(lay->memfd >= 0, "memfd_create: %s", strerror(errno));
    cr_assert_eq(ftruncate(lay->memfd, (off_t)lay->shm_len), 0);

    for (;;) {
        struct enclave_secrets *s = secrets_map();
        struct span below;
        char perms[5];
        cr_assert(s, "secrets_map: %s", strerror(errno));
        cr_assert(find_vma((uintptr_t)s, 0, &lay->sec_vma, perms), "secrets not in /proc/self/maps");
        lay->alloc = lay->sec_vma;
        lay->guard_below = false;
        while (find_vma(0, lay->alloc.lo, &below, perms) && memcmp(perms, "---", 3) == 0) {
            lay->alloc.lo = below.lo;
            lay->guard_below = true;
        }
        void *want = (void *)(lay->alloc.lo - lay->shm_len);
        void *p = mmap(want, lay->shm_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
                       lay->memfd, 0);
        if (p == want) {
            lay->sec = s;
            lay->shm = p;
            break;
        }
        if (p != MAP_FAILED)
            munmap(p, lay->shm_len);    /* a kernel before 4.17 took the address as a hint */
        cr_assert(n_tried < (int)(sizeof(tried) / sizeof(tried[0])),
                  "no free place below the secrets after %d tries", n_tried + 1);
        tried[n_tried++] = s;
    }
    while (n_tried > 0)
        secrets_unmap(tried[--n_tried]);
}

/* Known contents for every byte of the secrets: patterns for S_priv, S_pub and the whole user
 * table (the tokens and names of unused entries are canaries), for every free key slot
 * (session_id 0), and the three live sessions of worker 0. The bytes of the secrets' mapping
 * outside the struct, if any, get canaries. */
static void fill_secrets(struct race *r)
{
    struct enclave_secrets *s = r->lay.sec;
    pattern(s->s_priv, KEY_LEN, 1);
    pattern(s->s_pub, KEY_LEN, 2);
    s->users.count = 3;
    for (int i = 0; i < MAX_USERS; i++) {
        struct enclave_user *u = &s->users.users[i];
        snprintf(u->name, sizeof(u->name), "user%04d-canary", i);
        pattern(u->token, TOKEN_LEN, 1000u + (uint32_t)i);
        u->last_request_ts = 0x1111111111111111ULL * (uint64_t)(i % 15 + 1);
    }
    for (uint32_t i = 0; i < SESSION_SLOTS; i++) {
        pattern(&s->slots[i], sizeof(s->slots[i]), 100000u + i);
        s->slots[i].session_id = 0;
    }
    static const uint32_t sids[] = { SID_CTL, SID_TUN, SID_RX };
    for (int i = 0; i < 3; i++) {
        struct key_slot *k = &s->slots[sids[i] & (SESSION_SLOTS - 1)];
        memset(k, 0, sizeof(*k));
        pattern(k->k_c2s, KEY_LEN, 200u + (uint32_t)i);
        pattern(k->k_s2c, KEY_LEN, 300u + (uint32_t)i);
        k->client_ip = CLIENT_IP;
        k->user_index = i;
        replay_init(&k->rx);
        k->session_id = sids[i];
        /* The enclave keeps a key alive only as its user's current (or retiring) session. */
        static const uint8_t implicit[DEVICE_ID_LEN];
        cr_assert_eq(devices_bind(s, &s->users.users[i], implicit, sids[i]), 0);
    }
    memcpy(r->rx_key, s->slots[SLOT_RX].k_c2s, KEY_LEN);
    r->expect = malloc(sizeof(*s));
    cr_assert(r->expect);
    memcpy(r->expect, s, sizeof(*s));

    uintptr_t b = (uintptr_t)s, e = b + sizeof(*s);
    memset((void *)r->lay.sec_vma.lo, CANARY_BYTE, b - r->lay.sec_vma.lo);
    if (e < r->lay.sec_vma.hi)
        memset((void *)e, CANARY_BYTE, r->lay.sec_vma.hi - e);
}

/* Bytes of the ring region that no ring code uses: the padding of each ring's three index cache
 * lines (the first lies right after the previous ring's slot array) and the region's tail, right
 * after out_enc's slot array. */
static void for_each_pad(struct worker_shm *m, void (*fn)(uint8_t *p, size_t n, const char *where))
{
    struct ring_index *idx[] = { &m->in_rx.idx, &m->in_tun.idx, &m->in_ctl.idx, &m->out_dec.idx,
                                 &m->out_enc.idx };
    static const char *const names[] = { "in_rx index", "in_tun index", "in_ctl index",
                                         "out_dec index", "out_enc index" };
    for (int i = 0; i < 5; i++)
        for (int line = 0; line < 3; line++)
            fn((uint8_t *)idx[i] + line * RING_CACHELINE + 4, RING_CACHELINE - 4, names[i]);
    fn((uint8_t *)(m + 1), R.lay.shm_len - sizeof(*m), "ring region's tail after out_enc");
}

static void set_pad(uint8_t *p, size_t n, const char *where)
{
    (void)where;
    memset(p, CANARY_BYTE, n);
}

static void check_pad(uint8_t *p, size_t n, const char *where)
{
    for (size_t i = 0; i < n && !R.shm_diff[0]; i++)
        if (p[i] != CANARY_BYTE)
            snprintf(R.shm_diff, sizeof(R.shm_diff), "canary in the %s overwritten, %zu bytes "
                     "from its start (0x%02x)", where, i, p[i]);
}

/* Marks a result slot once its result is taken: op 0 (so the racers can tell a new result in
 * it), a canary cookie and padding. seal_to writes neither cookie nor padding; a fixed worker
 * might copy them from the request, which carries the same values, or zero them. Anything else
 * came from the slot before: its ciphertext covers this slot's first 44 bytes or more. */
static void mark_result_slot(struct pkt_slot *s)
{
    s->meta.op = 0;
    s->meta.cookie = CANARY_COOKIE;
    memset(s->meta.pad, CANARY_BYTE, sizeof(s->meta.pad));
}

static bool meta_marks_ok(const struct pkt_meta *m)
{
    bool canary = true, zero = true;
    for (size_t i = 0; i < sizeof(m->pad); i++) {
        canary &= m->pad[i] == CANARY_BYTE;
        zero &= m->pad[i] == 0;
    }
    return (canary || zero) && (m->cookie == CANARY_COOKIE || m->cookie == 0);
}

static void setup_rings(struct race *r)
{
    struct worker_shm *m = r->lay.shm;
    memset(m, 0, sizeof(*m));
    for_each_pad(m, set_pad);
    worker_rings_init(&r->rings, m);
    for (uint32_t i = 0; i <= r->rings.out_enc.mask; i++)
        mark_result_slot(&r->rings.out_enc.slots[i]);
    r->in[0] = (struct race_ring){ r->rings.in_ctl, DISCONNECT_PLAINTEXT, IN_CTL_SLOTS };
    r->in[1] = (struct race_ring){ r->rings.in_tun, TUN_LEN, SIDE_INFLIGHT };
    r->in[2] = (struct race_ring){ r->rings.in_rx, RX_LEN, SIDE_INFLIGHT };
}

static void worker_main(struct race *r) __attribute__((noreturn));
static void worker_main(struct race *r)
{
    /* As run_worker does, without the seccomp filter: a forbidden syscall is not what this test
     * is about, and a sanitizer's report needs syscalls the filter refuses. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    signal(SIGCHLD, SIG_DFL);
    close(r->doorbell[0]);
    int fd = open(r->worker_log, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 2);    /* thousands of "malformed request" lines: tallied at the end */
        close(fd);
    }
    struct worker w = {
        .index = 0,
        .count = WORKER_COUNT,
        .doorbell_fd = r->doorbell[1],
        .shm = r->lay.shm,
        .sec = r->lay.sec,
        .replay_window_ms = 5000,
    };
    worker_rings_init(&w.rings, w.shm);
    w.shm->ctl.pid = (uint32_t)getpid();
    worker_run(&w);
    _exit(0);
}

static void start_worker(struct race *r)
{
    /* Forked on the worker's CPU: a child born on ours would wait for a time slice (the racing
     * loop never sleeps) before it could move. */
    pin(0);
    pid_t pid = fork();
    if (pid == 0)
        worker_main(r);
    pin(1);
    cr_assert(pid > 0, "fork: %s", strerror(errno));
    r->worker = pid;
}

/* Reaps the worker if it ended and starts the next, as the supervisor does. */
static void supervise(struct race *r)
{
    int status;
    worker_ended = 0;
    if (waitpid(r->worker, &status, WNOHANG) != r->worker)
        return;
    if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_MALFORMED) {
        r->malformed_exits++;
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
        r->segv_exits++;
    } else {
        if (!r->other_exits)
            r->other_status = status;
        r->other_exits++;
    }
    r->restarts++;
    __atomic_store_n(&r->lay.shm->ctl.worker_sleeping, 0, __ATOMIC_SEQ_CST);
    /* The dead worker's unpublished results: the next one writes the same slots again. */
    struct ring *out = &r->rings.out_enc;
    for (uint32_t i = 0, n = ring_free(out); i < n; i++)
        ring_produce_slot(out, i)->meta.op = 0;
    __atomic_add_fetch(&r->generation, 1, __ATOMIC_RELEASE);
    start_worker(r);
}

static void fill_request(struct race *r, int ring, struct pkt_slot *s)
{
    memset(&s->meta, 0, sizeof(s->meta));
    memset(s->meta.pad, CANARY_BYTE, sizeof(s->meta.pad));
    s->meta.cookie = CANARY_COOKIE;
    s->meta.peer.sin6_family = AF_INET6;
    s->meta.peer.sin6_port = htons(4500);
    switch (ring) {
    case 0:
        s->meta.op = OP_SEAL_CONTROL;
        s->meta.aux = MSG_DISCONNECT;
        s->meta.session_id = SID_CTL;
        s->data[0] = 1;     /* reason */
        break;
    case 1:
        s->meta.op = OP_ENCRYPT;
        s->meta.session_id = SID_TUN;
        pattern(s->data, TUN_LEN, (uint32_t)r->produced);
        break;
    default: {
        uint8_t ip[INNER_LEN] = { 0x45, 0, 0, INNER_LEN, 0, 0, 0x40, 0, 64, 17 };
        put_be32(ip + 12, CLIENT_IP);
        put_be32(ip + 16, 0xc0a8640a);
        s->meta.op = OP_DECRYPT;
        s->meta.session_id = SID_RX;
        transport_seal(s->data, MSG_DATA, r->rx_key, SID_RX, r->rx_counter++, clock_realtime_ms(),
                       ip, sizeof(ip));
        break;
    }
    }
    s->meta.len = r->in[ring].valid_len;
}

/* Tops every request ring up to its number in flight and wakes the worker if it sleeps (as
 * enclave_wake_worker does). */
static void produce(struct race *r)
{
    for (int i = 0; i < 3; i++) {
        struct ring *q = &r->in[i].r;
        uint32_t used = ring_capacity(q) - ring_free(q);
        uint32_t n = used < r->in[i].inflight ? r->in[i].inflight - used : 0;
        for (uint32_t j = 0; j < n; j++, r->produced++)
            fill_request(r, i, ring_produce_slot(q, j));
        if (n)
            ring_produce_publish(q, n);
    }
    struct worker_ctl *ctl = &r->lay.shm->ctl;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ctl->worker_sleeping, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&ctl->worker_sleeping, 0, __ATOMIC_SEQ_CST)) {
        ssize_t n = write(r->doorbell[0], "m", 1);
        (void)n;
    }
}

static void bad_result(struct race *r, bool spill, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad_result(struct race *r, bool spill, const char *fmt, ...)
{
    uint64_t *count = spill ? &r->bad_slot : &r->bad_len;
    if ((*count)++)
        return;
    *(spill ? &r->t_bad_slot : &r->t_bad_len) = now_s() - r->start;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(spill ? r->first_bad_slot : r->first_bad_len, sizeof(r->first_bad_len), fmt, ap);
    va_end(ap);
}

/* Takes every published result and checks it against what its request allowed. */
static void drain_results(struct race *r)
{
    struct ring *enc = &r->rings.out_enc, *dec = &r->rings.out_dec;
    uint32_t n = ring_available(enc);
    for (uint32_t i = 0; i < n; i++) {
        struct pkt_slot *s = ring_consume_slot(enc, i);
        unsigned idx = (unsigned)(s - enc->slots), sid = s->meta.session_id;
        unsigned want = sid == SID_CTL ? TRANSPORT_OVERHEAD + DISCONNECT_PLAINTEXT
                      : sid == SID_TUN ? TRANSPORT_OVERHEAD + TUN_LEN : 0;
        if (s->meta.len > SLOT_DATA || s->meta.len != want || s->meta.op != RES_SEALED)
            bad_result(r, false, "out_enc slot %u: op %u, session %#x, len %u (its request "
                       "allows %u; a slot holds %d)", idx, s->meta.op, sid, s->meta.len, want,
                       SLOT_DATA);
        if (!meta_marks_ok(&s->meta))
            bad_result(r, true, "out_enc slot %u: cookie %#x and padding overwritten by a write "
                       "past the end of slot %u", idx, s->meta.cookie, (idx + enc->mask) & enc->mask);
        mark_result_slot(s);
    }
    if (n)
        ring_consume_release(enc, n);
    r->results += n;

    n = ring_available(dec);
    for (uint32_t i = 0; i < n; i++) {
        struct pkt_slot *s = ring_consume_slot(dec, i);
        unsigned idx = (unsigned)(s - dec->slots);
        if (s->meta.len > SLOT_DATA || s->meta.op != RES_DATA || s->meta.len != INNER_LEN ||
            s->meta.session_id != SID_RX)
            bad_result(r, false, "out_dec slot %u: op %u, session %#x, len %u (want %u)", idx,
                       s->meta.op, s->meta.session_id, s->meta.len, INNER_LEN);
        if (!meta_marks_ok(&s->meta))
            bad_result(r, true, "out_dec slot %u: cookie %#x and padding overwritten", idx,
                       s->meta.cookie);
    }
    if (n)
        ring_consume_release(dec, n);
    r->results += n;
}

static void note_diff(struct race *r, const char *what, const uint8_t *got, const uint8_t *want,
                      size_t n)
{
    size_t first = 0, count = 0;
    for (size_t i = 0; i < n; i++)
        if ((want ? want[i] : CANARY_BYTE) != got[i] && !count++)
            first = i;
    if (r->n_secrets_diff < MAX_DIFFS)
        snprintf(r->secrets_diff[r->n_secrets_diff], sizeof(r->secrets_diff[0]),
                 "%s: %zu byte(s) changed, the first at offset %zu", what, count, first);
    r->n_secrets_diff++;
}

static void compare(struct race *r, const char *what, const void *got, const void *want, size_t n)
{
    if (memcmp(got, want, n) != 0)
        note_diff(r, what, got, want, n);
}

static void compare_canary(struct race *r, const char *what, uintptr_t lo, uintptr_t hi)
{
    for (uintptr_t p = lo; p < hi; p++) {
        if (*(const uint8_t *)p != CANARY_BYTE) {
            note_diff(r, what, (const uint8_t *)lo, NULL, hi - lo);
            return;
        }
    }
}

/* Compares the secrets with what was written: every byte, except a live slot's send counter
 * and replay window, which are the worker's to change. Returns true when all is intact. */
static bool check_secrets(struct race *r)
{
    struct enclave_secrets *s = r->lay.sec, *e = r->expect;
    bool had = r->n_secrets_diff > 0;
    r->n_secrets_diff = 0;
    compare(r, "S_priv", s->s_priv, e->s_priv, KEY_LEN);
    compare(r, "S_pub", s->s_pub, e->s_pub, KEY_LEN);
    compare(r, "user table (names, tokens, timestamps)", &s->users, &e->users, sizeof(s->users));
    for (uint32_t i = 0; i < SESSION_SLOTS; i++) {
        size_t n = e->slots[i].session_id ? offsetof(struct key_slot, send_counter)
                                          : sizeof(struct key_slot);
        if (memcmp(&s->slots[i], &e->slots[i], n) != 0) {
            char what[32];
            snprintf(what, sizeof(what), "key slot %u", i);
            note_diff(r, what, (const uint8_t *)&s->slots[i], (const uint8_t *)&e->slots[i], n);
        }
    }
    compare_canary(r, "secrets mapping before the struct (canary)", r->lay.sec_vma.lo,
                   (uintptr_t)s);
    compare_canary(r, "secrets mapping after the struct (canary)", (uintptr_t)(s + 1),
                   r->lay.sec_vma.hi > (uintptr_t)(s + 1) ? r->lay.sec_vma.hi : (uintptr_t)(s + 1));
    if (r->n_secrets_diff && !had)
        r->t_secrets = now_s() - r->start;
    return r->n_secrets_diff == 0;
}

static void check_shm(struct race *r)
{
    bool had = R.shm_diff[0];
    for_each_pad(r->lay.shm, check_pad);
    if (R.shm_diff[0] && !had)
        r->t_shm = now_s() - r->start;
}

/* How far the worker is through its in_ctl batch: its results of the batch wait, unpublished,
 * after out_enc's head in request order (the main side zeroes op when it takes a result, and
 * when a worker died with results it never published). The scan resumes where the last one
 * stopped while the head stays: each slot read is a cache miss on a line the worker writes. */
static uint32_t ctl_progress(struct race *r)
{
    static __thread uint32_t last_head, last_p, last_gen;
    struct ring *out = &r->rings.out_enc;
    uint32_t head = __atomic_load_n(&out->idx->head, __ATOMIC_RELAXED);
    uint32_t gen = __atomic_load_n(&r->generation, __ATOMIC_ACQUIRE);
    uint32_t p = head == last_head && gen == last_gen ? last_p : 0;
    while (p < BATCH_MAX &&
           __atomic_load_n(&out->slots[(head + p) & out->mask].meta.op, __ATOMIC_RELAXED) ==
               RES_SEALED)
        p++;
    last_head = head;
    last_gen = gen;
    last_p = p;
    return p;
}

/* Pulses meta.len of the requests in flight: big, a spin of `spins`, then the valid value
 * again, which is thus always what a slot is left with. */
static void flip(struct race *r, int rounds, unsigned *k)
{
    for (int round = 0; round < rounds; round++, (*k)++) {
        uint16_t big = big_len[*k & 1];
        int spins = 1 << ((*k >> 1) % PULSE_STEPS);
        for (int i = 0; i < 3; i++) {
            struct ring *q = &r->in[i].r;
            uint16_t valid = r->in[i].valid_len;
            uint32_t t = __atomic_load_n(&q->idx->tail, __ATOMIC_RELAXED);
            uint32_t n = __atomic_load_n(&q->idx->head, __ATOMIC_RELAXED) - t;
            if (i == 0) {
                uint32_t p = ctl_progress(r);
                if (p >= n)
                    continue;
                t += p;
                n -= p;
                if (n > RACE_AHEAD)
                    n = RACE_AHEAD;
            } else if (n > SIDE_INFLIGHT) {
                n = SIDE_INFLIGHT;
            }
            for (uint32_t j = 0; j < n; j++) {
                if (worker_ended)
                    return;
                uint16_t *len = &q->slots[(t + j) & q->mask].meta.len;
                __atomic_store_n(len, big, __ATOMIC_RELAXED);
                for (int spin = 0; spin < spins; spin++)
                    __asm__ __volatile__("" ::: "memory");
                __atomic_store_n(len, valid, __ATOMIC_RELAXED);
            }
        }
    }
}

static void on_sigchld(int sig)
{
    (void)sig;
    worker_ended = 1;
}

static void *racer_main(void *arg)
{
    int cpu = (int)(intptr_t)arg;
    pin(cpu < R.cpus ? cpu : 1);
    unsigned k = (unsigned)cpu;
    while (!__atomic_load_n(&R.stop, __ATOMIC_RELAXED))
        flip(&R, 1024, &k);
    return NULL;
}

/* The worker's reasons for ending, from its log lines "... malformed request from the main
 * process (WHY); exiting". */
static void print_worker_reasons(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512], why[8][96];
    unsigned long count[8] = { 0 };
    int kinds = 0;
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *a = strstr(line, "main process ("), *b = a ? strstr(a, "); exiting") : NULL;
        if (!b)
            continue;
        a += strlen("main process (");
        int n = (int)(b - a), i;
        for (i = 0; i < kinds; i++)
            if ((int)strlen(why[i]) == n && strncmp(why[i], a, (size_t)n) == 0)
                break;
        if (i == kinds && kinds < 8)
            snprintf(why[kinds++], sizeof(why[0]), "%.*s", n, a);
        if (i < kinds)
            count[i]++;
    }
    fclose(f);
    for (int i = 0; i < kinds; i++)
        fprintf(stderr, "  worker exits \"%s\": %lu\n", why[i], count[i]);
}

static void stop_all(void)
{
    __atomic_store_n(&R.stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < n_racers; i++)
        pthread_join(racers[i], NULL);
    n_racers = 0;
    if (R.worker > 0) {
        kill(R.worker, SIGKILL);
        waitpid(R.worker, NULL, 0);
        R.worker = 0;
    }
    signal(SIGCHLD, SIG_DFL);
}

static void cleanup(void)
{
    stop_all();
    if (R.worker_log[0])
        unlink(R.worker_log);
    if (R.lay.shm)
        munmap(R.lay.shm, R.lay.shm_len);
    secrets_unmap(R.lay.sec);
    free(R.expect);
}

TestSuite(worker_race, .fini = cleanup);

Test(worker_race, length_rewritten_in_flight_never_reaches_the_secrets)
{
    cr_assert(sodium_init() >= 0);
    double seconds = env_double("WORKER_RACE_SECONDS", 10);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    R.cpus = cpus > 0 ? (int)cpus : 1;
    int extra = (int)env_double("WORKER_RACE_THREADS", R.cpus > 2 ? R.cpus - 2 : 0);
    if (extra > (int)(sizeof(racers) / sizeof(racers[0])))
        extra = (int)(sizeof(racers) / sizeof(racers[0]));

    place(&R.lay);
    fill_secrets(&R);
    setup_rings(&R);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, R.doorbell), 0);
    cr_assert_eq(fcntl(R.doorbell[0], F_SETFL, O_NONBLOCK), 0);
    snprintf(R.worker_log, sizeof(R.worker_log), "/tmp/worker_race_XXXXXX");
    int lfd = mkstemp(R.worker_log);
    cr_assert(lfd >= 0);
    close(lfd);

    fprintf(stderr, "worker_race: rings %#lx-%#lx, secrets allocation %#lx-%#lx (%s), struct at "
            "%p; %d CPU(s), %d extra racing thread(s), %.0f s\n", (unsigned long)R.lay.shm,
            (unsigned long)R.lay.shm + R.lay.shm_len, (unsigned long)R.lay.alloc.lo,
            (unsigned long)R.lay.alloc.hi,
            R.lay.guard_below ? "PROT_NONE guard below" : "no guard below", (void *)R.lay.sec,
            R.cpus, extra, seconds);
    cr_assert_eq((uintptr_t)R.lay.shm + R.lay.shm_len, R.lay.alloc.lo,
                 "the rings must end where the secrets allocation begins");

    struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP | SA_RESTART };
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
    R.start = now_s();
    start_worker(&R);
    for (int i = 0; i < extra; i++) {
        cr_assert_eq(pthread_create(&racers[i], NULL, racer_main, (void *)(intptr_t)(i + 2)), 0);
        n_racers++;
    }

    double end = R.start + seconds, next_check = R.start;
    unsigned k = 0;
    for (double now = R.start; now < end; now = now_s()) {
        if (worker_ended || now >= next_check)
            supervise(&R);
        drain_results(&R);
        produce(&R);
        flip(&R, FLIP_ROUNDS, &k);
        if (now >= next_check) {
            next_check = now + CHECK_EVERY_MS / 1000.0;
            check_shm(&R);
            if (!check_secrets(&R))
                break;      /* the worst has happened: no need to go on */
        }
    }
    double ran = now_s() - R.start;
    stop_all();
    drain_results(&R);
    check_shm(&R);
    bool intact = check_secrets(&R);

    struct worker_ctl *ctl = &R.lay.shm->ctl;
    fprintf(stderr, "worker_race: %.2f s, %" PRIu64 " requests, %" PRIu64 " results taken (%" PRIu64
            " sealed, %" PRIu64 " decrypted by the last worker), %" PRIu64 " restarts: %" PRIu64
            " exit status %d, %" PRIu64 " SIGSEGV, %" PRIu64 " other\n", ran, R.produced,
            R.results, ctl->packets_encrypted, ctl->packets_decrypted, R.restarts,
            R.malformed_exits, WORKER_EXIT_MALFORMED, R.segv_exits, R.other_exits);
    print_worker_reasons(R.worker_log);
    if (R.bad_len)
        fprintf(stderr, "  %" PRIu64 " result(s) of the wrong length, the first after %.3f s: %s\n",
                R.bad_len, R.t_bad_len, R.first_bad_len);
    if (R.bad_slot)
        fprintf(stderr, "  %" PRIu64 " result slot(s) written from the slot before, the first "
                "after %.3f s: %s\n", R.bad_slot, R.t_bad_slot, R.first_bad_slot);
    if (R.shm_diff[0])
        fprintf(stderr, "  ring region, first seen after %.3f s: %s\n", R.t_shm, R.shm_diff);
    for (int i = 0; i < R.n_secrets_diff && i < MAX_DIFFS; i++)
        fprintf(stderr, "  SECRETS, first seen after %.3f s: %s\n", R.t_secrets, R.secrets_diff[i]);

    cr_expect(intact, "the secrets changed (%d region(s)), e.g. %s", R.n_secrets_diff,
              R.secrets_diff[0]);
    cr_expect(!R.shm_diff[0], "the ring region changed outside the rings: %s", R.shm_diff);
    cr_expect_eq(R.bad_len, 0, "%" PRIu64 " result(s) longer or shorter than their request "
                 "allowed; the first: %s", R.bad_len, R.first_bad_len);
    cr_expect_eq(R.bad_slot, 0, "%" PRIu64 " result slot(s) overwritten from the slot before; "
                 "the first: %s", R.bad_slot, R.first_bad_slot);
    cr_expect_eq(R.other_exits, 0, "the worker ended other than by exit status %d or SIGSEGV "
                 "(%" PRIu64 " times; the first: %s %d)", WORKER_EXIT_MALFORMED, R.other_exits,
                 WIFSIGNALED(R.other_status) ? "signal" : "exit status",
                 WIFSIGNALED(R.other_status) ? WTERMSIG(R.other_status)
                                             : WEXITSTATUS(R.other_status));
    cr_expect_gt(R.results, 0, "the worker served nothing, so the race proved nothing");
}
