/* vpn-fake-server: a server that answers every CONNECT_REQ of one user with a session
 * configuration of the test's choosing, including ones the real vpn-server's configuration
 * checks would never let it send (a /0 tunnel, MTU 65535, a loopback client address), so that
 * the integration tests can see what vpn-client does with them. It speaks only the handshake
 * (the project's own enclave code builds the answers); transport packets are ignored.
 *
 *   vpn-fake-server ADDRESS PORT USER TOKEN_HEX [FIELD=VALUE...]
 *       FIELD: prefix, mtu, client, server (dotted quads), routes (a.b.c.d/p,...),
 *       window (ms, told to a request with extension 1's WINDOW flag, default 5000),
 *       flags (0: behave as a server before the WINDOW flag and drop any request with a flag;
 *       1: a server before extension 4, which knows WINDOW only),
 *       dns (a.b.c.d,... resolvers), search (a search list, names separated by commas), both
 *       told to a request with extension 4's DNS flag
 *       Defaults: what conf/server.conf pushes (10.8.0.10/24, server 10.8.0.1, MTU 1400,
 *       route 192.168.100.0/24). Prints "pubkey BASE64", then "answered N" per response and
 *       "dropped N" per request dropped for its flags.
 */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../enclave/handshake_server.h"
#include "../../enclave/users.h"
#include "vpn/hex.h"
#include "vpn/keyfile.h"
#include "vpn/netaddr.h"
#include "vpn/proto.h"

static struct user_table users;
static uint32_t window_ms = REPLAY_WINDOW_MS_DEFAULT;
static uint8_t known_flags = REQ_FLAGS_KNOWN;

static int set_field(struct hs_config *c, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return -1;
    const char *v = eq + 1;
    size_t n = (size_t)(eq - arg);
    uint32_t ip;
    if (strncmp(arg, "prefix", n) == 0 && n == 6) {
        c->prefix_len = (uint8_t)atoi(v);
    } else if (strncmp(arg, "mtu", n) == 0 && n == 3) {
        c->mtu = (uint16_t)atoi(v);
    } else if (strncmp(arg, "client", n) == 0 && n == 6 && parse_ipv4(v, &ip) == 0) {
        c->client_ip = ip;
    } else if (strncmp(arg, "server", n) == 0 && n == 6 && parse_ipv4(v, &ip) == 0) {
        c->server_ip = ip;
    } else if (strncmp(arg, "window", n) == 0 && n == 6) {
        window_ms = (uint32_t)strtoul(v, NULL, 10);
    } else if (strncmp(arg, "flags", n) == 0 && n == 5) {
        known_flags = (uint8_t)strtoul(v, NULL, 0);
    } else if (strncmp(arg, "dns", n) == 0 && n == 3) {
        c->dns_count = 0;
        for (const char *p = v; *p && c->dns_count < DNS_SERVERS_MAX; p += strcspn(p, ",")) {
            char one[16];
            p += *p == ',';
            snprintf(one, sizeof(one), "%.*s", (int)strcspn(p, ","), p);
            if (parse_ipv4(one, &ip) != 0)
                return -1;
            c->dns[c->dns_count++] = ip;
        }
    } else if (strncmp(arg, "search", n) == 0 && n == 6) {
        snprintf(c->dns_search, sizeof(c->dns_search), "%s", v);
        for (char *p = c->dns_search; *p; p++)
            *p = *p == ',' ? ' ' : *p;
    } else if (strncmp(arg, "routes", n) == 0 && n == 6) {
        struct ipv4_net nets[MAX_ROUTES];
        char bad[64];
        int k = *v ? parse_ipv4_net_list(v, nets, MAX_ROUTES, bad, sizeof(bad)) : 0;
        if (k < 0)
            return -1;
        c->route_count = (uint8_t)k;
        for (int i = 0; i < k; i++) {
            c->routes[i].net = nets[i].addr;
            c->routes[i].prefix = nets[i].prefix;
        }
    } else {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct hs_config config = {
        .prefix_len = 24, .mtu = 1400, .client_ip = 0x0a08000a, .server_ip = 0x0a080001,
        .keepalive_s = 25, .route_count = 1, .idle_timeout_s = 3600, .rekey_s = 600,
        .routes = { { 0xc0a86400, 24 } },
    };
    if (argc < 5 || sodium_init() < 0) {
        fprintf(stderr, "usage: vpn-fake-server ADDRESS PORT USER TOKEN_HEX [FIELD=VALUE...]\n");
        return 2;
    }
    users.count = 1;
    snprintf(users.users[0].name, sizeof(users.users[0].name), "%s", argv[3]);
    if (hex_decode(argv[4], users.users[0].token, TOKEN_LEN) != 0)
        return 2;
    for (int i = 5; i < argc; i++)
        if (set_field(&config, argv[i]) != 0) {
            fprintf(stderr, "vpn-fake-server: bad field '%s'\n", argv[i]);
            return 2;
        }

    uint8_t s_priv[KEY_LEN], s_pub[KEY_LEN];
    char b64[KEYFILE_B64_LEN + 1];
    randombytes_buf(s_priv, sizeof(s_priv));
    crypto_scalarmult_base(s_pub, s_priv);
    keyfile_encode(s_pub, b64);
    printf("pubkey %s\n", b64);
    fflush(stdout);

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("vpn-fake-server: bind");
        return 1;
    }
    for (unsigned answered = 0, dropped = 0, id = 1;;) {
        uint8_t req[2048], resp[CONNECT_RESP_MAX], e_priv[KEY_LEN];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(fd, req, sizeof(req), 0, (struct sockaddr *)&from, &from_len);
        struct hs_request r;
        if (n <= 0 || req[0] != MSG_CONNECT_REQ)
            continue;
        if (n == CONNECT_REQ_LEN && (req[HDR_LEN + REQ_EXT_FLAGS_OFF] & ~known_flags)) {
            printf("dropped %u\n", ++dropped);     /* as an older server's padding check */
            fflush(stdout);
            continue;
        }
        if (hs_server_open(s_priv, s_pub, req, (size_t)n, &users, &r) != HS_AUTHENTICATED)
            continue;
        struct session_keys keys;
        config.session_id = id++;
        config.replay_window_ms = (r.flags & REQ_FLAG_WINDOW) ? window_ms : 0;
        config.dns_block = r.flags & REQ_FLAG_DNS;
        randombytes_buf(e_priv, sizeof(e_priv));
        size_t len = hs_server_accept(&r, users.users[0].token, e_priv, &config,
                                      clock_realtime_ms(), resp, &keys);
        hs_request_wipe(&r);
        if (len && sendto(fd, resp, len, 0, (struct sockaddr *)&from, from_len) == (ssize_t)len)
            printf("answered %u\n", ++answered);
        fflush(stdout);
    }
}
