/* vpn-flood: a handshake flood for bench/run-flood.sh and the integration tests. It sends
 * well-formed CONNECT_REQs (extension 1, correct mac1, a real user name, a wrong token: each
 * would cost the server a Diffie-Hellman and an HMAC) from spoofed source addresses, through a
 * raw socket, at a set rate:
 *
 *   vpn-flood [--wireguard] TARGET_IPV4 PORT SERVER_KEY USER RATE SECONDS SOURCE_NET [REQUESTS]
 *
 * --wireguard: WireGuard handshake initiations instead, for the WireGuard port (SERVER_KEY is
 * its public key, USER is ignored): random contents under a correct mac1 and no mac2, so each
 * passes the mac1 check and would cost a worker a Diffie-Hellman before it fails; under load
 * the server must answer with cookie replies (to the spoofed sources) and let none through.
 *
 * SOURCE_NET (e.g. 10.99.0.0/16) gives the spoofed sources, each packet from a random
 * address and port in it; REQUESTS (default 4096) distinct requests are made first and sent
 * in turn. Replies to those addresses go wherever the lab routes them (nowhere). Prints the
 * rate it reached (also when stopped with SIGTERM or SIGINT). Must run as root (raw socket) in the lab's client namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../client/handshake_client.h"
#include "vpn/keyfile.h"
#include "vpn/proto.h"
#include "vpn/wg_cookie.h"

enum { BATCH = 64, REQ_MAX = (int)CONNECT_REQ_LEN > (int)WG_INIT_LEN ? (int)CONNECT_REQ_LEN : (int)WG_INIT_LEN };

static volatile sig_atomic_t stop;
static void on_stop(int sig) { (void)sig; stop = 1; }

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* n_req CONNECT_REQs of our protocol for user to the server key s_pub, one after another. */
static bool make_connect_reqs(uint8_t *reqs, int n_req, const uint8_t s_pub[KEY_LEN],
                              const char *user)
{
    /* A wrong token, so that each would fail only after the server's DH. */
    uint8_t token[TOKEN_LEN];
    randombytes_buf(token, sizeof(token));
    for (int i = 0; i < n_req; i++) {
        struct hs_client st;
        uint8_t e[KEY_LEN];
        randombytes_buf(e, sizeof(e));
        if (!hs_client_request(&st, e, s_pub, user, token, clock_realtime_ms() + (uint64_t)i,
                               reqs + (size_t)i * CONNECT_REQ_LEN))
            return false;
    }
    return true;
}

