/* The users file's WireGuard devices (core/lib/users_file.c, "[wireguard:USER:DEVICE]";
 * docs/WIREGUARD.md, phase 2): what is handed out,
 * in file order and after every user, and each refusal with its file, line and reason. The
 * device name rule itself is device_name.c's. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "vpn/keyfile.h"
#include "vpn/users_file.h"

#define TOKEN "7534dfc5bb83f1334c1dd32ff8f46bea35e851686dbed7a695cd0cf659cf01d8"
#define ALICE "[user:alice]\nauth_token = " TOKEN "\n"
#define BOB "[user:bob]\nauth_token = " TOKEN "\n"
/* Keys of 32 bytes 0x01.., 0x02.., ... in base64. */
#define K1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define K2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
#define K3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="

struct seen {
    char log[1024];
    int users, peers;
};

static int on_user(void *ctx, const struct users_file_entry *e, const char *file,
                   struct config_error *err)
{
    struct seen *s = ctx;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof(s->log) - n, "user %s;", e->name);
    s->users++;
    return 0;
}

static int on_peer(void *ctx, const struct users_file_wg_entry *p, const char *file,
                   struct config_error *err)
{
    struct seen *s = ctx;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof(s->log) - n, "peer %s:%s %02x psk=%d/%02x line %d;", p->user,
             p->device, p->public_key[0], p->has_preshared_key, p->preshared_key[0], p->line);
    s->peers++;
    return 0;
}

static int parse(const char *text, struct seen *s, struct config_error *err)
{
    memset(s, 0, sizeof(*s));
    static const struct users_file_handlers h = { on_user, on_peer };
    return users_file_parse_all("users.conf", text, strlen(text), &h, s, err);
}

Test(users_file_peers, devices_after_users_in_file_order)
{
    struct seen s;
    struct config_error err;
    const char *text = "[wireguard:bob:phone]\npublic_key = " K1 "\n\n" ALICE
                       "[wireguard:alice:laptop]\npublic_key = " K2 "\npreshared_key = " K3
                       "\n" BOB;
    cr_assert_eq(parse(text, &s, &err), 0, "%s", err.msg);
    cr_expect_str_eq(s.log, "user alice;user bob;peer bob:phone 01 psk=0/00 line 1;"
                            "peer alice:laptop 02 psk=1/03 line 6;");
    /* users_file_parse reads the same file and hands out the users alone. */
    memset(&s, 0, sizeof(s));
    cr_assert_eq(users_file_parse("users.conf", text, strlen(text), on_user, &s, &err), 0);
    cr_expect_eq(s.users, 2);
    cr_expect_eq(s.peers, 0);
}

Test(users_file_peers, refusals)
{
    static const struct { const char *text; const char *want; } cases[] = {
        { ALICE "[wireguard:alice:phone]\n", "users.conf:3: [wireguard:alice:phone] "
          "public_key: missing" },
        { ALICE "[wireguard:alice:phone]\npublic_key = AQEB\n", "users.conf:4: "
          "[wireguard:alice:phone] public_key: expected a 32-byte key in base64" },
        { ALICE "[wireguard:alice:phone]\npublic_key = " K1 "\npublic_key = " K2 "\n",
          "users.conf:5: [wireguard:alice:phone] public_key: given twice" },
        { ALICE "[wireguard:alice:phone]\npublic_key = " K1 "\npreshared_key = x\n",
          "preshared_key: expected a 32-byte key in base64 (44 characters, as `wg genpsk`" },
        { ALICE "[wireguard:alice:phone]\npublic_key = " K1 "\nauth_token = " TOKEN "\n",
          "auth_token: unknown key (expected public_key or preshared_key)" },
        { ALICE "[wireguard:alice]\n", "users.conf:3: [wireguard:alice]: expected USER:DEVICE" },
        { ALICE "[wireguard:alice:my phone]\n", "the device name must be 1 to 15" },
        { ALICE "[wireguard:alice:0123456789abcdef]\n", "the device name must be" },
        { ALICE "[wireguard::phone]\n", "the user name is not one" },
        { ALICE "[wireguard:bob:phone]\npublic_key = " K1 "\n", "users.conf:3: "
          "[wireguard:bob:phone]: no [user:bob] in this file" },
        { ALICE "[wireguard:alice:phone]\npublic_key = " K1 "\n[wireguard:alice:phone]\n"
          "public_key = " K2 "\n", "users.conf:5: [wireguard:alice:phone]: duplicate device "
          "(first at line 3)" },
        { ALICE BOB "[wireguard:alice:phone]\npublic_key = " K1 "\n[wireguard:bob:phone]\n"
          "public_key = " K1 "\n", "users.conf:7: [wireguard:bob:phone] public_key: the key "
          "of [wireguard:alice:phone] (line 5) already" },
        { "[device:alice:phone]\n", "unknown section (expected [user:NAME] or "
          "[wireguard:USER:DEVICE])" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct seen s;
        struct config_error err;
        cr_expect_eq(parse(cases[i].text, &s, &err), -1, "case %zu", i);
        cr_expect(strstr(err.msg, cases[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err.msg,
                  cases[i].want);
        cr_expect_eq(s.peers, 0, "case %zu: no device handed out of a refused file", i);
    }
}

Test(users_file_peers, at_most_sixteen_per_user)
{
    char text[8192] = ALICE;
    for (int i = 0; i <= USER_DEVICES_MAX; i++) {
        uint8_t key[32] = { (uint8_t)i, 0xaa };
        char b64[KEYFILE_B64_LEN + 1];
        keyfile_encode(key, b64);
        size_t n = strlen(text);
        snprintf(text + n, sizeof(text) - n, "[wireguard:alice:d%d]\npublic_key = %s\n", i, b64);
    }
    struct seen s;
    struct config_error err;
    cr_expect_eq(parse(text, &s, &err), -1);
    cr_expect(strstr(err.msg, "user 'alice' has more than 16 WireGuard devices"), "%s",
              err.msg);
    /* Sixteen are fine. */
    *strstr(text, "[wireguard:alice:d16]") = '\0';
    cr_expect_eq(parse(text, &s, &err), 0, "%s", err.msg);
    cr_expect_eq(s.peers, USER_DEVICES_MAX);
}
