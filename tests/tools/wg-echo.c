/* wg-echo: a WireGuard responder for one peer, made of the enclave's own WireGuard modules
 * (enclave/wg_noise.c, wg_transport.c), that answers ICMP echo requests through the tunnel.
 * It lets test_wireguard_noise.sh check the handshake and transport against a real WireGuard
 * implementation (wireguard-go) before the server carries them: what the peer accepts is what
 * the whitepaper says, not only what our Python vectors say. Not a server: one peer, one
 * session at a time, no timers.
 *
 *   wg-echo [--always-busy] PORT PRIVATE_KEY_B64 PEER_PUBLIC_KEY_B64 [PSK_B64]
 *
 * --always-busy puts the main process's guard (core/server/wg_guard.c) in front, told that the
 * server is always under load: an initiation gets a cookie reply until it carries mac2 made
 * with that cookie from the same address and port.
 *
 * Prints one line per event: "handshake N", "cookie N", "refused guard", "refused
 * unknown-peer", "refused replay", "refused mac1", "echo N", "keepalive", "dropped auth",
 * "dropped index". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../../core/server/wg_guard.h"
#include "../../enclave/wg_noise.h"
#include "../../enclave/wg_transport.h"
#include "vpn/keyfile.h"
#include "vpn/replay.h"
#include "vpn/wg_blake2s.h"

#include "icmp_echo.h"

struct session {
    bool up;
    uint32_t our_index, peer_index;
    struct wg_keypair keys;
    uint64_t send_counter;
    struct replay_window rx;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The guard's view of an IPv4 source: v4-mapped, as the server's dual-stack socket gives it. */
static struct sockaddr_in6 v4_mapped(const struct sockaddr_in *from)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = from->sin_port;
    a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a.sin6_addr.s6_addr[12], &from->sin_addr, 4);
    return a;
}

/* --always-busy: the guard decides first. true when the initiation goes on to the handshake. */
static bool guard_passes(struct wg_guard *guard, int fd, const uint8_t *msg,
                         const struct sockaddr_in *from)
{
    static unsigned cookies;
    uint8_t reply[WG_COOKIE_REPLY_LEN];
    size_t len = 0;
    struct sockaddr_in6 src = v4_mapped(from);
    switch (wg_guard_check(guard, msg, &src, true, now_ms(), reply, &len)) {
    case WG_GUARD_PASS:
        return true;
    case WG_GUARD_COOKIE:
        sendto(fd, reply, len, 0, (const struct sockaddr *)from, sizeof(*from));
        printf("cookie %u\n", ++cookies);
        return false;
    default:
        printf("refused guard\n");
        return false;
    }
}

int main(int argc, char **argv)
{
    struct wg_identity id;
    uint8_t priv[WG_KEY_LEN], peer[WG_KEY_LEN], psk[WG_KEY_LEN] = { 0 };
    uint8_t last_ts[WG_TAI64N_LEN] = { 0 };
    struct session s = { 0 };
    unsigned handshakes = 0, echoes = 0;

    struct wg_guard guard;
    bool always_busy = argc > 1 && strcmp(argv[1], "--always-busy") == 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (always_busy) {
        argc--;
        argv++;
    }
    if (argc < 4 || argc > 5 || sodium_init() < 0 || wg_blake2s_init() != 0 ||
        keyfile_decode(argv[2], priv) != 0 || keyfile_decode(argv[3], peer) != 0 ||
        (argc == 5 && keyfile_decode(argv[4], psk) != 0) || !wg_identity_init(&id, priv) ||
        (always_busy && wg_guard_init(&guard, id.pub, now_ms()) != 0)) {
        fprintf(stderr, "usage: wg-echo [--always-busy] PORT PRIVATE_KEY_B64 "
                        "PEER_PUBLIC_KEY_B64 [PSK_B64]\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("wg-echo: bind");
        return 1;
    }
    for (;;) {
        uint8_t msg[2048], pt[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            continue;
        switch (wg_classify(msg, (unsigned)n)) {
        case WG_MSG_INITIATION: {
            struct wg_initiation in;
            uint8_t e_priv[WG_KEY_LEN], resp[WG_RESP_LEN];
            if (always_busy && !guard_passes(&guard, fd, msg, &from))
                break;
            enum wg_init_verdict v = wg_noise_consume_initiation(&id, msg, &in);
            if (v != WG_INIT_OK) {
                printf("refused %s\n", v == WG_INIT_BAD_MAC1 ? "mac1" : "initiation");
                break;
            }
            if (sodium_memcmp(in.peer_static, peer, WG_KEY_LEN) != 0) {
                printf("refused unknown-peer\n");
                wg_initiation_wipe(&in);
                break;
            }
            if (!wg_tai64n_after(in.timestamp, last_ts)) {
                printf("refused replay\n");
                wg_initiation_wipe(&in);
                break;
            }
            memcpy(last_ts, in.timestamp, WG_TAI64N_LEN);
            randombytes_buf(e_priv, sizeof(e_priv));
            s.our_index = randombytes_random();
            s.peer_index = in.sender;
            bool ok = wg_noise_create_response(&in, psk, e_priv, s.our_index, resp, &s.keys);
            sodium_memzero(e_priv, sizeof(e_priv));
            if (!ok)
                break;
            s.up = true;
            s.send_counter = 0;
            replay_init(&s.rx);
            sendto(fd, resp, sizeof(resp), 0, (struct sockaddr *)&from, fl);
            printf("handshake %u\n", ++handshakes);
            break;
        }
        case WG_MSG_TRANSPORT: {
            if (!s.up || wg_get_le32(msg + WG_DATA_RECEIVER) != s.our_index) {
                printf("dropped index\n");
                break;
            }
            uint64_t counter = wg_get_le64(msg + WG_DATA_COUNTER);
            if (!replay_check(&s.rx, counter))
                break;
            size_t sealed = (size_t)n - WG_DATA_HEADER_LEN;
            if (!wg_transport_open(pt, msg, msg + WG_DATA_HEADER_LEN, sealed, s.keys.recv)) {
                printf("dropped auth\n");
                break;
            }
            replay_mark(&s.rx, counter);
            size_t len = sealed - WG_TAG_LEN;
            if (len == 0) {
                printf("keepalive\n");
                break;
            }
            if (!make_echo_reply(pt, &len))
                break;
            size_t out = wg_transport_seal(msg, s.peer_index, s.send_counter++, s.keys.send, pt,
                                           len, 1420);
            sendto(fd, msg, out, 0, (struct sockaddr *)&from, fl);
            printf("echo %u\n", ++echoes);
            break;
        }
        default:
            break;
        }
    }
}
