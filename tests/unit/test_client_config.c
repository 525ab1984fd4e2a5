/* client.conf: the brief's example, the keys the product adds, and every refusal, which must
 * name file, line and key and never quote the token. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/client_config.h"
#include "vpn/log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char dir[PATH_MAX];
static struct client_config cfg;

static void make_dir(void)
{
    test_tmpdir_make(dir, "test_client_config");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(client_config, .init = make_dir, .fini = remove_dir);

static const char *in_dir(const char *name)
{
    static char p[PATH_MAX];
    cr_assert_lt(snprintf(p, sizeof(p), "%s/%s", dir, name), (int)sizeof(p));
    return p;
}

/* Writes client.conf with mode 0600, as the file holding a token must have. */
static const char *put(const char *text)
{
    const char *p = in_dir("client.conf");
    FILE *f = fopen(p, "w");
    cr_assert(f, "%s: %s", p, strerror(errno));
    cr_assert_eq(fchmod(fileno(f), 0600), 0);
    fputs(text, f);
    fclose(f);
    return p;
}

static int load(const char *text, struct config_error *err)
{
    memset(err, 0, sizeof(*err));
    return client_config_load(put(text), &cfg, err);
}

/* sha256("user1:password"), as `echo -n user1:password | sha256sum` prints it */
#define TOKEN "95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f576"

Test(client_config, token_constant_is_what_the_brief_computes)
{
    uint8_t h[32], t[32];
    crypto_hash_sha256(h, (const uint8_t *)"user1:password", 14);
    cr_assert_eq(sodium_hex2bin(t, 32, TOKEN, 64, NULL, NULL, NULL), 0);
    cr_expect(memcmp(h, t, 32) == 0);
}

Test(client_config, brief_example_as_written_is_refused_for_its_placeholder)
{
    struct config_error err;
    const char *brief =
        "[client]\n"
        "server_ip = 192.168.1.100\n"
        "server_port = 51820\n"
        "username = user1\n"
        "auth_token = your_token_here\n"
        "\n"
        "[network]\n"
        "tun_device = tun0\n";

    cr_assert_eq(load(brief, &err), -1);
    cr_expect(strstr(err.msg, "client.conf:5: [client] auth_token: expected 64 hex"), "%s",
              err.msg);
    cr_expect(!strstr(err.msg, "your_token_here"), "the token value was quoted: %s", err.msg);
}

