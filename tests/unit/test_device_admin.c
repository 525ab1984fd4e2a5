/* vpnctl's edits of users' WireGuard devices (core/lib/device_admin.c through user_admin.c):
 * a device lands in both files ([wireguard:U:D] public_key/preshared_key in the users file,
 * still 0600; [device:U:D] vpn_ip in the classes file) and reads back through the server's
 * own readers; refusals (unknown user, bad or duplicate name, a key another device has, the
 * seventeenth device) change nothing; a change the classes file's reader refuses leaves the
 * users file untouched too (both files or neither: atomic_file_prepare/install); removing a
 * device or its user removes both sections; the default names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/atomic_file.h"
#include "vpn/device_admin.h"
#include "vpn/device_name.h"
#include "vpn/keyfile.h"
#include "vpn/server_config.h"
#include "vpn/user_admin.h"
#include "vpn/users_file.h"

static char dir[PATH_MAX];
static struct server_config cfg;
static struct user_admin a;
static char why[1024];
static const uint8_t TOKEN[TOKEN_LEN] = { 1, 2, 3 };
static uint8_t PUB[KEY_LEN] = { 9, 9, 9 }, PSK[KEY_LEN] = { 7, 7, 7 };

static const char *in_dir(const char *name)
{
    static char path[PATH_MAX + 64];
    cr_assert_lt(snprintf(path, sizeof(path), "%s/%s", dir, name), (int)sizeof(path));
    return path;
}

static void put(const char *name, const char *text, mode_t mode)
{
    test_secret_file(dir, name, text, mode, (uid_t)-1, NULL);
}

static char *slurp(const char *name)
{
    static char buf[16384];
    FILE *f = fopen(in_dir(name), "r");
    cr_assert(f, "%s", name);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void load(void)
{
    struct config_error err;
    cr_assert_eq(server_config_load(in_dir("server.conf"), &cfg, &err), 0, "%s", err.msg);
}

static void setup(void)
{
    test_tmpdir_make(dir, "test_device_admin");
    put("server.conf", "[server]\ntun_ip = 10.8.0.1\n[network]\nclient_ip_pool_start = "
                       "10.8.0.10\nclient_ip_pool_end = 10.8.0.200\n", 0644);
    put("users.conf", "# our users\n[user:alice]\nauth_token = "
                      "7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8\n", 0600);
    put("qos_classes.conf", "[user:alice]\nvpn_ip = 10.8.0.5\n", 0644);
    load();
}

static void teardown(void)
{
    user_admin_close(&a);
    test_tmpdir_remove(dir);
}

TestSuite(device_admin, .init = setup, .fini = teardown);

static void open_locked(void)
{
    user_admin_close(&a);
    cr_assert_eq(user_admin_open(&a, &cfg, true, why, sizeof(why)), 0, "%s", why);
}

Test(device_admin, add_writes_both_files_and_reads_back)
{
    open_locked();
    cr_assert_eq(device_admin_add(&a, "alice", "phone", PUB, PSK, 0x0a080002, why,
                                  sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    char pub[KEYFILE_B64_LEN + 1], psk[KEYFILE_B64_LEN + 1], want[256];
    keyfile_encode(PUB, pub);
    keyfile_encode(PSK, psk);
    snprintf(want, sizeof(want), "[wireguard:alice:phone]\npublic_key = %s\npreshared_key = "
             "%s\n", pub, psk);
    cr_expect(strstr(slurp("users.conf"), want), "%s", slurp("users.conf"));
    cr_expect(strstr(slurp("users.conf"), "# our users\n[user:alice]\n"), "the rest kept");
    cr_expect(strstr(slurp("qos_classes.conf"), "[device:alice:phone]\nvpn_ip = 10.8.0.2\n"),
              "%s", slurp("qos_classes.conf"));
    struct stat st;
    cr_assert_eq(stat(in_dir("users.conf"), &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0600);

    /* The server's readers: the main process's classes file, the enclave's users file. */
    load();
    uint8_t id[DEVICE_ID_LEN];
    device_id_of_name("phone", id);
    int k = server_config_device_index(&cfg, "alice", id);
    cr_assert_geq(k, 0);
    cr_expect_eq(cfg.devices[k].vpn_ip, 0x0a080002);
    device_id_of_name("laptop", id);
    cr_expect_eq(server_config_device_index(&cfg, "alice", id), -1);
    open_locked();
    const struct user_admin_device *d = device_admin_find(&a, "alice", "phone");
    cr_assert(d);
    cr_expect_eq(memcmp(d->public_key, PUB, KEY_LEN), 0);
    cr_expect(d->has_preshared_key);

    /* Without a preshared key: no such line. */
    PUB[0] = 10;
    cr_assert_eq(device_admin_add(&a, "alice", "laptop", PUB, NULL, 0x0a080003, why,
                                  sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    const char *u = strstr(slurp("users.conf"), "[wireguard:alice:laptop]");
    cr_assert(u);
    cr_expect_null(strstr(u, "preshared_key"));
    cr_expect_not(device_admin_find(&a, "alice", "laptop")->has_preshared_key);
    PUB[0] = 9;
}

/* Nothing on disk changes when a device is refused, here or by a reader at commit. */
Test(device_admin, refusals_change_nothing)
{
    open_locked();
    cr_assert_eq(device_admin_add(&a, "alice", "phone", PUB, NULL, 0x0a080002, why,
                                  sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    char *before_u = strdup(slurp("users.conf")), *before_c = strdup(slurp("qos_classes.conf"));
    uint8_t other[KEY_LEN] = { 42 };
    static const struct { const char *user, *device; bool same_key; const char *want; } bad[] = {
        { "bob", "phone", false, "no user 'bob'" },
        { "alice", "phone", false, "has a device 'phone' already" },
        { "alice", "my phone", false, "the device name \"my phone\" is not 1 to 15" },
        { "alice", "", false, "the device name \"\" is not" },
        { "alice", "a-very-long-name", false, "the device name \"a-very-long-name\" is not" },
        { "alice", "tablet", true, "belongs to device 'alice:phone'" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        open_locked();
        cr_expect_eq(device_admin_add(&a, bad[i].user, bad[i].device,
                                      bad[i].same_key ? PUB : other, NULL, 0x0a080003, why,
                                      sizeof(why)), -1, "case %zu", i);
        cr_expect(strstr(why, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, why,
                  bad[i].want);
    }
    /* An address the classes file's reader refuses (alice's own): refused at commit, and
     * the users file, whose new text was fine, is not written either. */
    open_locked();
    cr_assert_eq(device_admin_add(&a, "alice", "tablet", other, NULL, 0x0a080005, why,
                                  sizeof(why)), 0, "%s", why);
    cr_expect_eq(user_admin_commit(&a, why, sizeof(why)), -1);
    cr_expect(strstr(why, "[device:alice:tablet] vpn_ip: 10.8.0.5 is already the address of "
                          "[user:alice]"), "%s", why);
    user_admin_close(&a);
    cr_expect_str_eq(slurp("users.conf"), before_u);
    cr_expect_str_eq(slurp("qos_classes.conf"), before_c);
    free(before_u);
    free(before_c);
}

Test(device_admin, at_most_sixteen_devices)
{
    open_locked();
    char name[16];
    for (int i = 0; i < USER_DEVICES_MAX; i++) {
        uint8_t key[KEY_LEN] = { (uint8_t)i, 1 };
        snprintf(name, sizeof(name), "d%d", i);
        cr_assert_eq(device_admin_add(&a, "alice", name, key, NULL, 0x0a080020u + (uint32_t)i,
                                      why, sizeof(why)), 0, "%s", why);
    }
    uint8_t key[KEY_LEN] = { 99, 1 };
    cr_expect_eq(device_admin_add(&a, "alice", "one-more", key, NULL, 0x0a0800f0, why,
                                  sizeof(why)), -1);
    cr_expect(strstr(why, "has 16 WireGuard devices"), "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    load();
    cr_expect_eq(cfg.n_devices, USER_DEVICES_MAX);
}

Test(device_admin, default_names)
{
    open_locked();
    char name[DEVICE_NAME_MAX + 1];
    device_admin_default_name(&a, "alice", name);
    cr_expect_str_eq(name, "device1");
    cr_assert_eq(device_admin_add(&a, "alice", "device1", PUB, NULL, 0x0a080002, why,
                                  sizeof(why)), 0, "%s", why);
    device_admin_default_name(&a, "alice", name);
    cr_expect_str_eq(name, "device2");
}

Test(device_admin, remove_device_and_user)
{
    open_locked();
    cr_assert_eq(user_admin_add(&a, "carol", TOKEN, NULL, NULL, 0, why, sizeof(why)), 0);
    cr_assert_eq(device_admin_add(&a, "carol", "phone", PUB, PSK, 0x0a080002, why,
                                  sizeof(why)), 0, "%s", why);
    PUB[0] = 11;
    cr_assert_eq(device_admin_add(&a, "carol", "laptop", PUB, NULL, 0x0a080003, why,
                                  sizeof(why)), 0, "%s", why);
    PUB[0] = 12;
    cr_assert_eq(device_admin_add(&a, "alice", "phone", PUB, NULL, 0x0a080004, why,
                                  sizeof(why)), 0, "%s", why);
    PUB[0] = 9;
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);

    cr_assert_eq(device_admin_remove(&a, "carol", "phone", why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    cr_expect_null(strstr(slurp("users.conf"), "carol:phone"));
    cr_expect_null(strstr(slurp("qos_classes.conf"), "carol:phone"));
    cr_expect(strstr(slurp("users.conf"), "[wireguard:carol:laptop]"));
    cr_expect_eq(device_admin_remove(&a, "carol", "phone", why, sizeof(why)), -1);
    cr_expect(strstr(why, "has no device 'phone'"), "%s", why);

    /* The user's remaining devices go with it; alice's stay. */
    cr_assert_eq(user_admin_remove(&a, "carol", why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    cr_expect_null(strstr(slurp("users.conf"), "carol"), "%s", slurp("users.conf"));
    cr_expect_null(strstr(slurp("qos_classes.conf"), "carol"), "%s", slurp("qos_classes.conf"));
    cr_expect(strstr(slurp("users.conf"), "[wireguard:alice:phone]"));
    cr_expect(strstr(slurp("qos_classes.conf"), "[device:alice:phone]"));
    load();
    cr_expect_eq(cfg.n_devices, 1);
}

/* A device whose address section was left alone in the classes file (edited by hand) can
 * still be removed, and blocks a new device of that name until it is. */
Test(device_admin, address_left_alone)
{
    put("qos_classes.conf", "[user:alice]\nvpn_ip = 10.8.0.5\n\n[device:alice:old]\n"
                            "vpn_ip = 10.8.0.9\n", 0644);
    load();
    open_locked();
    cr_expect_eq(device_admin_add(&a, "alice", "old", PUB, NULL, 0x0a080002, why,
                                  sizeof(why)), -1);
    cr_expect(strstr(why, "has a device 'old' already"), "%s", why);
    cr_assert_eq(device_admin_remove(&a, "alice", "old", why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(user_admin_commit(&a, why, sizeof(why)), 0, "%s", why);
    cr_expect_null(strstr(slurp("qos_classes.conf"), "old"));
}

static int refuse(const char *tmp, void *ctx, char *out, size_t len)
{
    snprintf(out, len, "refused");
    return -1;
}

/* The two halves of atomic_file_replace: nothing replaced until install; discard leaves
 * the old file and no temporary. */
Test(device_admin, atomic_prepare_install_discard)
{
    put("f", "old\n", 0600);
    struct atomic_file_pending p;
    cr_assert_eq(atomic_file_prepare(&p, in_dir("f"), "new\n", 4, 0600, NULL, NULL, why,
                                     sizeof(why)), 0, "%s", why);
    cr_expect_str_eq(slurp("f"), "old\n", "prepared, not installed");
    cr_assert_eq(atomic_file_install(&p, why, sizeof(why)), 0, "%s", why);
    cr_expect_str_eq(slurp("f"), "new\n");
    cr_assert_eq(atomic_file_prepare(&p, in_dir("f"), "newer\n", 6, 0600, NULL, NULL, why,
                                     sizeof(why)), 0, "%s", why);
    atomic_file_discard(&p);
    cr_expect_str_eq(slurp("f"), "new\n");
    cr_expect_eq(atomic_file_prepare(&p, in_dir("f"), "x\n", 2, 0600, refuse, NULL, why,
                                     sizeof(why)), -1);
    cr_expect_str_eq(why, "refused");
    cr_expect_eq(atomic_file_install(&p, why, sizeof(why)), -1, "nothing prepared");
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q '\\.tmp'", dir);
    cr_expect_neq(system(cmd), 0, "no temporary file left");
}
