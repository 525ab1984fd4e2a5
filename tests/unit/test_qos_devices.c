/* The classes file's named devices (core/lib/qos_classes.c, "[device:USER:DEVICE] vpn_ip";
 * docs/WIREGUARD.md, phase 2): read into cfg->devices, found by server_config_device_index, and
 * each refusal with the file, line, section and key (a missing or misplaced address, one that
 * is another's, a duplicate device, a name outside the rules). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vpn/device_name.h"
#include "vpn/server_config.h"

static char dir[PATH_MAX];
static struct server_config cfg;    /* large: off the stack */

static void setup(void)
{
    test_tmpdir_make(dir, "test_qos_devices");
}

static void teardown(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(qos_devices, .init = setup, .fini = teardown);

/* The classes file's address of user's device, or 0. */
static uint32_t ip_of(const char *user, const char *device)
{
    uint8_t id[DEVICE_ID_LEN];
    device_id_of_name(device, id);
    int k = server_config_device_index(&cfg, user, id);
    return k >= 0 ? cfg.devices[k].vpn_ip : 0;
}

/* Loads server.conf with the given classes file; returns load's result, err filled. */
static int load(const char *classes, struct config_error *err)
{
    test_secret_file(dir, "server.conf", "[server]\ntun_ip = 10.8.0.1\n[network]\n"
                     "client_ip_pool_start = 10.8.0.10\nclient_ip_pool_end = 10.8.0.200\n",
                     0644, (uid_t)-1, NULL);
    test_secret_file(dir, "qos_classes.conf", classes, 0644, (uid_t)-1, NULL);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/server.conf", dir);
    return server_config_load(path, &cfg, err);
}

Test(qos_devices, read_and_found)
{
    struct config_error err;
    cr_assert_eq(load("[user:alice]\nvpn_ip = 10.8.0.5\n\n[device:alice:phone]\n"
                      "vpn_ip = 10.8.0.31\n\n[device:Alice Smith:laptop.2]\nvpn_ip = 10.8.0.20\n",
                      &err), 0, "%s", err.msg);
    cr_expect_eq(cfg.n_devices, 2);
    cr_expect_str_eq(cfg.devices[0].user, "alice");
    char name[DEVICE_NAME_MAX + 1];
    cr_expect(device_name_of_id(cfg.devices[0].id, name));
    cr_expect_str_eq(name, "phone");
    cr_expect_eq(ip_of("alice", "phone"), 0x0a08001f);
    cr_expect_eq(ip_of("Alice Smith", "laptop.2"), 0x0a080014,
                 "inside the pool is allowed, as for a user's fixed address");
    cr_expect_eq(ip_of("alice", "laptop"), 0);
    cr_expect_eq(server_config_user_ip(&cfg, "alice"), 0x0a080005, "users unaffected");
}

Test(qos_devices, refusals)
{
    static const struct { const char *text, *want; } cases[] = {
        { "[device:alice:phone]\n", "[device:alice:phone] vpn_ip: required key is missing" },
        { "[device:alice:phone]\nvpn_ip = 10.9.0.3\n", "qos_classes.conf:2: "
          "[device:alice:phone] vpn_ip: 10.9.0.3 is outside the tunnel network 10.8.0.0/24" },
        { "[device:alice:phone]\nvpn_ip = 10.8.0.1\n", "is the server's own tun_ip" },
        { "[device:alice:phone]\nvpn_ip = 10.8.0.255\n", "broadcast address" },
        { "[device:alice:phone]\nvpn_ip = nope\n", "expected a dotted IPv4 address like "
          "10.8.0.31" },
        { "[device:alice:phone]\nclass = vip\n", "[device:alice:phone] class: unknown key" },
        { "[user:alice]\nvpn_ip = 10.8.0.5\n[device:bob:phone]\nvpn_ip = 10.8.0.5\n",
          "qos_classes.conf:4: [device:bob:phone] vpn_ip: 10.8.0.5 is already the address "
          "of [user:alice] (line 2)" },
        { "[device:bob:phone]\nvpn_ip = 10.8.0.5\n[user:alice]\nvpn_ip = 10.8.0.5\n",
          "qos_classes.conf:2: [device:bob:phone] vpn_ip: 10.8.0.5 is already the address of "
          "[user:alice] (line 4)" },
        { "[device:a:x]\nvpn_ip = 10.8.0.6\n[device:b:y]\nvpn_ip = 10.8.0.6\n",
          "qos_classes.conf:4: [device:b:y] vpn_ip: 10.8.0.6 is already the address of "
          "[device:a:x] (line 2)" },
        { "[device:a:x]\nvpn_ip = 10.8.0.6\n[device:a:x]\nvpn_ip = 10.8.0.7\n",
          "qos_classes.conf:3: [device:a:x]: duplicate device (first at line 1)" },
        { "[device:alice]\nvpn_ip = 10.8.0.6\n", "[device:alice]: expected USER:DEVICE" },
        { "[device:alice:phone!]\nvpn_ip = 10.8.0.6\n", "the device name must be 1 to 15" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config_error err;
        cr_expect_eq(load(cases[i].text, &err), -1, "case %zu", i);
        cr_expect(strstr(err.msg, cases[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  cases[i].want);
    }
}