Test(client_config, brief_example_with_a_real_token)
{
    struct config_error err;
    uint8_t want[32];
    const char *brief =
        "[client]\n"
        "server_ip = 192.168.1.100\n"
        "server_port = 51820\n"
        "username = user1\n"
        "auth_token = " TOKEN "\n"
        "\n"
        "[network]\n"
        "tun_device = tun0\n";

    cr_assert_eq(load(brief, &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.path, in_dir("client.conf"));
    cr_expect_str_eq(cfg.server_ip, "192.168.1.100");
    cr_expect_eq(cfg.server_port, 51820);
    cr_expect_str_eq(cfg.username, "user1");
    crypto_hash_sha256(want, (const uint8_t *)"user1:password", 14);
    cr_expect(memcmp(cfg.auth_token, want, 32) == 0);
    cr_expect(!cfg.have_server_key);
    cr_expect_str_eq(cfg.known_servers_file, "/var/lib/vpn-client/known_servers");
    cr_expect_str_eq(cfg.control_socket, "/run/vpn-client.sock");
    cr_expect_str_eq(cfg.tun_device, "tun0");
    cr_expect_eq(cfg.log_level, LOG_INFO);
    cr_expect_str_eq(cfg.log_file, "");
    cr_expect(cfg.pull_routes, "pushed routes are installed by default");
    cr_expect_eq(cfg.n_allowed_routes, 0, "no allowlist by default");
    cr_expect(cfg.pull_dns, "pushed resolvers are used by default");
    cr_expect(!cfg.kill_switch, "no kill switch by default");
    cr_expect_eq(cfg.route_table, 51830);
    cr_expect_str_eq(cfg.state_dir, "/var/lib/vpn-client");
    cr_expect_str_eq(cfg.user, "nobody");
    cr_expect_eq(cfg.uid, 65534);
}

Test(client_config, every_key_given)
{
    struct config_error err;
    uint8_t key[32];
    char b64[64], text[2048], upper[65];

    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
    cr_assert_eq(strlen(b64), 44);
    for (int i = 0; i < 64; i++)
        upper[i] = (char)(TOKEN[i] >= 'a' ? TOKEN[i] - 32 : TOKEN[i]);
    upper[64] = '\0';
    snprintf(text, sizeof(text),
             "[client]\n"
             "server_ip = vpn.example.org\n"
             "server_port = 443\n"
             "username = j\xc3\xb6rg m\xc3\xbcller\n"
             "auth_token = %s\n"
             "server_public_key = %s\n"
             "known_servers_file = state/known\n"
             "control_socket = /run/user/1000/vpn.sock\n"
             "user = root\n"
             "state_dir = state\n"
             "[network]\n"
             "tun_device = vpn1\n"
             "pull_routes = no\n"
             "allowed_routes = 192.168.100.0/24 ,10.0.0.0/8,\t172.16.5.128/25\n"
             "pull_dns = off\n"
             "kill_switch = yes\n"
             "route_table = 4242\n"
             "[logging]\n"
             "level = ERROR\n"
             "file = client.log\n", upper, b64);

    cr_assert_eq(load(text, &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.server_ip, "vpn.example.org");
    cr_expect_eq(cfg.server_port, 443);
    cr_expect_str_eq(cfg.username, "j\xc3\xb6rg m\xc3\xbcller");
    uint8_t want[32];
    crypto_hash_sha256(want, (const uint8_t *)"user1:password", 14);
    cr_expect(memcmp(cfg.auth_token, want, 32) == 0, "upper-case hex decodes the same");
    cr_expect(cfg.have_server_key);
    cr_expect(memcmp(cfg.server_public_key, key, 32) == 0);
    cr_expect_str_eq(cfg.known_servers_file, in_dir("state/known"));
    cr_expect_str_eq(cfg.control_socket, "/run/user/1000/vpn.sock");
    cr_expect_str_eq(cfg.user, "root");
    cr_expect_eq(cfg.uid, 0);
    cr_expect_eq(cfg.gid, 0);
    cr_expect_str_eq(cfg.tun_device, "vpn1");
    cr_expect(!cfg.pull_routes);
    cr_assert_eq(cfg.n_allowed_routes, 3);
    cr_expect(cfg.allowed_routes[0].addr == 0xc0a86400 && cfg.allowed_routes[0].prefix == 24);
    cr_expect(cfg.allowed_routes[1].addr == 0x0a000000 && cfg.allowed_routes[1].prefix == 8);
    cr_expect(cfg.allowed_routes[2].addr == 0xac100580 && cfg.allowed_routes[2].prefix == 25);
    cr_expect(!cfg.pull_dns);
    cr_expect(cfg.kill_switch);
    cr_expect_eq(cfg.route_table, 4242);
    cr_expect_str_eq(cfg.state_dir, in_dir("state"));
    cr_expect_eq(cfg.log_level, LOG_ERROR);
    cr_expect_str_eq(cfg.log_file, in_dir("client.log"));
}

Test(client_config, server_addresses_and_usernames_that_are_fine)
{
    static const char *const servers[] = { "10.0.0.1", "2001:db8::1", "fe80::1%eth0",
                                           "vpn.example.org", "localhost" };
    static const char *const users[] = {
        "a", "user.name-1_x", "Alice Smith", "\xe6\x97\xa5\xe6\x9c\xac",     /* 日本 */
        "\xf0\x9f\x94\x91",                                             /* U+1F511 */
        "123456789012345678901234567890123456789012345678901234567890123",  /* 63 bytes */
    };
    struct config_error err;
    char text[1024];

    for (unsigned i = 0; i < N(servers); i++) {
        snprintf(text, sizeof(text), "[client]\nserver_ip = %s\nusername = u\nauth_token = "
                 TOKEN "\n", servers[i]);
        cr_expect_eq(load(text, &err), 0, "%s: %s", servers[i], err.msg);
        cr_expect_str_eq(cfg.server_ip, servers[i]);
    }
    for (unsigned i = 0; i < N(users); i++) {
        snprintf(text, sizeof(text), "[client]\nserver_ip = 10.0.0.1\nusername = %s\n"
                 "auth_token = " TOKEN "\n", users[i]);
        cr_expect_eq(load(text, &err), 0, "%s: %s", users[i], err.msg);
        cr_expect_str_eq(cfg.username, users[i]);
    }
}

#define HEAD "[client]\nserver_ip = 10.0.0.1\nusername = user1\n"     /* lines 1-3 */
#define GOOD HEAD "auth_token = " TOKEN "\n"                            /* lines 1-4 */

static const struct {
    const char *text;
    int line;
    const char *key;
    const char *what;
} bad[] = {
    /* structure */
    { GOOD "[server]\n", 5, "[server]", "unknown section" },
    { GOOD "password = x\n", 5, "[client] password", "unknown key" },
    { GOOD "[network]\nserver_port = 1\n", 6, "[network] server_port", "unknown key" },
    { GOOD "username = other\n", 5, "[client] username", "duplicate key (first at line 3)" },
    { GOOD "[client]\n", 5, "[client]", "section repeated (first at line 1)" },
    { "server_ip = 10.0.0.1\n" GOOD, 1, "server_ip", "outside any [section]" },
    { "[client]\nusername = user1\nauth_token = " TOKEN "\n", 1, "[client] server_ip",
      "required key is missing" },
    { "[client]\nserver_ip = 10.0.0.1\nauth_token = " TOKEN "\n", 1, "[client] username",
      "required key is missing" },
    { "\n[client]\nserver_ip = 10.0.0.1\nusername = u\n", 2, "[client] auth_token",
      "required key is missing" },
    { "[network]\ntun_device = tun0\n", 0, "[client] server_ip", "required key is missing" },
    { "", 0, "[client] server_ip", "required key is missing" },
    /* [client] values */
    { "[client]\nserver_ip =\n", 2, "[client] server_ip", "empty value" },
    { "[client]\nserver_ip = 10.0.0.1 backup\n", 2, "[client] server_ip", "without blanks" },
    { "[client]\nserver_ip = "
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
      2, "[client] server_ip", "at most 255" },
    { GOOD "server_port = 0\n", 5, "[client] server_port", "from 1 to 65535" },
    { GOOD "server_port = 65536\n", 5, "[client] server_port", "from 1 to 65535" },
    { GOOD "server_port = http\n", 5, "[client] server_port", "got \"http\"" },
    { "[client]\nusername =\n", 2, "[client] username", "empty value" },
    { "[client]\nusername = 1234567890123456789012345678901234567890123456789012345678901234\n",
      2, "[client] username", "1 to 63 bytes" },
    { "[client]\nusername = bad\xff\n", 2, "[client] username", "UTF-8" },
    { "[client]\nusername = \xc0\xaf\n", 2, "[client] username", "UTF-8" },          /* overlong */
    { "[client]\nusername = \xed\xa0\x80\n", 2, "[client] username", "UTF-8" },      /* surrogate */
    { "[client]\nusername = a\xc2\x85z\n", 2, "[client] username", "control characters" },
    { "[client]\nusername = \xe6\x97\n", 2, "[client] username", "UTF-8" },          /* cut short */
    { "[client]\nusername = a\x1b[31m\n", 2, "[client]", "control character" },
    { "[client]\nusername = a:b\n", 2, "[client] username", "contains ':'" },
    { "[client]\nusername = a]b\n", 2, "[client] username", "'[' or ']'" },
    { HEAD "auth_token =\n", 4, "[client] auth_token", "empty value" },
    { HEAD "auth_token = 95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f57\n", 4,
      "[client] auth_token", "expected 64 hex characters" },
    { HEAD "auth_token = 95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f5760\n", 4,
      "[client] auth_token", "expected 64 hex characters" },
    { HEAD "auth_token = 95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f57g\n", 4,
      "[client] auth_token", "expected 64 hex characters" },
    { HEAD "auth_token = 95084e631279d67f381a94fa5df50939 57fc61cf3147565523be8296fa31f576\n", 4,
      "[client] auth_token", "expected 64 hex characters" },
    { GOOD "server_public_key =\n", 5, "[client] server_public_key",
      "remove the line to pin the server's key on first use" },
    { GOOD "server_public_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 5,
      "[client] server_public_key", "base64 key of 44 characters" },        /* 43, no '=' */
    { GOOD "server_public_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", 5,
      "[client] server_public_key", "base64 key" },                         /* 31 bytes */
    { GOOD "server_public_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=\n", 5,
      "[client] server_public_key", "base64 key" },                         /* bad char */
    { GOOD "server_public_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=AAAA\n", 5,
      "[client] server_public_key", "base64 key" },                         /* junk after */
    { GOOD "known_servers_file =\n", 5, "[client] known_servers_file", "empty value" },
    { GOOD "control_socket = /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", 5,
      "[client] control_socket", "limit of a Unix socket" },
    /* [network], [logging] */
    { GOOD "[network]\ntun_device = tun0:1\n", 6, "[network] tun_device", "interface name" },
    { GOOD "[network]\ntun_device =\n", 6, "[network] tun_device", "empty value" },
    { GOOD "[logging]\nlevel = verbose\n", 6, "[logging] level", "expected DEBUG, INFO" },
    /* what the client accepts of the server's pushed configuration */
    { GOOD "[network]\npull_routes = maybe\n", 6, "[network] pull_routes",
      "expected true or false (yes/no, on/off, 1/0), got \"maybe\"" },
    { GOOD "[network]\npull_routes =\n", 6, "[network] pull_routes", "empty value" },
    { GOOD "[network]\naccept_routes =\n", 6, "[network] accept_routes",
      "remove the line to accept any pushed route" },
    { GOOD "[network]\nallowed_routes = 10.0.0.0/8\naccept_routes = 10.0.0.0/8\n", 7,
      "[network] accept_routes", "allowed_routes is given too; accept_routes is its older "
      "name" },
    { GOOD "[network]\nallowed_routes = 10.0.0.1/8\n", 6, "[network] allowed_routes",
      "got \"10.0.0.1/8\"" },
    { GOOD "[network]\nkill_switch = always\n", 6, "[network] kill_switch",
      "expected true or false" },
    { GOOD "[network]\npull_dns = 1.1.1.1\n", 6, "[network] pull_dns", "expected true or false" },
    { GOOD "[network]\nroute_table = 254\n", 6, "[network] route_table",
      "a routing table number from 256 to 2147483647 (not the kernel's main" },
    { GOOD "[network]\nroute_table = main\n", 6, "[network] route_table",
      "a routing table number" },
    { GOOD "[network]\naccept_routes = 10.0.0.1/8\n", 6, "[network] accept_routes",
      "got \"10.0.0.1/8\"" },                                      /* host bits set */
    { GOOD "[network]\naccept_routes = 10.0.0.0/33\n", 6, "[network] accept_routes",
      "networks like 192.168.100.0/24" },
    { GOOD "[network]\naccept_routes = 10.0.0.0\n", 6, "[network] accept_routes",
      "got \"10.0.0.0\"" },                                        /* no prefix */
    { GOOD "[network]\naccept_routes = 10.0.0.0/8, vpn.example.org/24\n", 6,
      "[network] accept_routes", "got \"vpn.example.org/24\"" },
    { GOOD "[network]\naccept_routes = 10.0.0.0/8,,10.1.0.0/16\n", 6,
      "[network] accept_routes", "got \"\"" },                     /* empty item */
    { GOOD "[network]\naccept_routes = 10.0.0.0/8,\n", 6, "[network] accept_routes",
      "got \"\"" },                                                /* trailing comma */
    { GOOD "[network]\naccept_routes = 10.1.0.0/16, 10.2.0.0/16, 10.3.0.0/16, 10.4.0.0/16, "
      "10.5.0.0/16, 10.6.0.0/16, 10.7.0.0/16, 10.8.0.0/16, 10.9.0.0/16, 10.10.0.0/16, "
      "10.11.0.0/16, 10.12.0.0/16, 10.13.0.0/16, 10.14.0.0/16, 10.15.0.0/16, 10.16.0.0/16, "
      "10.17.0.0/16\n", 6, "[network] accept_routes", "at most 16 networks" },
    { GOOD "user = no-such-user-here\n", 5, "[client] user",
      "expected the name of a user of this system, got \"no-such-user-here\"" },
    { GOOD "user = root admin\n", 5, "[client] user", "a user of this system" },
    { GOOD "user =\n", 5, "[client] user", "empty value" },
};

Test(client_config, every_refusal_names_file_line_and_key)
{
    for (unsigned i = 0; i < N(bad); i++) {
        struct config_error err;
        char where[PATH_MAX + 32];

        cr_expect_eq(load(bad[i].text, &err), -1, "case %u accepted", i);
        snprintf(where, sizeof(where), "%s:%d: ", in_dir("client.conf"), bad[i].line);
        cr_expect(strncmp(err.msg, where, strlen(where)) == 0, "case %u: want \"%s\" in: %s", i,
                  where, err.msg);
        cr_expect(strstr(err.msg, bad[i].key), "case %u: want \"%s\" in: %s", i, bad[i].key,
                  err.msg);
        cr_expect(strstr(err.msg, bad[i].what), "case %u: want \"%s\" in: %s", i, bad[i].what,
                  err.msg);
        cr_expect(!strstr(err.msg, "95084e63"), "case %u quoted the token: %s", i, err.msg);
    }
}

Test(client_config, token_erased_when_a_later_line_fails)
{
    struct config_error err;
    static const uint8_t zero[TOKEN_LEN];

    cr_assert_eq(load(GOOD "server_port = 0\n", &err), -1);
    cr_expect(memcmp(cfg.auth_token, zero, TOKEN_LEN) == 0);
}

Test(client_config, missing_file)
{
    struct config_error err;

    cr_assert_eq(client_config_load(in_dir("nope.conf"), &cfg, &err), -1);
    cr_expect(strstr(err.msg, in_dir("nope.conf")) && strstr(err.msg, ":0: ") &&
              strstr(err.msg, "No such file or directory"), "%s", err.msg);
}

/* The file holds the token: refused, with a chmod 600 hint, unless only its owner (root or
 * us) can read and write it; never through a symbolic link. */
static void expect_refused(const char *path, const char *what)
{
    struct config_error err;
    char where[PATH_MAX + 32];

    memset(&err, 0, sizeof(err));
    cr_expect_eq(client_config_load(path, &cfg, &err), -1, "%s: accepted", what);
    snprintf(where, sizeof(where), "%s:0: ", path);
    cr_expect(strncmp(err.msg, where, strlen(where)) == 0, "%s: want \"%s\" in: %s", what, where,
              err.msg);
    cr_expect(strstr(err.msg, "auth_token"), "%s: should say why: %s", what, err.msg);
    cr_expect(!strstr(err.msg, "95084e63"), "%s: quoted the token: %s", what, err.msg);
    static const uint8_t zero[TOKEN_LEN];
    cr_expect(memcmp(cfg.auth_token, zero, TOKEN_LEN) == 0, "%s: token left in memory", what);
}

Test(client_config, file_readable_or_writable_by_others_is_refused)
{
    static const struct {
        mode_t mode;
        const char *says;
    } modes[] = {
        { 0644, "readable by group or others (mode 0644)" },
        { 0640, "readable by group or others (mode 0640)" },
        { 0604, "readable by group or others (mode 0604)" },
        { 0660, "readable by group or others (mode 0660)" },
        { 0620, "writable by group or others (mode 0620)" },
        { 0602, "writable by group or others (mode 0602)" },
        { 0610, "by group or others (mode 0610)" },
        { 0666, "readable by group or others (mode 0666)" },
    };
    const char *p = put(GOOD);
    for (unsigned i = 0; i < N(modes); i++) {
        struct config_error err;
        char what[32];
        cr_assert_eq(chmod(p, modes[i].mode), 0);
        snprintf(what, sizeof(what), "mode %04o", (unsigned)modes[i].mode);
        expect_refused(p, what);
        memset(&err, 0, sizeof(err));
        cr_expect_eq(client_config_load(p, &cfg, &err), -1);
        cr_expect(strstr(err.msg, modes[i].says), "%s: want \"%s\" in: %s", what, modes[i].says,
                  err.msg);
        cr_expect(strstr(err.msg, "chmod 600 ") && strstr(err.msg, p), "%s: no hint: %s", what,
                  err.msg);
    }
    static const mode_t fine[] = { 0600, 0400, 0200 };
    for (unsigned i = 0; i < N(fine); i++) {
        struct config_error err;
        cr_assert_eq(chmod(p, fine[i]), 0);
        cr_expect_eq(client_config_load(p, &cfg, &err), 0, "mode %04o: %s", (unsigned)fine[i],
                     err.msg);
    }
}

Test(client_config, symbolic_link_is_refused)
{
    char real[PATH_MAX], link[PATH_MAX];
    struct config_error err;

    snprintf(real, sizeof(real), "%s", put(GOOD));
    snprintf(link, sizeof(link), "%s", in_dir("link.conf"));
    cr_assert_eq(symlink(real, link), 0, "%s", strerror(errno));
    expect_refused(link, "symlink");
    memset(&err, 0, sizeof(err));
    cr_expect_eq(client_config_load(link, &cfg, &err), -1);
    cr_expect(strstr(err.msg, "symbolic link"), "%s", err.msg);
    cr_expect_eq(client_config_load(real, &cfg, &err), 0, "the file itself is fine: %s", err.msg);
}

Test(client_config, file_owned_by_someone_else_is_refused)
{
    struct config_error err;
    const char *p = put(GOOD);

    if (geteuid() != 0)
        cr_skip_test("needs root to give the file away");
    cr_assert_eq(chown(p, 65534, 65534), 0, "%s", strerror(errno));
    expect_refused(p, "owned by 65534");
    memset(&err, 0, sizeof(err));
    cr_expect_eq(client_config_load(p, &cfg, &err), -1);
    cr_expect(strstr(err.msg, "owned by uid 65534"), "%s", err.msg);
    cr_expect(strstr(err.msg, "chmod 600"), "%s", err.msg);
    cr_assert_eq(chown(p, 0, 0), 0);
    cr_expect_eq(client_config_load(p, &cfg, &err), 0, "owned by root: %s", err.msg);
}

Test(client_config, not_a_regular_file)
{
    struct config_error err;

    cr_expect_eq(client_config_load(dir, &cfg, &err), -1);
    cr_expect(strstr(err.msg, "not a regular file"), "%s", err.msg);
}
