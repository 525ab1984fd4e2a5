/* vpn-probe: a test client speaking PROTOCOL.md with the project's own client code, for the
 * integration tests. It does what a real client never would, so the tests can check the
 * server's answers:
 *
 *   vpn-probe HOST PORT SERVER_KEY USER TOKEN_HEX attacks
 *       handshake, one good ping to 192.168.100.10 through the tunnel (expects the reply),
 *       then the same datagram replayed, a tampered one, a stale one, one with a spoofed inner
 *       source, and a second good ping; prints "good_replies N" (expect 2)
 *   vpn-probe HOST PORT SERVER_KEY USER TOKEN_HEX keys SECONDS
 *       handshake, prints "k_c2s HEX" and "k_s2c HEX", keeps the session alive with PINGs for
 *       SECONDS (so a memory scan can look for the keys), then DISCONNECT
 *   vpn-probe HOST PORT SERVER_KEY USER TOKEN_HEX handshake
 *       prints "status N" (0 = accepted) and "window N" (offset 28 of the config, which the
 *       probe, like a client before extension 1's WINDOW flag, does not ask for) and exits
 *   vpn-probe HOST PORT SERVER_KEY USER TOKEN_HEX rekey
 *       two handshakes as the same user (a rekey); prints how pings on the old and the new
 *       session are answered at once and after the 10 s overlap
 *   vpn-probe HOST PORT SERVER_KEY USER TOKEN_HEX idle SECONDS
 *       handshake, silence for SECONDS, then a ping: prints "after_idle_replies N"
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../client/handshake_client.h"
#include "vpn/hex.h"
#include "vpn/keyfile.h"
#include "vpn/offload.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

static int fd;
static struct hs_config cfg;
static struct session_keys keys;
static uint64_t counter;
static int64_t offset;

/* A whole session, so that the rekey mode can keep the old one and use either. */
struct probe_session {
    struct hs_config cfg;
    struct session_keys keys;
    uint64_t counter;
};

static void save(struct probe_session *p)
{
    p->cfg = cfg;
    p->keys = keys;
    p->counter = counter;
}

static void use(const struct probe_session *p)
{
    cfg = p->cfg;
    keys = p->keys;
    counter = p->counter;
}

static uint64_t server_now(void) { return (uint64_t)((int64_t)clock_realtime_ms() + offset); }

static ssize_t recv_timeout(uint8_t *buf, size_t len, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, ms) <= 0)
        return -1;
    return recv(fd, buf, len, 0);
}

static int handshake(const uint8_t s_pub[32], const char *user, const uint8_t token[32])
{
    struct hs_client st;
    uint8_t e[32], req[CONNECT_REQ_LEN], resp[512];
    randombytes_buf(e, sizeof(e));
    static uint64_t last_ts;
    uint64_t t0 = clock_realtime_ms();
    if (t0 <= last_ts)
        t0 = last_ts + 1;   /* a user's request timestamps strictly increase */
    last_ts = t0;
    if (!hs_client_request(&st, e, s_pub, user, token, t0, req))
        return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        send(fd, req, sizeof(req), 0);
        ssize_t n = recv_timeout(resp, sizeof(resp), 1000);
        if (n <= 0)
            continue;
        enum hs_client_verdict v = hs_client_response(&st, resp, (size_t)n, token, &cfg, &keys);
        if (v == HSC_REJECTED)
            return cfg.status;
        if (v == HSC_ACCEPTED) {
            offset = (int64_t)get_be64(resp + 8) - (int64_t)((t0 + clock_realtime_ms()) / 2);
            return 0;
        }
    }
    return -2;
}

/* An ICMP echo request from src to 192.168.100.10. */
static size_t echo_request(uint8_t *pkt, uint32_t src, uint16_t seq)
{
    size_t len = 20 + 8 + 32;
    memset(pkt, 0, len);
    pkt[0] = 0x45;
    put_be16(pkt + 2, (uint16_t)len);
    pkt[8] = 64;
    pkt[9] = 1;
    put_be32(pkt + 12, src);
    put_be32(pkt + 16, 0xc0a8640a);
    put_be16(pkt + 10, offload_inet_checksum(pkt, 20));
    uint8_t *icmp = pkt + 20;
    icmp[0] = 8;
    put_be16(icmp + 4, 0x5650);
    put_be16(icmp + 6, seq);
    for (int i = 0; i < 32; i++)
        icmp[8 + i] = (uint8_t)i;
    put_be16(icmp + 2, offload_inet_checksum(icmp, 8 + 32));
    return len;
}

static size_t seal(uint8_t *out, uint8_t type, const uint8_t *pt, size_t len, uint64_t ts)
{
    return transport_seal(out, type, keys.k_c2s, cfg.session_id, counter++, ts, pt, len);
}

/* Counts echo replies among what arrives within ms. */
static int count_replies(int ms)
{
    uint8_t buf[2048], pt[2048];
    int replies = 0;
    uint64_t end = clock_monotonic_ms() + (uint64_t)ms;
    while (clock_monotonic_ms() < end) {
        ssize_t n = recv_timeout(buf, sizeof(buf), 50);
        struct vpn_hdr h;
        if (n <= 0 || proto_hdr_parse(buf, (size_t)n, &h) != HDR_OK || h.type != MSG_DATA)
            continue;
        if (transport_open(pt, buf, (size_t)n, keys.k_s2c) && pt[9] == 1 && pt[20] == 0)
            replies++;
    }
    return replies;
}

