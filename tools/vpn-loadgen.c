/* vpn-loadgen: hundreds of simulated clients against a vpn-server, for the memory and
 * handshake benchmarks (REQUIREMENTS.md sections 7 and 9).
 *
 *   vpn-loadgen HOST PORT SERVER_KEY USER_PREFIX TOKEN_HEX COUNT [SECONDS]
 *
 * Simulated client i is user USER_PREFIX<i> (the users file must list them, all with
 * TOKEN_HEX) with its own UDP socket, so the server sees COUNT users and COUNT endpoints. Each
 * does a real handshake, then all send a PING every second for SECONDS (default 10) and a
 * DISCONNECT at the end. Prints the handshake rate and how many sessions came up; exits 0
 * only if all did. */
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../client/handshake_client.h"
#include "vpn/hex.h"
#include "vpn/keyfile.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

struct sim {
    int fd;
    struct hs_client hs;
    struct hs_config cfg;
    struct session_keys keys;
    uint64_t counter;
    bool up;
    char user[USERNAME_MAX + 1];
};

int main(int argc, char **argv)
{
    if (argc < 7 || sodium_init() < 0) {
        fprintf(stderr, "usage: vpn-loadgen HOST PORT SERVER_KEY USER_PREFIX TOKEN_HEX COUNT [SECONDS]\n"
                        "  users USER_PREFIX0 .. USER_PREFIX<COUNT-1>, all with TOKEN_HEX\n");
        return 2;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
    uint8_t s_pub[32], token[32];
    int count = atoi(argv[6]), secs = argc > 7 ? atoi(argv[7]) : 10;
    if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0 || keyfile_decode(argv[3], s_pub) != 0 ||
        hex_decode(argv[5], token, sizeof(token)) != 0 ||
        count < 1 || count > 4096) {
        fprintf(stderr, "vpn-loadgen: bad arguments\n");
        return 2;
    }
    struct sim *sims = calloc((size_t)count, sizeof(*sims));
    struct pollfd *pfd = calloc((size_t)count, sizeof(*pfd));
    if (!sims || !pfd)
        return 1;
    uint64_t t0 = clock_monotonic_ms();
    int up = 0;
    for (int i = 0; i < count; i++) {
        struct sim *s = &sims[i];
        snprintf(s->user, sizeof(s->user), "%s%d", argv[4], i);
        s->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s->fd < 0 || connect(s->fd, res->ai_addr, res->ai_addrlen) != 0) {
            perror("vpn-loadgen: socket");
            return 1;
        }
        uint8_t e[32], req[CONNECT_REQ_LEN];
        randombytes_buf(e, sizeof(e));
        hs_client_request(&s->hs, e, s_pub, s->user, token, clock_realtime_ms(), req);
        sodium_memzero(e, sizeof(e));
        for (int attempt = 0; attempt < 3 && !s->up; attempt++) {
            if (send(s->fd, req, sizeof(req), 0) < 0)
                break;
            struct pollfd p = { .fd = s->fd, .events = POLLIN };
            uint8_t resp[512];
            if (poll(&p, 1, 1000) <= 0)
                continue;
            ssize_t n = recv(s->fd, resp, sizeof(resp), 0);
            if (n > 0 && hs_client_response(&s->hs, resp, (size_t)n, token, &s->cfg, &s->keys) ==
                             HSC_ACCEPTED) {
                s->up = true;
                up++;
            } else if (n > 0) {
                break;  /* refused: counted as not up */
            }
        }
        hs_client_wipe(&s->hs);
        pfd[i].fd = s->fd;
        pfd[i].events = POLLIN;
    }
    uint64_t t1 = clock_monotonic_ms();
    printf("handshakes %d of %d in %.2f s (%.0f per second)\n", up, count,
           (double)(t1 - t0) / 1000.0, up * 1000.0 / (double)(t1 - t0 + 1));
    printf("sessions up %d\n", up);
    fflush(stdout);
    uint8_t dg[128];
    for (int t = 0; t < secs; t++) {
        for (int i = 0; i < count; i++) {
            struct sim *s = &sims[i];
            if (!s->up)
                continue;
            size_t n = transport_seal(dg, MSG_PING, s->keys.k_c2s, s->cfg.session_id,
                                      s->counter++, clock_realtime_ms(), NULL, 0);
            send(s->fd, dg, n, 0);
        }
        /* Drain PONGs so the sockets' buffers never fill. */
        uint64_t until = clock_monotonic_ms() + 1000;
        while (clock_monotonic_ms() < until) {
            if (poll(pfd, (nfds_t)count, 100) <= 0)
                continue;
            for (int i = 0; i < count; i++)
                if (pfd[i].revents & POLLIN)
                    while (recv(pfd[i].fd, dg, sizeof(dg), MSG_DONTWAIT) > 0)
                        ;
        }
    }
    uint8_t reason = 0;
    for (int i = 0; i < count; i++) {
        struct sim *s = &sims[i];
        if (s->up) {
            size_t n = transport_seal(dg, MSG_DISCONNECT, s->keys.k_c2s, s->cfg.session_id,
                                      s->counter++, clock_realtime_ms(), &reason, 1);
            send(s->fd, dg, n, 0);
        }
        sodium_memzero(&s->keys, sizeof(s->keys));
        close(s->fd);
    }
    free(sims);
    free(pfd);
    return up == count ? 0 : 1;
}
