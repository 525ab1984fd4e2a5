/* Opening the enclave's users file (enclave/users.c): who may own it, what its mode may be,
 * and that a symbolic link is refused rather than followed. Each refusal names the path and
 * says what to do; an accepted file is loaded. Its WireGuard peers: read, refused by the
 * file's rules, and a reload's effect on the live peer table (enclave/wg_peers.c). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/keyfile.h"
#include "vpn/limits.h"
#include "../../enclave/users.h"
#include "../../enclave/wg_peers.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define USERS "[user:alice]\n" \
              "auth_token = 7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8\n"
enum { OWN = -1, OTHER_UID = 65534 };

static char dir[PATH_MAX];
static struct user_table table;

static void make_dir(void)
{
    test_tmpdir_make(dir, "test_users");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(users, .init = make_dir, .fini = remove_dir);

static const struct {
    const char *what;
    mode_t mode;
    int owner;          /* OWN: the test's uid */
    bool link;          /* given as a symbolic link to the file */
    const char *want;   /* NULL: accepted; else a phrase of the refusal */
} CASES[] = {
    { "0600, ours", 0600, OWN, false, NULL },
    { "owned by another uid", 0600, OTHER_UID, false, "owned by uid 65534" },
    { "a symbolic link to a good file", 0600, OWN, true, "symbolic link" },
    { "mode 0640", 0640, OWN, false, "chmod 600" },
};

/* Through users_load (path), and through users_open + users_load_fd, as the supervisor does
 * (it keeps the descriptor to re-read the file on SIGHUP). */
Test(users, owner_mode_and_symlinks)
{
    for (size_t i = 0; i < N(CASES); i++) {
        if (CASES[i].owner != OWN && geteuid() != 0) {
            cr_log_warn("%s: needs root to chown, skipped", CASES[i].what);
            continue;
        }
        const char *path = test_secret_file(dir, "users.conf", USERS, CASES[i].mode,
                                            (uid_t)CASES[i].owner, CASES[i].link ? "link.conf" : NULL);
        for (int via_fd = 0; via_fd < 2; via_fd++) {
            struct config_error err = { "" };
            int rc;
            if (via_fd) {
                int fd = users_open(path, &err);
                rc = fd < 0 ? -1 : users_load_fd(fd, path, &table, &err);
                if (fd >= 0)
                    close(fd);
            } else {
                rc = users_load(path, &table, &err);
            }
            const char *how = via_fd ? "users_open + users_load_fd" : "users_load";
            if (!CASES[i].want) {
                cr_expect_eq(rc, 0, "%s, %s: refused: %s", CASES[i].what, how, err.msg);
                cr_expect(rc != 0 || (table.count == 1 && users_find(&table, "alice") == 0),
                          "%s, %s: not loaded", CASES[i].what, how);
                continue;
            }
            cr_expect_eq(rc, -1, "%s, %s: accepted", CASES[i].what, how);
            cr_expect(strstr(err.msg, CASES[i].want), "%s, %s: \"%s\" lacks \"%s\"",
                      CASES[i].what, how, err.msg, CASES[i].want);
            cr_expect(strstr(err.msg, path), "%s, %s: \"%s\" does not name %s", CASES[i].what,
                      how, err.msg, path);
        }
    }
}

/* User names follow the rule of every door (username.h; tests/unit/test_username.c has the
 * whole table); the refusal names the header's line and says which part of the rule. */
Test(users, names_outside_the_rule_are_refused_at_their_header)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        { "[user:a:b]\n", "users.conf:1: [user:a:b]: user name contains ':'" },
        { "[user: alice]\n", "users.conf:1: [user: alice]: user name begins or ends with a space" },
        { "[user:]\n", "users.conf:1: [user:]: user name is empty" },
        { "# x\n[user:bad\xff]\n", "user name is not well-formed UTF-8" },
        { "[user:0123456789012345678901234567890123456789012345678901234567890123]\n",
          "user name is longer than 63 bytes; expected 1 to 63 bytes of UTF-8" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        const char *path = test_secret_file(dir, "users.conf", bad[i].text, 0600, (uid_t)-1,
                                            NULL);
        struct config_error err = { "" };
        cr_expect_eq(users_load(path, &table, &err), -1, "case %zu accepted", i);
        cr_expect(strstr(err.msg, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  bad[i].want);
    }
}

static int ended_count[3];
static void count_ended(const char *name, enum user_end why, void *ctx)
{
    (void)name;
    (void)ctx;
    ended_count[why]++;
}