/* n_req WireGuard initiations to the public key pub: random fields, a correct mac1. */
static bool make_wg_initiations(uint8_t *reqs, int n_req, const uint8_t pub[WG_KEY_LEN])
{
    uint8_t key[WG_HASH_LEN];
    if (wg_blake2s_init() != 0 || !wg_mac1_key(key, pub))
        return false;
    for (int i = 0; i < n_req; i++) {
        uint8_t *m = reqs + (size_t)i * WG_INIT_LEN;
        randombytes_buf(m, WG_INIT_LEN);
        m[0] = WG_MSG_INITIATION;
        m[1] = m[2] = m[3] = 0;
        memset(m + WG_INIT_MAC2, 0, WG_MAC_LEN);
        if (!wg_mac(m + WG_INIT_MAC1, key, sizeof(key), m, WG_INIT_MAC1))
            return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    bool wireguard = argc > 1 && strcmp(argv[1], "--wireguard") == 0;
    if (wireguard) {
        argv++;
        argc--;
    }
    if (argc < 8) {
        fprintf(stderr, "usage: vpn-flood [--wireguard] TARGET_IPV4 PORT SERVER_KEY USER RATE SECONDS "
                        "SOURCE_NET [REQUESTS]\n");
        return 2;
    }
    struct in_addr target, net;
    uint8_t s_pub[KEY_LEN];
    char netbuf[32];
    snprintf(netbuf, sizeof(netbuf), "%s", argv[7]);
    char *slash = strchr(netbuf, '/');
    int prefix = slash ? atoi(slash + 1) : 32;
    if (slash)
        *slash = '\0';
    if (sodium_init() < 0 || inet_pton(AF_INET, argv[1], &target) != 1 ||
        inet_pton(AF_INET, netbuf, &net) != 1 || prefix < 8 || prefix > 32 ||
        keyfile_decode(argv[3], s_pub) != 0) {
        fprintf(stderr, "vpn-flood: bad arguments\n");
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[2]);
    double rate = atof(argv[5]), seconds = atof(argv[6]);
    int n_req = argc > 8 ? atoi(argv[8]) : 4096;
    if (n_req < 1)
        n_req = 1;
    uint32_t host_mask = prefix == 32 ? 0 : (1u << (32 - prefix)) - 1;

    size_t req_len = wireguard ? WG_INIT_LEN : CONNECT_REQ_LEN, pkt_len = 20 + 8 + req_len;
    uint8_t *reqs = malloc((size_t)n_req * req_len);
    if (!reqs)
        return 1;
    if (wireguard ? !make_wg_initiations(reqs, n_req, s_pub)
                  : !make_connect_reqs(reqs, n_req, s_pub, argv[4])) {
        fprintf(stderr, "vpn-flood: cannot build a request\n");
        return 1;
    }

    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        perror("vpn-flood: raw socket");
        return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    static uint8_t pkts[BATCH][20 + 8 + REQ_MAX];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr = target, .sin_port = htons(port) };
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){ .iov_base = pkts[i], .iov_len = pkt_len };
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_name = &dst;
        msgs[i].msg_hdr.msg_namelen = sizeof(dst);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        struct iphdr *ip = (struct iphdr *)pkts[i];
        ip->version = 4;
        ip->ihl = 5;
        ip->ttl = 64;
        ip->protocol = IPPROTO_UDP;
        ip->tot_len = htons((uint16_t)pkt_len);
        ip->daddr = target.s_addr;
        struct udphdr *udp = (struct udphdr *)(pkts[i] + 20);
        udp->dest = htons(port);
        udp->len = htons((uint16_t)(8 + req_len));
        udp->check = 0;     /* IPv4 allows none */
    }

    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), sent = 0, errors = 0;
    uint32_t next = 0, seed = randombytes_random();
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    while (!stop && now_ns() < end) {
        /* Pace: as many as are due by now, in batches. */
        uint64_t due = (uint64_t)((double)(now_ns() - start) * rate / 1e9);
        if (due <= sent) {
            struct timespec nap = { 0, 50000 };
            nanosleep(&nap, NULL);
            continue;
        }
        int n = due - sent > BATCH ? BATCH : (int)(due - sent);
        for (int i = 0; i < n; i++) {
            struct iphdr *ip = (struct iphdr *)pkts[i];
            struct udphdr *udp = (struct udphdr *)(pkts[i] + 20);
            seed = seed * 1103515245u + 12345u;
            ip->saddr = htonl((ntohl(net.s_addr) & ~host_mask) | ((seed >> 8) & host_mask));
            udp->source = htons((uint16_t)(1024 + (seed & 0x7fff)));
            ip->check = 0;
            memcpy(pkts[i] + 28, reqs + (size_t)(next++ % (uint32_t)n_req) * req_len, req_len);
        }
        int k = sendmmsg(fd, msgs, (unsigned)n, 0);
        if (k < 0) {
            errors++;
            if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
                perror("vpn-flood: send");
                return 1;
            }
            continue;
        }
        sent += (uint64_t)k;
    }
    double took = (double)(now_ns() - start) / 1e9;
    printf("sent %llu requests in %.2f s: %.0f per second (%llu send errors)\n",
           (unsigned long long)sent, took, (double)sent / took, (unsigned long long)errors);
    free(reqs);
    return 0;
}
