/* UDP GSO batching (core/lib/udp_batch.c): runs of equal-size datagrams to one destination
 * become one GSO message, cut where the destination or the size changes, after a short
 * datagram, or at the kernel's limits; a full batch flushes itself; a socket that refuses
 * GSO gets the batch again as plain datagrams, and no GSO any more.
 *
 * The test defines sendmmsg itself, so udp_batch.c's calls come here first: each message is
 * recorded (datagrams, segment size, destination) and then handed to the real sendmmsg,
 * which sends it on loopback to sockets of the test. The datagrams they receive are checked
 * too: count, sizes, bytes and order. Other callers' sendmmsg goes straight through. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "testutil.h"

#include "vpn/udp_batch.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

struct sent_msg {
    unsigned datagrams;     /* iovecs */
    size_t bytes;
    unsigned seg;           /* UDP_SEGMENT, 0 when none */
    int to;                 /* index of the receiver it was addressed to, -1 connected */
};

static struct {
    int fd;                 /* the socket under test: others pass straight through */
    unsigned calls;
    struct sent_msg msg[1024];
    unsigned n_msg;
    bool refuse_gso;        /* fail messages with UDP_SEGMENT as a kernel without it would */
    int fail_msg_errno;     /* fail the next message with this errno (once) */
} rec = { .fd = -1 };

enum { RECEIVERS = 2 };
static int rx_fd[RECEIVERS];
static struct sockaddr_in rx_addr[RECEIVERS];
static int tx_fd;

static int to_index(const struct msghdr *h)
{
    if (!h->msg_name)
        return -1;
    for (int i = 0; i < RECEIVERS; i++)
        if (memcmp(h->msg_name, &rx_addr[i], sizeof(rx_addr[i])) == 0)
            return i;
    return -2;
}

int sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int flags)
{
    static int (*real)(int, struct mmsghdr *, unsigned int, int);
    if (!real)
        real = (int (*)(int, struct mmsghdr *, unsigned int, int))dlsym(RTLD_NEXT, "sendmmsg");
    if (fd != rec.fd)
        return real(fd, m, n, flags);
    rec.calls++;
    for (unsigned i = 0; i < n; i++) {
        const struct msghdr *h = &m[i].msg_hdr;
        unsigned seg = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR((struct msghdr *)h, c))
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT) {
                uint16_t s16;
                memcpy(&s16, CMSG_DATA(c), sizeof(s16));
                seg = s16;
            }
        int fail = 0;
        if (rec.refuse_gso && seg)
            fail = EIO;
        else if (rec.fail_msg_errno) {
            fail = rec.fail_msg_errno;
            rec.fail_msg_errno = 0;
        }
        if (fail) {
            /* As the kernel: the count sent so far, or -1 when the first one failed. */
            if (i == 0) {
                errno = fail;
                return -1;
            }
            return real(fd, m, i, flags);
        }
        struct sent_msg *s = &rec.msg[rec.n_msg++];
        s->datagrams = (unsigned)h->msg_iovlen;
        s->bytes = 0;
        for (size_t k = 0; k < h->msg_iovlen; k++)
            s->bytes += h->msg_iov[k].iov_len;
        s->seg = seg;
        s->to = to_index(h);
    }
    return real(fd, m, n, flags);
}

