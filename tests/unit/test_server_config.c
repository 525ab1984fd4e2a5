/* server.conf and qos_classes.conf: the brief's examples load as written, and every kind of
 * mistake is refused with "FILE:LINE: [section] key: ..." pointing at the right line.
 * Each test writes its files into its own mkdtemp directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/log.h"
#include "vpn/server_config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char dir[PATH_MAX];
static struct server_config cfg;    /* ~100 KB: keep it off the test's stack */

static void make_dir(void)
{
    test_tmpdir_make(dir, "test_server_config");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(server_config, .init = make_dir, .fini = remove_dir);

/* Writes dir/name (name may be NULL-text: then the file is removed); returns the full path. */
static const char *put(const char *name, const char *text)
{
    static char paths[4][PATH_MAX];
    static int next;
    char *p = paths[next++ % 4];

    cr_assert_lt(snprintf(p, PATH_MAX, "%s/%s", dir, name), PATH_MAX);
    if (!text) {
        unlink(p);
        return p;
    }
    FILE *f = fopen(p, "w");
    cr_assert(f, "%s: %s", p, strerror(errno));
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *in_dir(const char *name)
{
    static char p[PATH_MAX];
    cr_assert_lt(snprintf(p, sizeof(p), "%s/%s", dir, name), (int)sizeof(p));
    return p;
}

/* ---- the brief's examples (SEED.md), verbatim ---------------------------------------- */

static const char brief_server_conf[] =
    "[server]\n"
    "listen_port = 51820\n"
    "tun_device = tun0\n"
    "tun_ip = 10.8.0.1\n"
    "tun_netmask = 24\n"
    "\n"
    "[network]\n"
    "client_ip_pool_start = 10.8.0.10\n"
    "client_ip_pool_end = 10.8.0.254\n"
    "\n"
    "[qos]\n"
    "enabled = true\n"
    "total_bandwidth = 50Mbps\n"
    "default_class = 1:20\n"
    "default_rate = 3Mbps\n"
    "default_ceil = 6Mbps\n"
    "\n"
    "[security]\n"
    "enclave_socket = /tmp/vpn_enclave.sock\n"
    "max_clients = 200\n"
    "session_timeout = 3600\n"
    "\n"
    "[logging]\n"
    "level = INFO\n"
    "file = /var/log/vpn-server.log\n";

static const char brief_classes_conf[] =
    "[class:vip]\n"
    "classid = 1:10\n"
    "rate = 5Mbps\n"
    "ceil = 10Mbps\n"
    "priority = 1\n"
    "\n"
    "[class:normal]\n"
    "classid = 1:20\n"
    "rate = 3Mbps\n"
    "ceil = 6Mbps\n"
    "priority = 2\n"
    "\n"
    "[class:guest]\n"
    "classid = 1:30\n"
    "rate = 2Mbps\n"
    "ceil = 4Mbps\n"
    "priority = 3\n"
    "\n"
    "[user:alice]\n"
    "vpn_ip = 10.8.0.10\n"
    "class = vip\n"
    "\n"
    "[user:bob]\n"
    "vpn_ip = 10.8.0.20\n"
    "class = normal\n"
    "\n"
    "[user:guest1]\n"
    "vpn_ip = 10.8.0.100\n"
    "class = guest\n";

static int load(const char *path, struct config_error *err)
{
    memset(err, 0, sizeof(*err));
    return server_config_load(path, &cfg, err);
}

Test(server_config, brief_server_conf_alone)
{
    struct config_error err;
    const char *path = put("server.conf", brief_server_conf);

    cr_assert_eq(load(path, &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.path, path);
    cr_expect_eq(cfg.listen_port, 51820);
    cr_expect_str_eq(cfg.listen_address, "::");
    cr_expect_str_eq(cfg.tun_device, "tun0");
    cr_expect_eq(cfg.tun_ip, 0x0a080001);
    cr_expect_eq(cfg.tun_prefix, 24);
    cr_expect_eq(cfg.mtu, MTU_DEFAULT);
    cr_expect_eq(cfg.pool_start, 0x0a08000a);
    cr_expect_eq(cfg.pool_end, 0x0a0800fe);
    cr_expect_eq(cfg.n_push_routes, 0);
    cr_expect_str_eq(cfg.nat_interface, "");
    cr_expect(cfg.qos_enabled);
    cr_expect_eq(cfg.total_bandwidth_bps, 50000000);
    cr_expect_eq(cfg.default_major, 1);
    cr_expect_eq(cfg.default_minor, 0x20);
    cr_expect_eq(cfg.default_rate_bps, 3000000);
    cr_expect_eq(cfg.default_ceil_bps, 6000000);
    cr_expect_str_eq(cfg.classes_file, "");     /* none beside server.conf */
    cr_expect_eq(cfg.n_classes, 0);
    cr_expect_eq(cfg.n_users, 0);
    cr_expect(cfg.enclave_socket_given);
    cr_expect_eq(cfg.max_clients, 200);
    cr_expect_eq(cfg.session_timeout_s, 3600);
    cr_expect_str_eq(cfg.private_key_file, in_dir("server.key"));
    cr_expect_str_eq(cfg.users_file, in_dir("users.conf"));
    cr_expect_str_eq(cfg.control_socket, "/run/vpnse/server.sock");
    cr_expect_str_eq(cfg.user, "vpnse");
    cr_expect_eq(cfg.replay_window_ms, 5000);
    cr_expect_eq(cfg.keepalive_s, 25);
    cr_expect_eq(cfg.rekey_interval_s, 600);
    cr_expect_eq(cfg.log_level, LOG_INFO);
    cr_expect_str_eq(cfg.log_file, "/var/log/vpn-server.log");
}

Test(server_config, brief_server_conf_with_brief_classes_beside)
{
    struct config_error err;
    const char *path = put("server.conf", brief_server_conf);
    put("qos_classes.conf", brief_classes_conf);

    cr_assert_eq(load(path, &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.classes_file, in_dir("qos_classes.conf"));
    cr_assert_eq(cfg.n_classes, 3);
    cr_assert_eq(cfg.n_users, 3);

    static const struct {
        const char *name;
        uint16_t minor;
        uint64_t rate, ceil;
        int prio;
    } want[] = {
        { "vip", 0x10, 5000000, 10000000, 1 },
        { "normal", 0x20, 3000000, 6000000, 2 },
        { "guest", 0x30, 2000000, 4000000, 3 },
    };
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(cfg.classes[i].name, want[i].name);
        cr_expect_eq(cfg.classes[i].major, 1);
        cr_expect_eq(cfg.classes[i].minor, want[i].minor);
        cr_expect_eq(cfg.classes[i].rate_bps, want[i].rate);
        cr_expect_eq(cfg.classes[i].ceil_bps, want[i].ceil);
        cr_expect_eq(cfg.classes[i].priority, want[i].prio);
    }
    cr_expect_str_eq(cfg.users[0].name, "alice");
    cr_expect_eq(cfg.users[0].class_index, 0);
    cr_expect_str_eq(cfg.users[1].name, "bob");
    cr_expect_eq(cfg.users[1].class_index, 1);
    cr_expect_str_eq(cfg.users[2].name, "guest1");
    cr_expect_eq(cfg.users[2].class_index, 2);

    cr_expect_eq(server_config_user_ip(&cfg, "alice"), 0x0a08000a);
    cr_expect_eq(server_config_user_ip(&cfg, "bob"), 0x0a080014);
    cr_expect_eq(server_config_user_ip(&cfg, "guest1"), 0x0a080064);
    cr_expect_eq(server_config_user_ip(&cfg, "mallory"), 0);
    cr_expect_eq(server_config_user_ip(&cfg, "alic"), 0);
    cr_expect_eq(server_config_user_ip(&cfg, ""), 0);
}

Test(server_config, minimal_file_gets_every_default)
{
    struct config_error err;
    const char *path = put("server.conf",
                           "[server]\ntun_ip = 10.8.0.1\n"
                           "[network]\nclient_ip_pool_start = 10.8.0.10\n"
                           "client_ip_pool_end = 10.8.0.20\n");

    cr_assert_eq(load(path, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.listen_port, 51820);
    cr_expect_str_eq(cfg.listen_address, "::");
    cr_expect_str_eq(cfg.tun_device, "tun0");
    cr_expect_eq(cfg.tun_prefix, 24);
    cr_expect_eq(cfg.mtu, 1400);
    cr_expect(!cfg.qos_enabled);
    cr_expect_eq(cfg.default_minor, 0x20);
    cr_expect_eq(cfg.default_rate_bps, 3000000);
    cr_expect_eq(cfg.default_ceil_bps, 6000000);
    cr_expect(!cfg.enclave_socket_given);
    cr_expect_eq(cfg.max_clients, 200);
    cr_expect_eq(cfg.session_timeout_s, 3600);
    cr_expect_str_eq(cfg.private_key_file, in_dir("server.key"));
    cr_expect_str_eq(cfg.users_file, in_dir("users.conf"));
    cr_expect_str_eq(cfg.control_socket, "/run/vpnse/server.sock");
    cr_expect_str_eq(cfg.user, "vpnse", "the main process never stays root by default");
    cr_expect_eq(cfg.replay_window_ms, 5000);
    cr_expect_eq(cfg.keepalive_s, 25);
    cr_expect_eq(cfg.rekey_interval_s, 600);
    cr_expect_eq(cfg.log_level, LOG_INFO);
    cr_expect_str_eq(cfg.log_file, "");
}

Test(server_config, every_key_given)
{
    struct config_error err;
    mkdir(in_dir("sub"), 0700);
    put("sub/classes.conf", "[class:a]\nclassid = 1:ab\nrate = 1Mbps\nceil = 2Mbps\n"
                            "[user:u]\nvpn_ip = 10.8.200.1\nclass = a\n");
    put("qos_classes.conf", "this file must not be read\n");
    const char *path = put("server.conf",
        "[server]\n"
        "listen_port = 443\n"
        "listen_address = 0.0.0.0\n"
        "tun_device = vpn-0\n"
        "tun_ip = 10.8.0.1\n"
        "tun_netmask = 255.255.0.0\n"
        "mtu = 1280\n"
        "[network]\n"
        "client_ip_pool_start = 10.8.1.1\n"
        "client_ip_pool_end = 10.8.1.254\n"
        "push_routes = 192.168.100.0/24, 10.0.0.0/8,172.16.0.0/12\n"
        "nat_interface = eth0\n"
        "dns = 10.8.0.1 , 9.9.9.9\n"
        "dns_search = home.lan,corp.example\n"
        "[qos]\n"
        "enabled = yes\n"
        "total_bandwidth = 1Gbps\n"
        "default_class = 1:FFFF\n"
        "default_rate = 500kbit\n"
        "default_ceil = 2.5Mbps\n"
        "classes_file = sub/classes.conf\n"
        "[security]\n"
        "max_clients = 2048\n"
        "session_timeout = 600\n"
        "private_key_file = /etc/vpn/server.key\n"
        "users_file = secrets/users.conf\n"
        "control_socket = run/ctl.sock\n"
        "user = vpn\n"
        "replay_window_ms = 100\n"
        "keepalive = 10\n"
        "rekey_interval = 86400\n"
        "[logging]\n"
        "level = debug\n"
        "file =\n");

    cr_assert_eq(load(path, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.listen_port, 443);
    cr_expect_str_eq(cfg.listen_address, "0.0.0.0");
    cr_expect_str_eq(cfg.tun_device, "vpn-0");
    cr_expect_eq(cfg.tun_prefix, 16);
    cr_expect_eq(cfg.mtu, 1280);
    cr_expect_eq(cfg.pool_start, 0x0a080101);
    cr_assert_eq(cfg.n_push_routes, 3);
    cr_expect_eq(cfg.push_routes[0].addr, 0xc0a86400);
    cr_expect_eq(cfg.push_routes[0].prefix, 24);
    cr_expect_eq(cfg.push_routes[1].addr, 0x0a000000);
    cr_expect_eq(cfg.push_routes[1].prefix, 8);
    cr_expect_eq(cfg.push_routes[2].prefix, 12);
    cr_expect_str_eq(cfg.nat_interface, "eth0");
    cr_assert_eq(cfg.n_dns, 2);
    cr_expect_eq(cfg.dns[0], 0x0a080001);
    cr_expect_eq(cfg.dns[1], 0x09090909);
    cr_expect_str_eq(cfg.dns_search, "home.lan corp.example", "the wire form: one space");
    cr_expect(cfg.qos_enabled);
    cr_expect_eq(cfg.total_bandwidth_bps, 1000000000);
    cr_expect_eq(cfg.default_minor, 0xffff);
    cr_expect_eq(cfg.default_rate_bps, 500000);
    cr_expect_eq(cfg.default_ceil_bps, 2500000);
    cr_expect_str_eq(cfg.classes_file, in_dir("sub/classes.conf"));
    cr_assert_eq(cfg.n_classes, 1);
    cr_expect_eq(cfg.classes[0].minor, 0xab);
    cr_expect_eq(cfg.classes[0].priority, 0);       /* tc's default when not given */
    /* a fixed address may lie outside the dynamic pool, as long as it is in the tunnel */
    cr_expect_eq(server_config_user_ip(&cfg, "u"), 0x0a08c801);
    cr_expect_eq(cfg.max_clients, 2048);
    cr_expect_eq(cfg.session_timeout_s, 600);
    cr_expect_str_eq(cfg.private_key_file, "/etc/vpn/server.key");
    cr_expect_str_eq(cfg.users_file, in_dir("secrets/users.conf"));
    cr_expect_str_eq(cfg.control_socket, in_dir("run/ctl.sock"));
    cr_expect_str_eq(cfg.user, "vpn");
    cr_expect_eq(cfg.replay_window_ms, 100);
    cr_expect_eq(cfg.keepalive_s, 10);
    cr_expect_eq(cfg.rekey_interval_s, 86400);
    cr_expect_eq(cfg.log_level, LOG_DEBUG);
    cr_expect_str_eq(cfg.log_file, "");
}

#define SERVER "[server]\ntun_ip = 10.8.0.1\n"     /* lines 1-2 */
#define NETWORK "[network]\nclient_ip_pool_start = 10.8.0.10\nclient_ip_pool_end = 10.8.0.254\n"
#define MIN SERVER NETWORK                          /* lines 1-5 */
/* lines 6-8; leaves room for the classes file's 5 + 3 + 2 Mbps guarantees and more */
#define QOS_ON "[qos]\nenabled = true\ntotal_bandwidth = 50Mbps\n"

Test(server_config, small_things_that_are_fine)
{
    static const char *const good[] = {
        MIN "push_routes =\n",                              /* no routes */
        MIN "push_routes = 0.0.0.0/0\n",                    /* full tunnel */
        MIN "push_routes = 1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,"
            "7.0.0.0/8,8.0.0.0/8,9.0.0.0/8,10.0.0.0/8,11.0.0.0/8,12.0.0.0/8,13.0.0.0/8,"
            "14.0.0.0/8,15.0.0.0/8,16.0.0.0/8\n",           /* exactly MAX_ROUTES */
        MIN "nat_interface =\n",
        MIN "dns = 10.8.0.1\n",
        MIN "dns = 1.1.1.1,8.8.8.8, 9.9.9.9\n",            /* exactly DNS_SERVERS_MAX */
        MIN "dns_search = home.lan\n",                     /* a search list without resolvers */
        MIN "dns_search = a.b, c_d, e-f.g, h, i, j\n",      /* six names */
        MIN "[security]\nenclave_socket =\n",
        MIN "[security]\nuser = root\n",                  /* the explicit opt-out */
        "[server]\ntun_ip = 10.8.0.1\ntun_netmask = 30\n"
            "[network]\nclient_ip_pool_start = 10.8.0.2\nclient_ip_pool_end = 10.8.0.2\n",
        "[server]\ntun_ip = 10.0.0.1\ntun_netmask = 255.0.0.0\n"
            "[network]\nclient_ip_pool_start = 10.0.0.2\nclient_ip_pool_end = 10.255.255.254\n",
        "[server]\ntun_ip = 10.8.0.254\n"                   /* server above the pool */
            "[network]\nclient_ip_pool_start = 10.8.0.1\nclient_ip_pool_end = 10.8.0.253\n",
        "\xef\xbb\xbf" MIN,                                /* BOM, CRLF below */
        "[server]\r\ntun_ip = 10.8.0.1\r\n[network]\r\nclient_ip_pool_start = 10.8.0.10\r\n"
            "client_ip_pool_end = 10.8.0.254\r\n",
        MIN "# only a comment\n; and another\n",
        MIN "[qos]\ndefault_rate = 6Mbps\n",                /* rate == ceil */
        MIN "[qos]\nenabled = false\ndefault_ceil = 1Gbps\n",   /* no total needed when off */
        MIN "[logging]\nlevel = warning\nfile = vpn.log\n",
        MIN "[security]\nenclave_socket = /tmp/vpn_enclave.sock\n",
    };
    struct config_error err;
    for (unsigned i = 0; i < N(good); i++) {
        const char *path = put("server.conf", good[i]);
        cr_expect_eq(load(path, &err), 0, "case %u: %s", i, err.msg);
    }
    put("server.conf", MIN "[logging]\nfile = vpn.log\n");
    cr_assert_eq(load(in_dir("server.conf"), &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.log_file, in_dir("vpn.log"));
}

/* One mistake per entry: the text of server.conf, of qos_classes.conf beside it (NULL: none),
 * and where the message must point. */
struct bad_case {
    const char *conf;
    const char *classes;
    const char *file;       /* which file the message names */
    int line;
    const char *key;        /* "[section] key" as the message must show it */
    const char *what;
};

static void run_bad(const struct bad_case *cases, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct bad_case *c = &cases[i];
        struct config_error err;
        char where[PATH_MAX + 32];
        const char *path = put("server.conf", c->conf);
        put("qos_classes.conf", c->classes);

        cr_expect_eq(load(path, &err), -1, "case %u accepted", i);
        snprintf(where, sizeof(where), "%s:%d: ", c->file[0] == '/' ? c->file : in_dir(c->file),
                 c->line);
        cr_expect(strncmp(err.msg, where, strlen(where)) == 0, "case %u: want \"%s\" in: %s", i,
                  where, err.msg);
        cr_expect(strstr(err.msg, c->key), "case %u: want \"%s\" in: %s", i, c->key, err.msg);
        cr_expect(strstr(err.msg, c->what), "case %u: want \"%s\" in: %s", i, c->what, err.msg);
        cr_expect(!strchr(err.msg, '\n'), "case %u: more than one line", i);
    }
}

Test(server_config, structure_errors)
{
    static const struct bad_case cases[] = {
        { MIN "[extra]\n", NULL, "server.conf", 6, "[extra]", "unknown section" },
        { MIN "[Server]\n", NULL, "server.conf", 6, "[Server]", "unknown section" },
        { MIN "[security]\nfoo = 1\n", NULL, "server.conf", 7, "[security] foo", "unknown key" },
        { MIN "mtu = 1400\n", NULL, "server.conf", 6, "[network] mtu", "unknown key" },
        { MIN "client_ip_pool_end = 10.8.0.200\n", NULL, "server.conf", 6,
          "[network] client_ip_pool_end", "duplicate key (first at line 5)" },
        { MIN "[server]\n", NULL, "server.conf", 6, "[server]",
          "section repeated (first at line 1)" },
        { "x = 1\n" MIN, NULL, "server.conf", 1, "x", "outside any [section]" },
        { "[server]\n[network]\nclient_ip_pool_start = 10.8.0.10\nclient_ip_pool_end = "
          "10.8.0.254\n", NULL, "server.conf", 1, "[server] tun_ip", "required key is missing" },
        { SERVER, NULL, "server.conf", 0, "[network] client_ip_pool_start",
          "required key is missing" },
        { SERVER "[network]\nclient_ip_pool_start = 10.8.0.10\n", NULL, "server.conf", 3,
          "[network] client_ip_pool_end", "required key is missing" },
        { "[server]\ntun_ip =\n" NETWORK, NULL, "server.conf", 2, "[server] tun_ip",
          "empty value" },
        { MIN "[security]\nprivate_key_file =\n", NULL, "server.conf", 7,
          "[security] private_key_file", "empty value" },
        { MIN "[qos]\ntotal_bandwidth =\n", NULL, "server.conf", 7, "[qos] total_bandwidth",
          "empty value" },
        { MIN "just a line\n", NULL, "server.conf", 6, "[network]", "expected \"key = value\"" },
        { MIN "[qos\n", NULL, "server.conf", 6, "", "section header" },
    };
    run_bad(cases, N(cases));
}

Test(server_config, server_section_errors)
{
    static const struct bad_case cases[] = {
        { SERVER "listen_port = 0\n" NETWORK, NULL, "server.conf", 3, "[server] listen_port",
          "from 1 to 65535" },
        { SERVER "listen_port = 65536\n" NETWORK, NULL, "server.conf", 3,
          "[server] listen_port", "from 1 to 65535" },
        { SERVER "listen_port = -1\n" NETWORK, NULL, "server.conf", 3, "[server] listen_port",
          "got \"-1\"" },
        { SERVER "listen_port = 51820x\n" NETWORK, NULL, "server.conf", 3,
          "[server] listen_port", "whole number" },
        { SERVER "listen_address = vpn.example.com\n" NETWORK, NULL, "server.conf", 3,
          "[server] listen_address", "numeric IPv4 or IPv6" },
        { SERVER "listen_address = [::]\n" NETWORK, NULL, "server.conf", 3,
          "[server] listen_address", "numeric IPv4 or IPv6" },
        { SERVER "tun_device = abcdefghijklmnop\n" NETWORK, NULL, "server.conf", 3,
          "[server] tun_device", "interface name of 1 to 15" },
        { SERVER "tun_device = tun 0\n" NETWORK, NULL, "server.conf", 3, "[server] tun_device",
          "interface name" },
        { SERVER "tun_device = ../x\n" NETWORK, NULL, "server.conf", 3, "[server] tun_device",
          "interface name" },
        { "[server]\ntun_ip = 10.8.0\n" NETWORK, NULL, "server.conf", 2, "[server] tun_ip",
          "dotted IPv4" },
        { "[server]\ntun_ip = 10.8.0.0\n" NETWORK, NULL, "server.conf", 2, "[server] tun_ip",
          "network address" },
        { "[server]\ntun_ip = 10.8.0.255\n" NETWORK, NULL, "server.conf", 2, "[server] tun_ip",
          "broadcast address" },
        { SERVER "tun_netmask = 31\n" NETWORK, NULL, "server.conf", 3, "[server] tun_netmask",
          "prefix length from 1 to 30" },
        { SERVER "tun_netmask = 0\n" NETWORK, NULL, "server.conf", 3, "[server] tun_netmask",
          "prefix length" },
        { SERVER "tun_netmask = /24\n" NETWORK, NULL, "server.conf", 3, "[server] tun_netmask",
          "prefix length" },
        { SERVER "tun_netmask = 255.0.255.0\n" NETWORK, NULL, "server.conf", 3,
          "[server] tun_netmask", "contiguous" },
        { SERVER "tun_netmask = 255.255.255.254\n" NETWORK, NULL, "server.conf", 3,
          "[server] tun_netmask", "contiguous" },
        { SERVER "tun_netmask = 0.0.0.0\n" NETWORK, NULL, "server.conf", 3,
          "[server] tun_netmask", "dotted mask" },
        { SERVER "mtu = 575\n" NETWORK, NULL, "server.conf", 3, "[server] mtu",
          "from 576 to 1500" },
        { SERVER "mtu = 1501\n" NETWORK, NULL, "server.conf", 3, "[server] mtu",
          "from 576 to 1500" },
    };
    run_bad(cases, N(cases));
}

Test(server_config, network_section_errors)
{
    static const struct bad_case cases[] = {
        { SERVER "[network]\nclient_ip_pool_start = 10.9.0.10\nclient_ip_pool_end = 10.8.0.20\n",
          NULL, "server.conf", 4, "[network] client_ip_pool_start",
          "10.9.0.10 is outside the tunnel network 10.8.0.0/24" },
        { SERVER "[network]\nclient_ip_pool_start = 10.8.0.10\nclient_ip_pool_end = 10.8.1.20\n",
          NULL, "server.conf", 5, "[network] client_ip_pool_end", "outside the tunnel network" },
        { SERVER "[network]\nclient_ip_pool_start = 10.8.0.0\nclient_ip_pool_end = 10.8.0.20\n",
          NULL, "server.conf", 4, "[network] client_ip_pool_start", "network address" },
        { SERVER "[network]\nclient_ip_pool_start = 10.8.0.2\nclient_ip_pool_end = 10.8.0.255\n",
          NULL, "server.conf", 5, "[network] client_ip_pool_end", "broadcast address" },
        { SERVER "[network]\nclient_ip_pool_start = 10.8.0.200\nclient_ip_pool_end = 10.8.0.100\n",
          NULL, "server.conf", 5, "[network] client_ip_pool_end",
          "10.8.0.100 is below client_ip_pool_start 10.8.0.200" },
        { "[server]\ntun_ip = 10.8.0.50\n" NETWORK, NULL, "server.conf", 4,
          "[network] client_ip_pool_start", "contains the server's own tun_ip 10.8.0.50" },
        { "[server]\ntun_ip = 10.8.0.10\n" NETWORK, NULL, "server.conf", 4,
          "[network] client_ip_pool_start", "own tun_ip" },
        { SERVER "[network]\nclient_ip_pool_start = 10.8.0.256\nclient_ip_pool_end = 10.8.0.2\n",
          NULL, "server.conf", 4, "[network] client_ip_pool_start", "dotted IPv4" },
        { "[server]\ntun_ip = 10.8.0.1\ntun_netmask = 255.255.255.128\n" NETWORK, NULL,
          "server.conf", 6, "[network] client_ip_pool_end", "outside the tunnel network "
          "10.8.0.0/25" },
        { MIN "push_routes = 192.168.100.1/24\n", NULL, "server.conf", 6,
          "[network] push_routes", "host bits zero), got \"192.168.100.1/24\"" },
        { MIN "push_routes = 192.168.100.0/24,,10.0.0.0/8\n", NULL, "server.conf", 6,
          "[network] push_routes", "got \"\"" },
        { MIN "push_routes = 192.168.100.0/24,\n", NULL, "server.conf", 6,
          "[network] push_routes", "got \"\"" },
        { MIN "push_routes = 192.168.100.0\n", NULL, "server.conf", 6, "[network] push_routes",
          "comma-separated list" },
        { MIN "push_routes = 192.168.100.0/24 10.0.0.0/8\n", NULL, "server.conf", 6,
          "[network] push_routes", "comma-separated list" },
        { MIN "push_routes = 1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,6.0.0.0/8,"
              "7.0.0.0/8,8.0.0.0/8,9.0.0.0/8,10.0.0.0/8,11.0.0.0/8,12.0.0.0/8,13.0.0.0/8,"
              "14.0.0.0/8,15.0.0.0/8,16.0.0.0/8,17.0.0.0/8\n", NULL, "server.conf", 6,
          "[network] push_routes", "at most 16 routes" },
        { MIN "nat_interface = eth 0\n", NULL, "server.conf", 6, "[network] nat_interface",
          "interface name" },
        { MIN "dns = 10.8.0.1, 9.9.9.9, 1.1.1.1, 8.8.8.8\n", NULL, "server.conf", 6,
          "[network] dns", "at most 3 resolvers" },
        { MIN "dns = 10.8.0.1 9.9.9.9\n", NULL, "server.conf", 6, "[network] dns",
          "\"10.8.0.1 9.9.9.9\" is not an IPv4 address" },
        { MIN "dns = 10.8.0.1,\n", NULL, "server.conf", 6, "[network] dns",
          "\"\" is not an IPv4 address" },
        { MIN "dns = 127.0.0.1\n", NULL, "server.conf", 6, "[network] dns", "loopback" },
        { MIN "dns = 224.0.0.251\n", NULL, "server.conf", 6, "[network] dns", "multicast" },
        { MIN "dns = 0.0.0.0\n", NULL, "server.conf", 6, "[network] dns", "0.0.0.0/8" },
        { MIN "dns = dns.example\n", NULL, "server.conf", 6, "[network] dns",
          "comma-separated list of up to 3 resolvers" },
        { MIN "dns_search = home lan\n", NULL, "server.conf", 6, "[network] dns_search",
          "a blank inside a name" },
        { MIN "dns_search = home.lan,,x\n", NULL, "server.conf", 6, "[network] dns_search",
          "an empty item" },
        { MIN "dns_search = -x.lan\n", NULL, "server.conf", 6, "[network] dns_search",
          "starts with '-'" },
        { MIN "dns_search = home..lan\n", NULL, "server.conf", 6, "[network] dns_search",
          "empty label" },
        { MIN "dns_search = a;b\n", NULL, "server.conf", 6, "[network] dns_search",
          "a character other than" },
        { MIN "dns_search = a, b, c, d, e, f, g\n", NULL, "server.conf", 6,
          "[network] dns_search", "more than 6 names" },
        { MIN "dns_search = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", NULL,
          "server.conf", 6, "[network] dns_search", "longer than 63" },
        { MIN "dns_search = aaaaaaaaaa.aaaaaaaaaa.aaaaaaaaaa, aaaaaaaaaa.aaaaaaaaaa.aaaaaaaaaa.x\n",
          NULL, "server.conf", 6, "[network] dns_search", "longer than 64 bytes" },
    };
    run_bad(cases, N(cases));
}

Test(server_config, qos_section_errors)
{
    static const struct bad_case cases[] = {
        { MIN "[qos]\nenabled = maybe\n", NULL, "server.conf", 7, "[qos] enabled",
          "expected true or false" },
        { MIN "[qos]\ntotal_bandwidth = 50\n", NULL, "server.conf", 7, "[qos] total_bandwidth",
          "expected a bandwidth" },
        { MIN "[qos]\ntotal_bandwidth = 0Mbps\n", NULL, "server.conf", 7,
          "[qos] total_bandwidth", "expected a bandwidth" },
        { MIN "[qos]\ndefault_rate = 5Xbps\n", NULL, "server.conf", 7, "[qos] default_rate",
          "got \"5Xbps\"" },
        { MIN "[qos]\ndefault_ceil = -1Mbps\n", NULL, "server.conf", 7, "[qos] default_ceil",
          "expected a bandwidth" },
        { MIN "[qos]\ndefault_class = 2:20\n", NULL, "server.conf", 7, "[qos] default_class",
          "tc classid 1:MINOR" },
        { MIN "[qos]\ndefault_class = 1:0\n", NULL, "server.conf", 7, "[qos] default_class",
          "classid" },
        { MIN "[qos]\ndefault_class = 1:1\n", NULL, "server.conf", 7, "[qos] default_class",
          "classid" },
        { MIN "[qos]\ndefault_class = 1:10000\n", NULL, "server.conf", 7,
          "[qos] default_class", "classid" },
        { MIN "[qos]\ndefault_class = 1:0x20\n", NULL, "server.conf", 7, "[qos] default_class",
          "classid" },
        { MIN "[qos]\ndefault_class = 20\n", NULL, "server.conf", 7, "[qos] default_class",
          "classid" },
        { MIN "[qos]\ndefault_class = 1:\n", NULL, "server.conf", 7, "[qos] default_class",
          "classid" },
        { MIN "[qos]\ndefault_rate = 7Mbps\n", NULL, "server.conf", 7, "[qos] default_rate",
          "7Mbps is above default_ceil 6Mbps" },
        { MIN "[qos]\ndefault_ceil = 2Mbps\n", NULL, "server.conf", 7, "[qos] default_rate",
          "3Mbps is above default_ceil 2Mbps" },
        { MIN "[qos]\nenabled = true\n", NULL, "server.conf", 6, "[qos] total_bandwidth",
          "required when enabled = true" },
        { MIN "[qos]\nenabled = true\ntotal_bandwidth = 5Mbps\n", NULL, "server.conf", 8,
          "[qos] default_ceil", "6Mbps is above total_bandwidth 5Mbps" },
        { MIN "[qos]\nenabled = true\ntotal_bandwidth = 5Mbps\ndefault_ceil = 5500kbit\n", NULL,
          "server.conf", 9, "[qos] default_ceil", "5500Kbps is above total_bandwidth 5Mbps" },
        { MIN "[qos]\nclasses_file = nope.conf\n", NULL, "nope.conf", 0, "cannot read file",
          "No such file or directory" },
        { MIN "[qos]\nclasses_file = /\n", NULL, "/", 0, "cannot read file", "Is a directory" },
    };
    run_bad(cases, N(cases));
}

Test(server_config, security_and_logging_errors)
{
    static const struct bad_case cases[] = {
        { MIN "[security]\nmax_clients = 0\n", NULL, "server.conf", 7, "[security] max_clients",
          "from 1 to 2048" },
        { MIN "[security]\nmax_clients = 2049\n", NULL, "server.conf", 7,
          "[security] max_clients", "from 1 to 2048" },
        { MIN "[security]\nsession_timeout = 9\n", NULL, "server.conf", 7,
          "[security] session_timeout", "from 10 to 604800" },
        { MIN "[security]\nsession_timeout = 604801\n", NULL, "server.conf", 7,
          "[security] session_timeout", "from 10 to 604800" },
        { MIN "[security]\nreplay_window_ms = 99\n", NULL, "server.conf", 7,
          "[security] replay_window_ms", "from 100 to 600000" },
        { MIN "[security]\nreplay_window_ms = 600001\n", NULL, "server.conf", 7,
          "[security] replay_window_ms", "from 100 to 600000" },
        { MIN "[security]\nkeepalive = 0\n", NULL, "server.conf", 7, "[security] keepalive",
          "from 1 to 3600" },
        { MIN "[security]\nkeepalive = 3601\n", NULL, "server.conf", 7, "[security] keepalive",
          "from 1 to 3600" },
        { MIN "[security]\nrekey_interval = 14\n", NULL, "server.conf", 7,
          "[security] rekey_interval", "from 15 to 86400" },
        { MIN "[security]\nrekey_interval = 86401\n", NULL, "server.conf", 7,
          "[security] rekey_interval", "from 15 to 86400" },
        { MIN "[security]\nsession_timeout = 20\nkeepalive = 20\n", NULL, "server.conf", 8,
          "[security] keepalive", "20 s must be shorter than session_timeout 20 s" },
        { MIN "[security]\nsession_timeout = 10\n", NULL, "server.conf", 7,
          "[security] keepalive", "25 s must be shorter than session_timeout 10 s" },
        { MIN "[security]\nuser = bad user\n", NULL, "server.conf", 7, "[security] user",
          "system user name" },
        { MIN "[security]\nuser = -rf\n", NULL, "server.conf", 7, "[security] user",
          "system user name" },
        { MIN "[security]\nuser =\n", NULL, "server.conf", 7, "[security] user",
          "or root to keep uid 0" },
        { MIN "[security]\nuser = vpnse-enclave\n", NULL, "server.conf", 7, "[security] user",
          "vpnse-enclave is the enclave's user" },
        { MIN "[security]\ncontrol_socket = /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", NULL,
          "server.conf", 7, "[security] control_socket", "limit of a Unix socket" },
        { MIN "[security]\ncontrol_socket =\n", NULL, "server.conf", 7,
          "[security] control_socket", "empty value" },
        { MIN "[logging]\nlevel = LOUD\n", NULL, "server.conf", 7, "[logging] level",
          "expected DEBUG, INFO, WARN or ERROR, got \"LOUD\"" },
        { MIN "[logging]\nlevel =\n", NULL, "server.conf", 7, "[logging] level",
          "empty value" },
    };
    run_bad(cases, N(cases));
}

/* [metrics]: off by default; listen is ADDRESS:PORT with a numeric address; the group is a
 * system group name. */
Test(server_config, metrics_section)
{
    static const struct bad_case cases[] = {
        { MIN "[metrics]\nlisten = localhost:9586\n", NULL, "server.conf", 7,
          "[metrics] listen", "expected ADDRESS:PORT with a numeric address" },
        { MIN "[metrics]\nlisten = 127.0.0.1\n", NULL, "server.conf", 7, "[metrics] listen",
          "got \"127.0.0.1\"" },
        { MIN "[metrics]\nlisten = 127.0.0.1:70000\n", NULL, "server.conf", 7,
          "[metrics] listen", "ADDRESS:PORT" },
        { MIN "[metrics]\nlisten = ::1:9586\n", NULL, "server.conf", 7, "[metrics] listen",
          "[::1]:9586" },
        { MIN "[metrics]\ncontrol_socket_group = bad group\n", NULL, "server.conf", 7,
          "[metrics] control_socket_group", "system group name" },
        { MIN "[metrics]\nport = 9586\n", NULL, "server.conf", 7, "[metrics] port", "unknown" },
    };
    run_bad(cases, N(cases));

    struct config_error err;
    put("qos_classes.conf", NULL);
    cr_assert_eq(load(put("server.conf", MIN), &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.metrics_listen, "", "metrics are off by default");
    cr_expect_str_eq(cfg.control_socket_group, "", "the socket is root's alone by default");
    cr_assert_eq(load(put("server.conf", MIN "[metrics]\nlisten = [::1]:9586\n"
                          "control_socket_group = vpnse-metrics\n"), &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.metrics_listen, "[::1]:9586");
    cr_expect_eq(ntohs(cfg.metrics_addr.sin6_port), 9586);
    cr_expect(IN6_IS_ADDR_LOOPBACK(&cfg.metrics_addr.sin6_addr));
    cr_expect_str_eq(cfg.control_socket_group, "vpnse-metrics");
}

/* [wireguard]: off by default, port 51821 and wireguard.key beside server.conf; a port of its
 * own when enabled. */
Test(server_config, wireguard_section)
{
    static const struct bad_case cases[] = {
        { MIN "[wireguard]\nenabled = maybe\n", NULL, "server.conf", 7, "[wireguard] enabled",
          "maybe" },
        { MIN "[wireguard]\nlisten_port = 0\n", NULL, "server.conf", 7,
          "[wireguard] listen_port", "from 1 to 65535" },
        { MIN "[wireguard]\nenabled = true\nlisten_port = 51820\n", NULL, "server.conf", 8,
          "[wireguard] listen_port", "51820 is [server] listen_port already" },
        { MIN "[wireguard]\nprivate_key_file =\n", NULL, "server.conf", 7,
          "[wireguard] private_key_file", "empty value" },
        { MIN "[wireguard]\npeers = 3\n", NULL, "server.conf", 7, "[wireguard] peers",
          "unknown" },
    };
    run_bad(cases, N(cases));

    struct config_error err;
    put("qos_classes.conf", NULL);
    cr_assert_eq(load(put("server.conf", MIN), &err), 0, "%s", err.msg);
    cr_expect_not(cfg.wg_enabled, "off by default");
    cr_expect_eq(cfg.wg_listen_port, 51821);
    cr_expect_str_eq(cfg.wg_private_key_file, in_dir("wireguard.key"));
    /* Off, the same port is no conflict: no socket is opened for it. */
    cr_assert_eq(load(put("server.conf", MIN "[wireguard]\nlisten_port = 51820\n"), &err), 0,
                 "%s", err.msg);
    cr_assert_eq(load(put("server.conf", MIN "[wireguard]\nenabled = yes\nlisten_port = 4500\n"
                          "private_key_file = /etc/vpnse/wg.key\n"), &err), 0, "%s", err.msg);
    cr_expect(cfg.wg_enabled);
    cr_expect_eq(cfg.wg_listen_port, 4500);
    cr_expect_str_eq(cfg.wg_private_key_file, "/etc/vpnse/wg.key");
}

Test(server_config, file_level_errors)
{
    struct config_error err;

    cr_assert_eq(load(in_dir("absent.conf"), &err), -1);
    cr_expect(strstr(err.msg, in_dir("absent.conf")) && strstr(err.msg, ":0: ") &&
              strstr(err.msg, "No such file or directory"), "%s", err.msg);

    /* NUL byte inside a value */
    static const char nul[] = MIN "[logging]\nfile = a\0b\n";
    FILE *f = fopen(in_dir("server.conf"), "w");
    cr_assert(f);
    fwrite(nul, 1, sizeof(nul) - 1, f);
    fclose(f);
    cr_assert_eq(load(in_dir("server.conf"), &err), -1);
    cr_expect(strstr(err.msg, ":7: [logging]: NUL byte"), "%s", err.msg);

    /* a line longer than INI_LINE_MAX */
    char *big = malloc(2 * INI_LINE_MAX);
    snprintf(big, 2 * INI_LINE_MAX, MIN "push_routes = ");
    size_t n = strlen(big);
    memset(big + n, ' ', INI_LINE_MAX);
    big[n + INI_LINE_MAX] = '\0';
    put("server.conf", big);
    free(big);
    cr_assert_eq(load(in_dir("server.conf"), &err), -1);
    cr_expect(strstr(err.msg, ":6: [network]: line longer than"), "%s", err.msg);

    /* an unreadable file, when the test is not running as root */
    if (geteuid() != 0) {
        put("server.conf", MIN);
        chmod(in_dir("server.conf"), 0);
        cr_assert_eq(load(in_dir("server.conf"), &err), -1);
        cr_expect(strstr(err.msg, "Permission denied"), "%s", err.msg);
    }
}

Test(server_config, relative_config_path_gives_absolute_paths)
{
    struct config_error err;
    char cwd[PATH_MAX];

    put("server.conf", MIN "[qos]\nclasses_file = q.conf\n");
    put("q.conf", "[class:a]\nclassid = 1:2\nrate = 1Mbps\nceil = 1Mbps\n");
    cr_assert(getcwd(cwd, sizeof(cwd)));
    cr_assert_eq(chdir(dir), 0);
    int rc = load("server.conf", &err);
    cr_assert_eq(chdir(cwd), 0);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_expect_str_eq(cfg.path, "server.conf");
    cr_expect_str_eq(cfg.private_key_file, in_dir("server.key"));
    cr_expect_str_eq(cfg.classes_file, in_dir("q.conf"));
    cr_expect_eq(cfg.n_classes, 1);
}

Test(server_config, explicit_empty_classes_file_means_none)
{
    struct config_error err;

    put("qos_classes.conf", "garbage that would not parse\n");
    const char *path = put("server.conf", MIN "[qos]\nclasses_file =\n");
    cr_assert_eq(load(path, &err), 0, "%s", err.msg);
    cr_expect_str_eq(cfg.classes_file, "");
    cr_expect_eq(cfg.n_classes, 0);
}

/* ---- the classes file --------------------------------------------------------------- */

#define VIP "[class:vip]\nclassid = 1:10\nrate = 5Mbps\nceil = 10Mbps\npriority = 1\n" /* 1-5 */

Test(server_config, classes_good_variants)
{
    static const struct {
        const char *conf, *classes;
    } good[] = {
        /* a user may name a class defined further down */
        { MIN QOS_ON, "[user:alice]\nvpn_ip = 10.8.0.10\nclass = vip\n" VIP },
        /* fixed address outside the dynamic pool, inside the tunnel */
        { MIN QOS_ON, VIP "[user:alice]\nvpn_ip = 10.8.0.2\nclass = vip\n" },
        /* guarantees exactly at the total: 3 (default) + 5 + 2 = 10 */
        { MIN "[qos]\nenabled = true\ntotal_bandwidth = 10Mbps\n",
          VIP "[class:g]\nclassid = 1:30\nrate = 2Mbps\nceil = 4Mbps\n"
              "[user:a]\nvpn_ip = 10.8.0.10\nclass = vip\n[user:b]\nvpn_ip = 10.8.0.11\n"
              "class = g\n" },
        /* QoS off: sums and ceilings are not checked, addresses still are */
        { MIN, "[class:big]\nclassid = 1:10\nrate = 90Gbps\nceil = 100Gbps\n"
               "[user:a]\nvpn_ip = 10.8.0.10\nclass = big\n[user:b]\nvpn_ip = 10.8.0.11\n"
               "class = big\n" },
        /* a class that restates the default class (same classid, rate and ceil) */
        { MIN QOS_ON, "[class:normal]\nclassid = 1:20\nrate = 3Mbps\nceil = 6Mbps\n" },
        /* an empty classes file, and one with only comments */
        { MIN QOS_ON, "" },
        { MIN QOS_ON, "# nobody yet\n; nothing\n" },
        /* a class nobody uses; UTF-8 names, a user name with a space inside */
        { MIN QOS_ON, VIP "[user:j\xc3\xb6rg]\nvpn_ip = 10.8.0.10\nclass = vip\n" },
        { MIN QOS_ON, VIP "[user:Alice Smith]\nvpn_ip = 10.8.0.10\nclass = vip\n" },
        /* classid minor in hex, upper case, and the largest priority */
        { MIN QOS_ON, "[class:x]\nclassid = 1:FFFE\nrate = 1Mbps\nceil = 1Mbps\npriority = 7\n" },
    };
    struct config_error err;
    for (unsigned i = 0; i < N(good); i++) {
        const char *path = put("server.conf", good[i].conf);
        put("qos_classes.conf", good[i].classes);
        cr_expect_eq(load(path, &err), 0, "case %u: %s", i, err.msg);
    }
}

Test(server_config, classes_structure_errors)
{
    static const struct bad_case cases[] = {
        { MIN QOS_ON, "[group:x]\n", "qos_classes.conf", 1, "[group:x]",
          "expected [class:NAME], [user:NAME] or [device:USER:DEVICE]" },
        { MIN QOS_ON, "[vip]\n", "qos_classes.conf", 1, "[vip]", "unknown section" },
        { MIN QOS_ON, "rate = 5Mbps\n", "qos_classes.conf", 1, "rate", "outside any" },
        { MIN QOS_ON, "[class:]\n", "qos_classes.conf", 1, "[class:]", "NAME must be 1 to 63" },
        { MIN QOS_ON, "[class:a b]\n", "qos_classes.conf", 1, "[class:a b]", "without blanks" },
        /* users are named by the rule of every other door (username.h) */
        { MIN QOS_ON, "[user:0123456789012345678901234567890123456789012345678901234567890123]\n",
          "qos_classes.conf", 1, "[user:0123", "user name is longer than 63 bytes" },
        { MIN QOS_ON, "[user:a:b]\n", "qos_classes.conf", 1, "[user:a:b]", "contains ':'" },
        { MIN QOS_ON, "[user: a]\n", "qos_classes.conf", 1, "[user: a]", "space at either end" },
        { MIN QOS_ON, VIP VIP, "qos_classes.conf", 6, "[class:vip]",
          "duplicate class name (first at line 1)" },
        { MIN QOS_ON, VIP "[user:a]\nvpn_ip = 10.8.0.10\nclass = vip\n"
                          "[user:a]\nvpn_ip = 10.8.0.11\nclass = vip\n",
          "qos_classes.conf", 9, "[user:a]", "duplicate user name (first at line 6)" },
        { MIN QOS_ON, VIP "color = red\n", "qos_classes.conf", 6, "[class:vip] color",
          "unknown key" },
        { MIN QOS_ON, "[user:a]\nvpn_ip = 10.8.0.10\nrate = 1Mbps\n", "qos_classes.conf", 3,
          "[user:a] rate", "unknown key" },
        { MIN QOS_ON, VIP "rate = 6Mbps\n", "qos_classes.conf", 6, "[class:vip] rate",
          "duplicate key (first at line 3)" },
        { MIN QOS_ON, "[user:a]\nvpn_ip = 10.8.0.10\nvpn_ip = 10.8.0.11\n", "qos_classes.conf",
          3, "[user:a] vpn_ip", "duplicate key (first at line 2)" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:10\nrate =\n", "qos_classes.conf", 3,
          "[class:vip] rate", "empty value" },
        { MIN QOS_ON, "[class:vip]\nrate = 5Mbps\nceil = 10Mbps\n", "qos_classes.conf", 1,
          "[class:vip] classid", "required key is missing" },
        { MIN QOS_ON, "\n[class:vip]\nclassid = 1:10\nceil = 10Mbps\n", "qos_classes.conf", 2,
          "[class:vip] rate", "required key is missing" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:10\nrate = 5Mbps\n", "qos_classes.conf", 1,
          "[class:vip] ceil", "required key is missing" },
        { MIN QOS_ON, VIP "[user:a]\nclass = vip\nmax_devices = 17\n", "qos_classes.conf", 8,
          "[user:a] max_devices", "a whole number from 1 to 16" },
        { MIN QOS_ON, VIP "max_devices = 0\n", "qos_classes.conf", 6,
          "[class:vip] max_devices", "a whole number from 1 to 16" },
        { MIN QOS_ON, "[user:a]\nvpn_ip = 0.0.0.0\n", "qos_classes.conf", 2,
          "[user:a] vpn_ip", "0.0.0.0" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:10\nrate = 5Mbps\nceil = 10Mbps\r\n\x02\n",
          "qos_classes.conf", 5, "[class:vip]", "control character" },
    };
    run_bad(cases, N(cases));
}

Test(server_config, classes_value_errors)
{
    static const struct bad_case cases[] = {
        { MIN QOS_ON, "[class:vip]\nclassid = 2:10\n", "qos_classes.conf", 2,
          "[class:vip] classid", "tc classid 1:MINOR" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:0\n", "qos_classes.conf", 2,
          "[class:vip] classid", "classid" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:g\n", "qos_classes.conf", 2,
          "[class:vip] classid", "got \"1:g\"" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:10\nrate = 5\n", "qos_classes.conf", 3,
          "[class:vip] rate", "expected a bandwidth" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:10\nceil = 5 Mbps/s\n", "qos_classes.conf", 3,
          "[class:vip] ceil", "expected a bandwidth" },
        { MIN QOS_ON, "[class:vip]\npriority = 8\n", "qos_classes.conf", 2,
          "[class:vip] priority", "from 0 (served first) to 7" },
        { MIN QOS_ON, "[class:vip]\npriority = -1\n", "qos_classes.conf", 2,
          "[class:vip] priority", "got \"-1\"" },
        { MIN QOS_ON, "[user:a]\nvpn_ip = 10.8.0\n", "qos_classes.conf", 2, "[user:a] vpn_ip",
          "dotted IPv4" },
        { MIN QOS_ON, "[user:a]\nclass = a b\n", "qos_classes.conf", 2, "[user:a] class",
          "NAME of a [class:NAME]" },
        { MIN QOS_ON, "[class:vip]\nclassid = 1:10\nrate = 11Mbps\nceil = 10Mbps\n",
          "qos_classes.conf", 3, "[class:vip] rate", "11Mbps is above ceil 10Mbps" },
    };
    run_bad(cases, N(cases));
}

Test(server_config, classes_consistency_errors)
{
    static const struct bad_case cases[] = {
        { MIN QOS_ON, VIP "[user:a]\nvpn_ip = 10.8.0.10\nclass = gold\n", "qos_classes.conf", 8,
          "[user:a] class", "no [class:gold] in this file" },
        { MIN QOS_ON, VIP "[class:v2]\nclassid = 1:10\nrate = 1Mbps\nceil = 2Mbps\n",
          "qos_classes.conf", 7, "[class:v2] classid",
          "1:10 is already the classid of [class:vip] (line 2)" },
        { MIN QOS_ON, VIP "[user:a]\nvpn_ip = 10.8.0.10\nclass = vip\n"
                          "[user:b]\nvpn_ip = 10.8.0.10\nclass = vip\n",
          "qos_classes.conf", 10, "[user:b] vpn_ip",
          "10.8.0.10 is already the address of [user:a] (line 7)" },
        { MIN QOS_ON, VIP "[user:a]\nvpn_ip = 10.9.0.10\nclass = vip\n", "qos_classes.conf", 7,
          "[user:a] vpn_ip", "10.9.0.10 is outside the tunnel network 10.8.0.0/24" },
        /* WireGuard devices' addresses follow the same rules, against users' and each other */
        { MIN, VIP "[user:a]\nvpn_ip = 10.8.0.10\n[device:a:phone]\nvpn_ip = 10.8.0.10\n",
          "qos_classes.conf", 9, "[device:a:phone] vpn_ip",
          "10.8.0.10 is already the address of [user:a] (line 7)" },
        { MIN, "[device:a:phone]\nvpn_ip = 10.8.0.40\n[device:b:phone]\nvpn_ip = 10.8.0.40\n",
          "qos_classes.conf", 4, "[device:b:phone] vpn_ip",
          "10.8.0.40 is already the address of [device:a:phone] (line 2)" },
        { MIN, "[device:a:phone]\nvpn_ip = 10.8.0.1\n", "qos_classes.conf", 2,
          "[device:a:phone] vpn_ip", "the server's own tun_ip" },
        { MIN, "[device:a:phone]\nvpn_ip = 10.9.0.1\n", "qos_classes.conf", 2,
          "[device:a:phone] vpn_ip", "outside the tunnel network" },
        { MIN, "[device:a:phone]\n", "qos_classes.conf", 1, "[device:a:phone] vpn_ip",
          "required key is missing" },
        { MIN, "[device:a]\nvpn_ip = 10.8.0.40\n", "qos_classes.conf", 1, "[device:a]",
          "expected USER:DEVICE" },
        { MIN, "[device:a:my phone]\nvpn_ip = 10.8.0.40\n", "qos_classes.conf", 1,
          "[device:a:my phone]", "the device name must be 1 to 15" },
        { MIN, "[device:a:phone]\nvpn_ip = 10.8.0.40\n[device:a:phone]\nvpn_ip = 10.8.0.41\n",
          "qos_classes.conf", 3, "[device:a:phone]", "duplicate device (first at line 1)" },
        { MIN QOS_ON, VIP "[user:a]\nvpn_ip = 10.8.0.1\nclass = vip\n", "qos_classes.conf", 7,
          "[user:a] vpn_ip", "10.8.0.1 is the server's own tun_ip" },
        { MIN QOS_ON, VIP "[user:a]\nvpn_ip = 10.8.0.255\nclass = vip\n", "qos_classes.conf", 7,
          "[user:a] vpn_ip", "broadcast address" },
        { MIN QOS_ON, VIP "[user:a]\nvpn_ip = 10.8.0.0\nclass = vip\n", "qos_classes.conf", 7,
          "[user:a] vpn_ip", "network address" },
        /* addresses are checked with QoS off as well: they are handed out either way */
        { MIN, VIP "[user:a]\nvpn_ip = 192.168.1.10\nclass = vip\n", "qos_classes.conf", 7,
          "[user:a] vpn_ip", "outside the tunnel network" },
        /* the default class's classid with other figures than default_rate/default_ceil */
        { MIN QOS_ON, "[class:normal]\nclassid = 1:20\nrate = 2Mbps\nceil = 6Mbps\n",
          "qos_classes.conf", 2, "[class:normal] classid", "1:20 is [qos] default_class" },
        { MIN "[qos]\ndefault_class = 1:10\n", VIP, "qos_classes.conf", 2,
          "[class:vip] classid", "1:10 is [qos] default_class" },
        /* guarantees: 3 (default) + 5 + 5 = 13 > 10 */
        { MIN "[qos]\nenabled = true\ntotal_bandwidth = 10Mbps\n",
          VIP "[user:a]\nvpn_ip = 10.8.0.10\nclass = vip\n"
              "[user:b]\nvpn_ip = 10.8.0.11\nclass = vip\n",
          "qos_classes.conf", 11, "[user:b] class",
          "guaranteed rates reach 13Mbps with this user" },
        { MIN "[qos]\nenabled = true\ntotal_bandwidth = 8Mbps\ndefault_ceil = 3Mbps\n",
          "[class:vip]\nclassid = 1:10\nrate = 5Mbps\nceil = 8Mbps\n"
          "[user:a]\nvpn_ip = 10.8.0.10\nclass = vip\n[user:b]\nvpn_ip = 10.8.0.11\n"
          "class = vip\n", "qos_classes.conf", 10, "[user:b] class",
          "above [qos] total_bandwidth 8Mbps" },
        /* a ceiling above the link */
        { MIN "[qos]\nenabled = true\ntotal_bandwidth = 8Mbps\n", VIP, "qos_classes.conf", 4,
          "[class:vip] ceil", "10Mbps is above [qos] total_bandwidth 8Mbps" },
    };
    run_bad(cases, N(cases));
}

Test(server_config, brief_examples_with_a_smaller_link)
{
    /* The brief's classes need 3 + 5 + 3 + 2 = 13 Mbps guaranteed; 12 is not enough. */
    static const struct bad_case cases[] = {
        { MIN "[qos]\nenabled = true\ntotal_bandwidth = 12Mbps\n", brief_classes_conf,
          "qos_classes.conf", 29, "[user:guest1] class",
          "guaranteed rates reach 13Mbps with this user" },
    };
    run_bad(cases, N(cases));

    struct config_error err;
    put("server.conf", MIN "[qos]\nenabled = true\ntotal_bandwidth = 13Mbps\ndefault_ceil = 4Mbps\n");
    put("qos_classes.conf", "[class:vip]\nclassid = 1:10\nrate = 5Mbps\nceil = 10Mbps\n"
                            "[user:alice]\nvpn_ip = 10.8.0.10\nclass = vip\n"
                            "[user:bob]\nvpn_ip = 10.8.0.20\nclass = vip\n");
    cr_expect_eq(load(in_dir("server.conf"), &err), 0, "%s", err.msg);
}

Test(server_config, class_limits)
{
    /* QOS_CLASS_MAX classes load; one more is refused at its header. */
    size_t cap = 128 * (QOS_CLASS_MAX + 1);
    char *text = malloc(cap);
    size_t used = 0;
    for (int i = 0; i <= QOS_CLASS_MAX; i++)
        used += (size_t)snprintf(text + used, cap - used,
                                 "[class:c%d]\nclassid = 1:%x\nrate = 1Kbps\nceil = 1Kbps\n", i,
                                 i + 0x100);  /* clear of the default 1:20 */
    struct config_error err;
    const char *path = put("server.conf", MIN);

    /* cut before the last class */
    char *last = strstr(text, "[class:c64]");
    cr_assert(last);
    *last = '\0';
    put("qos_classes.conf", text);
    cr_expect_eq(load(path, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.n_classes, QOS_CLASS_MAX);
    *last = '[';
    put("qos_classes.conf", text);
    cr_expect_eq(load(path, &err), -1);
    cr_expect(strstr(err.msg, ":257: [class:c64]: more than 64 classes"), "%s", err.msg);
    free(text);
}

Test(server_config, many_users)
{
    /* QOS_USER_MAX users in a /16, with a pool elsewhere in it: lookups find each one. */
    size_t cap = 64 * (QOS_USER_MAX + 2) + 128;
    char *text = malloc(cap);
    size_t used = (size_t)snprintf(text, cap, "[class:c]\nclassid = 1:2\nrate = 1Kbps\n"
                                              "ceil = 1Kbps\n");
    for (int i = 0; i < QOS_USER_MAX; i++)
        used += (size_t)snprintf(text + used, cap - used, "[user:u%d]\nvpn_ip = 10.8.%d.%d\n"
                                 "class = c\n", i, 100 + i / 200, 1 + i % 200);
    struct config_error err;
    const char *path = put("server.conf", "[server]\ntun_ip = 10.8.0.1\ntun_netmask = 16\n"
                                          NETWORK);
    put("qos_classes.conf", text);
    cr_assert_eq(load(path, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.n_users, QOS_USER_MAX);
    cr_expect_eq(server_config_user_ip(&cfg, "u0"), 0x0a086401);
    cr_expect_eq(server_config_user_ip(&cfg, "u1023"), 0x0a086918);  /* 10.8.105.24 */

    /* one more is refused */
    snprintf(text + used, cap - used, "[user:extra]\nvpn_ip = 10.8.200.1\nclass = c\n");
    put("qos_classes.conf", text);
    cr_expect_eq(load(path, &err), -1);
    cr_expect(strstr(err.msg, "[user:extra]: more than 1024 users"), "%s", err.msg);
    free(text);
}

Test(server_config, reload_keeps_old_classes_on_error)
{
    struct config_error err;
    const char *path = put("server.conf", brief_server_conf);
    const char *classes = put("qos_classes.conf", brief_classes_conf);

    cr_assert_eq(load(path, &err), 0, "%s", err.msg);
    cr_assert_eq(cfg.n_users, 3);

    /* a bad edit, then SIGHUP: refused, the running set stays */
    put("qos_classes.conf", VIP "[user:alice]\nvpn_ip = 10.8.0.10\nclass = gold\n");
    cr_expect_eq(server_config_load_classes(classes, &cfg, &err), -1);
    cr_expect(strstr(err.msg, "[user:alice] class: no [class:gold]"), "%s", err.msg);
    cr_expect_eq(cfg.n_users, 3);
    cr_expect_eq(cfg.n_classes, 3);
    cr_expect_eq(server_config_user_ip(&cfg, "bob"), 0x0a080014);

    /* a good edit replaces it */
    put("qos_classes.conf", VIP "[user:carol]\nvpn_ip = 10.8.0.30\nclass = vip\n");
    cr_assert_eq(server_config_load_classes(classes, &cfg, &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.n_classes, 1);
    cr_expect_eq(cfg.n_users, 1);
    cr_expect_eq(server_config_user_ip(&cfg, "bob"), 0);
    cr_expect_eq(server_config_user_ip(&cfg, "carol"), 0x0a08001e);

    /* the file gone */
    unlink(classes);
    cr_expect_eq(server_config_load_classes(classes, &cfg, &err), -1);
    cr_expect(strstr(err.msg, "qos_classes.conf:0: ") && strstr(err.msg, "No such file"),
              "%s", err.msg);
    cr_expect_eq(cfg.n_users, 1);
}