/* "disabled = true" (vpnctl user disable): read, refused when malformed or given twice, and a
 * reload that disables a user ends its sessions (USER_END_DISABLED); enabling is a change
 * that ends nothing. */
Test(users, disabled_users)
{
    const char *path = test_secret_file(dir, "users.conf", USERS "disabled = true\n", 0600,
                                        (uid_t)-1, NULL);
    struct config_error err = { "" };
    cr_assert_eq(users_load(path, &table, &err), 0, "%s", err.msg);
    cr_expect_eq(table.users[0].disabled, 1);
    static const struct { const char *text, *want; } bad[] = {
        { USERS "disabled = maybe\n",
          "users.conf:3: [user:alice] disabled: expected true or false" },
        { USERS "disabled = false\ndisabled = true\n", "disabled: given twice" },
        { USERS "enabled = true\n", "unknown key (expected auth_token or disabled)" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        path = test_secret_file(dir, "users.conf", bad[i].text, 0600, (uid_t)-1, NULL);
        cr_expect_eq(users_load(path, &table, &err), -1, "case %zu accepted", i);
        cr_expect(strstr(err.msg, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  bad[i].want);
    }

    static struct user_table live, next;
    path = test_secret_file(dir, "users.conf", USERS, 0600, (uid_t)-1, NULL);
    cr_assert_eq(users_load(path, &live, &err), 0);
    next = live;
    next.users[0].disabled = 1;
    uint32_t gen = live.users[0].gen;
    cr_expect_eq(users_merge(&live, &next, 1, count_ended, NULL), 1);
    cr_expect_eq(ended_count[USER_END_DISABLED], 1);
    cr_expect_eq(live.users[0].disabled, 1);
    cr_expect_neq(live.users[0].gen, gen, "its keys die");
    cr_expect_eq(users_merge(&live, &next, 1, count_ended, NULL), 0, "nothing changed");
    next.users[0].disabled = 0;
    gen = live.users[0].gen;
    cr_expect_eq(users_merge(&live, &next, 1, count_ended, NULL), 1);
    cr_expect_eq(live.users[0].disabled, 0);
    cr_expect_eq(live.users[0].gen, gen, "enabling ends nothing");
    cr_expect_eq(ended_count[USER_END_DISABLED], 1);
    cr_expect_eq(ended_count[USER_END_REMOVED] + ended_count[USER_END_TOKEN_CHANGED], 0);
}

/* ---- WireGuard peers: "[wireguard:USER:DEVICE]" (docs/WIREGUARD.md) ---- */

#define KEY1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define KEY2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
#define KEY3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
#define BOB "[user:bob]\n" \
            "auth_token = 0000000000000000000000000000000000000000000000000000000000000001\n"
/* alice's phone (line 3) with a preshared key; bob's laptop; carol's tablet written before
 * carol herself (a peer's user may come anywhere in the file). */
#define PEERS "[wireguard:alice:phone]\npublic_key = " KEY1 "\npreshared_key = " KEY3 "\n" \
              "[wireguard:carol:tab-1.x_y]\npublic_key = " KEY3 "\n"                        \
              BOB "[wireguard:bob:laptop]\npublic_key = " KEY2 "\n"                         \
              "[user:carol]\n"                                                              \
              "auth_token = 0000000000000000000000000000000000000000000000000000000000000002\n"

static struct wg_peer_list peer_list;

Test(users, wireguard_peers_are_read)
{
    const char *path = test_secret_file(dir, "users.conf", USERS PEERS, 0600, (uid_t)-1, NULL);
    struct config_error err = { "" };
    cr_assert_eq(users_load_all(path, &table, &peer_list, &err), 0, "%s", err.msg);
    cr_assert_eq(table.count, 3);
    cr_assert_eq(peer_list.count, 3);
    static const uint8_t phone[DEVICE_ID_LEN] = "phone", tablet[DEVICE_ID_LEN] = "tab-1.x_y";
    uint8_t k1[32], k3[32], zero[32] = { 0 };
    memset(k1, 1, sizeof(k1));
    memset(k3, 3, sizeof(k3));
    const struct wg_peer_def *d = &peer_list.defs[0];
    cr_expect_str_eq(d->user, "alice");
    cr_expect(memcmp(d->device_id, phone, DEVICE_ID_LEN) == 0, "the id is the name, padded");
    cr_expect(memcmp(d->public_key, k1, 32) == 0 && memcmp(d->psk, k3, 32) == 0);
    d = &peer_list.defs[1];
    cr_expect_str_eq(d->user, "carol");
    cr_expect(memcmp(d->device_id, tablet, DEVICE_ID_LEN) == 0);
    cr_expect(memcmp(d->psk, zero, 32) == 0, "no preshared key: the zero key");
    cr_expect_str_eq(peer_list.defs[2].user, "bob");
    /* vpnctl's reader and the plain load take the same file. */
    cr_expect_eq(users_load(path, &table, &err), 0, "%s", err.msg);
}

Test(users, wireguard_sections_outside_the_rules_are_refused)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        { USERS "[wireguard:alice:phone]\npublic_key = abc\n",
          "users.conf:4: [wireguard:alice:phone] public_key: expected the base64 of 32 bytes "
          "(44 characters, as `wg pubkey` prints)" },
        { USERS "[wireguard:alice:phone]\npublic_key = " KEY1 "\npreshared_key = " KEY1 "x\n",
          "users.conf:5: [wireguard:alice:phone] preshared_key: expected the base64 of 32 "
          "bytes (44 characters, as `wg genpsk` prints)" },
        { USERS "[wireguard:alice:phone]\npublic_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
          "public_key: the all-zero key is no device's key" },
        { USERS "[wireguard:alice:phone]\npreshared_key = " KEY1 "\n",
          "users.conf:3: [wireguard:alice:phone] public_key: missing" },
        { USERS "[wireguard:alice:phone]\npublic_key = " KEY1 "\npublic_key = " KEY2 "\n",
          "users.conf:5: [wireguard:alice:phone] public_key: given twice" },
        { USERS "[wireguard:alice:phone]\npublic_key = " KEY1 "\nendpoint = 1.2.3.4:5\n",
          "endpoint: unknown key (expected public_key or preshared_key)" },
        { USERS "[wireguard:zed:phone]\npublic_key = " KEY1 "\n",
          "users.conf:3: [wireguard:zed:phone]: no [user:zed] in this file" },
        { USERS "[wireguard:alice:phone]\npublic_key = " KEY1 "\n"
          "[wireguard:alice:phone]\npublic_key = " KEY2 "\n",
          "users.conf:5: [wireguard:alice:phone]: duplicate device (first at line 3)" },
        { USERS BOB "[wireguard:alice:phone]\npublic_key = " KEY1 "\n"
          "[wireguard:bob:laptop]\npublic_key = " KEY1 "\n",
          "users.conf:7: [wireguard:bob:laptop] public_key: also the key of "
          "[wireguard:alice:phone] (line 5); a key belongs to one device" },
        { USERS "[wireguard:alice]\n", "[wireguard:alice]: expected [wireguard:USER:DEVICE]" },
        { USERS "[wireguard:alice:]\n", "device name is empty; expected 1 to 15 letters, digits" },
        { USERS "[wireguard:alice:my phone]\n",
          "device name contains a character other than A-Z, a-z, 0-9, '_', '.' or '-'" },
        { USERS "[wireguard:alice:0123456789abcdef]\n", "device name is longer than 15 bytes" },
        { USERS "[wireguard: alice:phone]\n", "user name begins or ends with a space" },
        { USERS "[peer:alice]\n",
          "unknown section (expected [user:NAME] or [wireguard:USER:DEVICE])" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        const char *path = test_secret_file(dir, "users.conf", bad[i].text, 0600, (uid_t)-1,
                                            NULL);
        struct config_error err = { "" };
        cr_expect_eq(users_load_all(path, &table, &peer_list, &err), -1, "case %zu accepted", i);
        cr_expect(strstr(err.msg, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  bad[i].want);
        cr_expect(!strstr(err.msg, KEY1 "x"), "case %zu: a preshared key is never quoted", i);
        cr_expect_eq(peer_list.count, 0, "case %zu: nothing kept of a refused file", i);
    }
}

/* A user's devices are bounded by the enclave's per-user table: sixteen load, a seventeenth
 * is refused with its line, wherever in the file the user's sections are. */
Test(users, at_most_sixteen_devices_per_user)
{
    static char text[8192];
    snprintf(text, sizeof(text), "%s", USERS BOB);
    for (int i = 0; i <= USER_DEVICES_MAX; i++) {
        uint8_t key[32] = { (uint8_t)(i + 1), 0xaa };
        char b64[KEYFILE_B64_LEN + 1];
        keyfile_encode(key, b64);
        size_t n = strlen(text);
        /* bob's one device between alice's, so that hers are not all adjacent in the file */
        snprintf(text + n, sizeof(text) - n, "%s[wireguard:alice:d%d]\npublic_key = %s\n",
                 i == 3 ? "[wireguard:bob:phone]\npublic_key = " KEY1 "\n" : "", i, b64);
    }
    const char *path = test_secret_file(dir, "users.conf", text, 0600, (uid_t)-1, NULL);
    struct config_error err = { "" };
    cr_expect_eq(users_load_all(path, &table, &peer_list, &err), -1);
    cr_expect(strstr(err.msg, ": user 'alice' has more than 16 WireGuard devices"), "%s",
              err.msg);
    cr_expect(strstr(err.msg, "[wireguard:alice:d"), "names one of hers: %s", err.msg);
    *strstr(text, "[wireguard:alice:d16]") = '\0';
    path = test_secret_file(dir, "users.conf", text, 0600, (uid_t)-1, NULL);
    cr_expect_eq(users_load_all(path, &table, &peer_list, &err), 0, "%s", err.msg);
    cr_expect_eq(peer_list.count, USER_DEVICES_MAX + 1);
}

static char ended_peers[4][80];
static int n_ended_peers;
static void peer_ended(const char *user, const char *device, void *ctx)
{
    (void)ctx;
    snprintf(ended_peers[n_ended_peers++ % 4], sizeof(ended_peers[0]), "%s:%s", user, device);
}

/* A reload as the supervisor makes it (enclave/main.c, reload_users): peers out, users merged,
 * peers in. A removed peer's entry and a re-keyed one's get a new generation (their keys die,
 * test_wg_worker), each is reported; an unchanged one keeps its entry and generation. */
Test(users, a_reload_ends_removed_and_re_keyed_peers)
{
    static struct user_table live, next;
    static struct wg_peer_table peers_live;
    static struct wg_peer_list next_peers;
    struct config_error err = { "" };
    const char *path = test_secret_file(dir, "users.conf", USERS PEERS, 0600, (uid_t)-1, NULL);
    cr_assert_eq(users_load_all(path, &live, &peer_list, &err), 0, "%s", err.msg);
    wg_peers_init(&peers_live);
    int skipped = -1;
    cr_assert_eq(wg_peers_admit(&peers_live, &live, &peer_list, 1000, &skipped), 3);
    cr_assert_eq(skipped, 0);
    cr_assert_eq(wg_peers_count(&peers_live), 3);
    uint8_t k1[32], k2[32], k3[32];
    memset(k1, 1, 32);
    memset(k2, 2, 32);
    memset(k3, 3, 32);
    struct wg_peer_view phone, laptop, tablet, v;
    cr_assert(wg_peers_find(&peers_live, k1, &phone) && wg_peers_find(&peers_live, k2, &laptop) &&
              wg_peers_find(&peers_live, k3, &tablet));
    cr_expect_eq(phone.user_index, 0);
    cr_expect_eq(laptop.user_index, users_find(&live, "bob"));

    /* alice's phone gone, bob's laptop with a preshared key now, carol's tablet unchanged. */
    path = test_secret_file(dir, "users.conf",
                            USERS "[wireguard:carol:tab-1.x_y]\npublic_key = " KEY3 "\n" BOB
                            "[wireguard:bob:laptop]\npublic_key = " KEY2 "\npreshared_key = "
                            KEY1 "\n[user:carol]\nauth_token = "
                            "0000000000000000000000000000000000000000000000000000000000000002\n",
                            0600, (uid_t)-1, NULL);
    cr_assert_eq(users_load_all(path, &next, &next_peers, &err), 0, "%s", err.msg);
    n_ended_peers = 0;
    cr_expect_eq(wg_peers_retire(&peers_live, &live, &next_peers, peer_ended, NULL), 2);
    cr_expect_eq(n_ended_peers, 2);
    cr_expect_str_eq(ended_peers[0], "alice:phone");
    cr_expect_str_eq(ended_peers[1], "bob:laptop");
    cr_expect_eq(users_merge(&live, &next, 2000, NULL, NULL), 0);
    cr_expect_eq(wg_peers_admit(&peers_live, &live, &next_peers, 2000, &skipped), 1);
    cr_expect_eq(wg_peers_count(&peers_live), 2);
    cr_expect(!wg_peers_find(&peers_live, k1, &v), "the removed key is nobody's");
    cr_expect_neq(wg_peers_gen(&peers_live, phone.index), phone.gen, "its keys die");
    cr_assert(wg_peers_find(&peers_live, k2, &v));
    cr_expect(v.gen != laptop.gen || v.index != laptop.index, "re-keyed: its old keys die");
    cr_expect(memcmp(v.psk, k1, 32) == 0, "with the new preshared key");
    cr_assert(wg_peers_find(&peers_live, k3, &v));
    cr_expect(v.index == tablet.index && v.gen == tablet.gen, "unchanged: its keys live on");
}