static void setup(void)
{
    memset(&rec.msg, 0, sizeof(rec.msg));
    rec.calls = rec.n_msg = 0;
    rec.refuse_gso = false;
    rec.fail_msg_errno = 0;
    for (int i = 0; i < RECEIVERS; i++) {
        rx_fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert(rx_fd[i] >= 0);
        int buf = 8 << 20;
        setsockopt(rx_fd[i], SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
        memset(&rx_addr[i], 0, sizeof(rx_addr[i]));
        rx_addr[i].sin_family = AF_INET;
        rx_addr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(bind(rx_fd[i], (struct sockaddr *)&rx_addr[i], sizeof(rx_addr[i])), 0);
        socklen_t len = sizeof(rx_addr[i]);
        cr_assert_eq(getsockname(rx_fd[i], (struct sockaddr *)&rx_addr[i], &len), 0);
    }
    tx_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(tx_fd >= 0);
    rec.fd = tx_fd;
}

static void teardown(void)
{
    for (int i = 0; i < RECEIVERS; i++)
        close(rx_fd[i]);
    close(tx_fd);
    rec.fd = -1;
}

TestSuite(udp_batch, .init = setup, .fini = teardown);

/* Datagram k: len bytes, each the value of (k + offset) & 0xff, so that the receiver can tell
 * which one it got. */
static uint8_t data[512][1500];

static const void *datagram(unsigned k, size_t len)
{
    memset(data[k], (int)(k & 0xff), len);
    return data[k];
}

static void connect_to(int i)
{
    cr_assert_eq(connect(tx_fd, (struct sockaddr *)&rx_addr[i], sizeof(rx_addr[i])), 0);
}

/* Receiver i must get exactly these datagrams (index, size), in this order. */
static void expect_received(int i, const unsigned *index, const size_t *len, unsigned n)
{
    static uint8_t buf[2000];
    for (unsigned k = 0; k < n; k++) {
        ssize_t got = -1;
        for (int tries = 0; tries < 1000 && got < 0; tries++) {
            got = recv(rx_fd[i], buf, sizeof(buf), 0);
            if (got < 0)
                usleep(1000);
        }
        cr_assert_eq(got, (ssize_t)len[k], "receiver %d, datagram %u: %zd bytes, want %zu", i,
                     k, got, len[k]);
        for (size_t b = 0; b < len[k]; b++)
            cr_assert_eq(buf[b], index[k] & 0xff, "receiver %d, datagram %u (%u): byte %zu", i,
                         k, index[k], b);
    }
    cr_expect_lt(recv(rx_fd[i], buf, sizeof(buf), MSG_DONTWAIT), 0, "receiver %d: no more", i);
}

/* Queues datagrams 0..n-1 of the given sizes to receiver to[k] (NULL: connected). */
static void add_all(struct udp_batch *b, const size_t *len, const int *to, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        udp_batch_add(b, datagram(k, len[k]), len[k], to ? &rx_addr[to[k]] : NULL);
}

static void expect_msg(unsigned i, unsigned datagrams, unsigned seg, int to)
{
    cr_assert_lt(i, rec.n_msg, "message %u was sent (%u in all)", i, rec.n_msg);
    cr_expect_eq(rec.msg[i].datagrams, datagrams, "message %u: %u datagrams, want %u", i,
                 rec.msg[i].datagrams, datagrams);
    cr_expect_eq(rec.msg[i].seg, seg, "message %u: segment size %u, want %u", i, rec.msg[i].seg,
                 seg);
    cr_expect_eq(rec.msg[i].to, to, "message %u: to %d, want %d", i, rec.msg[i].to, to);
}

Test(udp_batch, equal_sizes_become_one_gso_message)
{
    struct udp_batch b;
    connect_to(0);
    udp_batch_init(&b, tx_fd, true, 0);
    size_t len[10];
    unsigned idx[10];
    for (unsigned k = 0; k < 10; k++) {
        len[k] = 1000;
        idx[k] = k;
    }
    add_all(&b, len, NULL, 10);
    cr_expect_eq(rec.calls, 0, "nothing sent before the flush");
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.calls, 1, "one system call");
    cr_expect_eq(rec.n_msg, 1);
    expect_msg(0, 10, 1000, -1);
    expect_received(0, idx, len, 10);
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.calls, 1, "an empty flush sends nothing");
}

Test(udp_batch, a_short_datagram_ends_a_run_and_a_longer_one_starts_one)
{
    struct udp_batch b;
    connect_to(0);
    udp_batch_init(&b, tx_fd, true, 0);
    /* 1000 x3, 300 (ends that run), 1000 x2, 500 x2 (a shorter size: the run of 1000 took
     * it as its last), 1200 (longer: alone), 1200 */
    static const size_t len[] = { 1000, 1000, 1000, 300, 1000, 1000, 500, 500, 1200, 1200 };
    static const unsigned idx[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    add_all(&b, len, NULL, 10);
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.calls, 1);
    cr_expect_eq(rec.n_msg, 4);
    expect_msg(0, 4, 1000, -1);         /* 1000 1000 1000 300 */
    expect_msg(1, 3, 1000, -1);         /* 1000 1000 500 */
    expect_msg(2, 1, 0, -1);            /* 500: a single datagram needs no GSO */
    expect_msg(3, 2, 1200, -1);
    expect_received(0, idx, len, 10);
}

Test(udp_batch, a_destination_change_breaks_a_run)
{
    struct udp_batch b;
    udp_batch_init(&b, tx_fd, false, sizeof(struct sockaddr_in));
    static const size_t len[] = { 800, 800, 800, 800, 800, 800 };
    static const int to[] = { 0, 0, 1, 1, 0, 1 };
    add_all(&b, len, to, 6);
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.calls, 1);
    cr_expect_eq(rec.n_msg, 4);
    expect_msg(0, 2, 800, 0);
    expect_msg(1, 2, 800, 1);
    expect_msg(2, 1, 0, 0);
    expect_msg(3, 1, 0, 1);
    static const unsigned idx0[] = { 0, 1, 4 }, idx1[] = { 2, 3, 5 };
    static const size_t len3[] = { 800, 800, 800 };
    expect_received(0, idx0, len3, 3);
    expect_received(1, idx1, len3, 3);
}