/* Sends one echo request on the session in use; counts replies (under any of our keys). */
static int ping_once(uint16_t seq, const struct probe_session *a, const struct probe_session *b)
{
    uint8_t pkt[128], dg[256], buf[2048], pt[2048];
    size_t len = echo_request(pkt, cfg.client_ip, seq);
    size_t n = seal(dg, MSG_DATA, pkt, len, server_now());
    send(fd, dg, n, 0);
    int replies = 0;
    uint64_t end = clock_monotonic_ms() + 600;
    while (clock_monotonic_ms() < end) {
        ssize_t r = recv_timeout(buf, sizeof(buf), 50);
        struct vpn_hdr h;
        if (r <= 0 || proto_hdr_parse(buf, (size_t)r, &h) != HDR_OK || h.type != MSG_DATA)
            continue;
        const struct probe_session *both[2] = { a, b };
        for (int k = 0; k < 2; k++)
            if (both[k] && get_be32(buf + HDR_LEN) == both[k]->cfg.session_id &&
                transport_open(pt, buf, (size_t)r, both[k]->keys.k_s2c) && pt[20] == 0) {
                replies++;
                printf("reply_on %s\n", k == 0 ? "old" : "new");
            }
    }
    return replies;
}

static void hex(const char *name, const uint8_t *k)
{
    char out[65];
    sodium_bin2hex(out, sizeof(out), k, 32);
    printf("%s %s\n", name, out);
}

int main(int argc, char **argv)
{
    if (argc < 7 || sodium_init() < 0) {
        fprintf(stderr, "usage: vpn-probe HOST PORT SERVER_KEY USER TOKEN_HEX attacks|keys S|handshake\n");
        return 2;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;
    uint8_t s_pub[32], token[32];
    if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0 || keyfile_decode(argv[3], s_pub) != 0 ||
        hex_decode(argv[5], token, sizeof(token)) != 0)
        return 2;
    fd = socket(res->ai_family, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        return 2;
    int st = handshake(s_pub, argv[4], token);
    if (strcmp(argv[6], "handshake") == 0) {
        printf("status %d\nwindow %u\n", st, cfg.replay_window_ms);
        return 0;
    }
    if (st != 0) {
        fprintf(stderr, "vpn-probe: handshake failed (%d)\n", st);
        return 1;
    }
    uint8_t pkt[128], dg[256], bad[256];
    if (strcmp(argv[6], "attacks") == 0) {
        int good = 0;
        size_t len = echo_request(pkt, cfg.client_ip, 1);
        size_t n = seal(dg, MSG_DATA, pkt, len, server_now());
        send(fd, dg, n, 0);
        good += count_replies(500);
        send(fd, dg, n, 0);                                 /* replay */
        memcpy(bad, dg, n);
        len = echo_request(pkt, cfg.client_ip, 2);
        n = seal(bad, MSG_DATA, pkt, len, server_now());
        bad[n - 5] ^= 0x40;                                 /* tampered ciphertext */
        send(fd, bad, n, 0);
        len = echo_request(pkt, cfg.client_ip, 3);
        n = seal(bad, MSG_DATA, pkt, len, server_now() - 60000);   /* stale */
        send(fd, bad, n, 0);
        len = echo_request(pkt, cfg.client_ip + 1, 4);      /* spoofed inner source */
        n = seal(bad, MSG_DATA, pkt, len, server_now());
        send(fd, bad, n, 0);
        good += count_replies(500);                         /* expect none of the above */
        len = echo_request(pkt, cfg.client_ip, 5);
        n = seal(dg, MSG_DATA, pkt, len, server_now());
        send(fd, dg, n, 0);
        good += count_replies(500);
        printf("good_replies %d\n", good);
    } else if (strcmp(argv[6], "rekey") == 0) {
        struct probe_session old_s, new_s;
        save(&old_s);
        if (handshake(s_pub, argv[4], token) != 0) {
            fprintf(stderr, "vpn-probe: second handshake failed\n");
            return 1;
        }
        save(&new_s);
        use(&old_s);
        printf("old_now %d\n", ping_once(10, &old_s, &new_s));
        save(&old_s);
        use(&new_s);
        printf("new_now %d\n", ping_once(11, &old_s, &new_s));
        save(&new_s);
        fflush(stdout);
        for (int i = 0; i < 11; i++) {     /* keep the new session alive meanwhile */
            uint8_t ka[64];
            size_t kn = seal(ka, MSG_PING, NULL, 0, server_now());
            send(fd, ka, kn, 0);
            sleep(1);
        }
        save(&new_s);
        use(&old_s);
        printf("old_after_overlap %d\n", ping_once(12, &old_s, &new_s));
        save(&old_s);
        use(&new_s);
        printf("new_after_overlap %d\n", ping_once(13, &old_s, &new_s));
    } else if (strcmp(argv[6], "idle") == 0 && argc > 7) {
        sleep((unsigned)atoi(argv[7]));
        printf("after_idle_replies %d\n", ping_once(20, NULL, NULL));
        (void)pkt;
        (void)bad;
    } else if (strcmp(argv[6], "keys") == 0 && argc > 7) {
        hex("k_c2s", keys.k_c2s);
        hex("k_s2c", keys.k_s2c);
        printf("session %08x\n", cfg.session_id);
        fflush(stdout);
        int secs = atoi(argv[7]);
        for (int i = 0; i < secs; i++) {
            size_t n = seal(dg, MSG_PING, NULL, 0, server_now());
            send(fd, dg, n, 0);
            sleep(1);
        }
    }
    uint8_t reason = 0;
    size_t n = seal(dg, MSG_DISCONNECT, &reason, 1, server_now());
    send(fd, dg, n, 0);
    sodium_memzero(&keys, sizeof(keys));
    return 0;
}