Test(udp_batch, a_run_stops_at_the_kernels_segment_and_byte_limits)
{
    struct udp_batch b;
    connect_to(0);
    udp_batch_init(&b, tx_fd, true, 0);
    /* 100 small ones: 64 segments at most per message. */
    static size_t len[100];
    static unsigned idx[100];
    for (unsigned k = 0; k < 100; k++) {
        len[k] = 100;
        idx[k] = k;
    }
    add_all(&b, len, NULL, 100);
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.n_msg, 2);
    expect_msg(0, UDP_GSO_MAX_SEGMENTS, 100, -1);
    expect_msg(1, 100 - UDP_GSO_MAX_SEGMENTS, 100, -1);
    expect_received(0, idx, len, 100);

    /* 50 of 1400 bytes: 65000 bytes at most per message, so 46 (64400) then 4. */
    rec.n_msg = 0;
    for (unsigned k = 0; k < 50; k++)
        len[k] = 1400;
    add_all(&b, len, NULL, 50);
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.n_msg, 2);
    expect_msg(0, UDP_GSO_MAX_BYTES / 1400, 1400, -1);
    expect_msg(1, 50 - UDP_GSO_MAX_BYTES / 1400, 1400, -1);
    cr_expect_leq(rec.msg[0].bytes, UDP_GSO_MAX_BYTES);
    expect_received(0, idx, len, 50);
}

Test(udp_batch, a_full_batch_flushes_itself)
{
    struct udp_batch b;
    connect_to(0);
    udp_batch_init(&b, tx_fd, true, 0);
    enum { N = UDP_BATCH_MAX + 5 };
    static size_t len[N];
    static unsigned idx[N];
    for (unsigned k = 0; k < N; k++) {
        len[k] = 200;
        idx[k] = k;
    }
    add_all(&b, len, NULL, UDP_BATCH_MAX);
    cr_expect_eq(rec.calls, 0, "full, not yet over");
    cr_expect_eq(b.n, UDP_BATCH_MAX);
    for (unsigned k = UDP_BATCH_MAX; k < N; k++)
        udp_batch_add(&b, datagram(k, len[k]), len[k], NULL);
    cr_expect_eq(rec.calls, 1, "the next add sent the full batch first");
    cr_expect_eq(b.n, 5);
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.calls, 2);
    expect_received(0, idx, len, N);
}

Test(udp_batch, gso_refused_sends_plainly_from_then_on)
{
    struct udp_batch b;
    connect_to(0);
    udp_batch_init(&b, tx_fd, true, 0);
    rec.refuse_gso = true;
    static const size_t len[] = { 900, 900, 900, 900 };
    static const unsigned idx[] = { 0, 1, 2, 3 };
    add_all(&b, len, NULL, 4);
    cr_expect_eq(udp_batch_flush(&b), 0, "nothing lost");
    cr_expect_not(b.gso);
    cr_expect_eq(rec.n_msg, 4);
    for (unsigned i = 0; i < 4; i++)
        expect_msg(i, 1, 0, -1);
    expect_received(0, idx, len, 4);
    /* Later batches go plainly at once. */
    rec.refuse_gso = false;
    rec.n_msg = 0;
    unsigned calls = rec.calls;
    add_all(&b, len, NULL, 4);
    cr_expect_eq(udp_batch_flush(&b), 0);
    cr_expect_eq(rec.calls, calls + 1);
    cr_expect_eq(rec.n_msg, 4);
    expect_msg(0, 1, 0, -1);
    expect_received(0, idx, len, 4);
}

Test(udp_batch, a_refused_message_counts_its_datagrams_and_the_rest_go)
{
    struct udp_batch b;
    udp_batch_init(&b, tx_fd, false, sizeof(struct sockaddr_in));
    /* Three to receiver 0 (one GSO message), which the kernel refuses, then two to 1. */
    static const size_t len[] = { 700, 700, 700, 700, 700 };
    static const int to[] = { 0, 0, 0, 1, 1 };
    rec.fail_msg_errno = EPERM;     /* as a firewall's REJECT would make it */
    add_all(&b, len, to, 5);
    cr_expect_eq(udp_batch_flush(&b), 3, "the refused message's three datagrams");
    cr_expect(b.gso, "an error that is not about GSO keeps GSO");
    static const unsigned idx1[] = { 3, 4 };
    static const size_t len2[] = { 700, 700 };
    expect_received(1, idx1, len2, 2);
    expect_received(0, NULL, NULL, 0);
}
