/* The user name rule (core/lib/username.c), and the promise of username.h: every door a name
 * comes through takes exactly the names the rule takes. For each name of one table: the rule
 * itself, client.conf's username, a users file's [user:NAME], a QoS classes file's
 * [user:NAME] and the handshake (a table holding the name, a request carrying it). A file
 * that cannot hold a name either refuses the line or reads another name (the INI reader
 * trims blanks): in both cases the name itself is not there. vpn-token is the fifth door; it
 * calls username_check on its argument (tests/integration/test_tools.sh runs it). */
#include "testutil.h"

#include "../../client/handshake_client.h"
#include "../../enclave/handshake_server.h"
#include "../../enclave/users.h"
#include "vpn/client_config.h"
#include "vpn/server_config.h"
#include "vpn/device_name.h"
#include "vpn/username.h"

#include "vectors.inc"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NAME63 "123456789012345678901234567890123456789012345678901234567890123"
#define TOKEN_HEX "95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f576"

static const struct {
    const char *name;
    const char *why;    /* NULL: accepted; else a phrase of the reason */
} NAMES[] = {
    { "a", NULL },
    { "alice", NULL },
    { "Alice Smith", NULL },                    /* a space inside */
    { "user.name-1_x", NULL },
    { "q\"uo\\te", NULL },                      /* JSON-escaped by vpnctl, fine in a name */
    { "a=b", NULL },
    { "#not-a-comment", NULL },
    { "j\xc3\xb6rg", NULL },                    /* jörg */
    { "\xe6\x97\xa5\xe6\x9c\xac", NULL },        /* 日本 */
    { "\xf0\x9f\x94\x91", NULL },                /* U+1F511 */
    { "a\xc2\xa0" "b", NULL },                  /* U+00A0, the first code point after C1 */
    { NAME63, NULL },
    { "", "is empty" },
    { NAME63 "4", "longer than 63 bytes" },
    { " alice", "space" },
    { "alice ", "space" },
    { "a:b", "':'" },
    { "alice:", "':'" },
    { "a]b", "'[' or ']'" },
    { "a[b", "'[' or ']'" },
    { "a\tb", "control character" },
    { "a\x1b[31m", "control character" },
    { "a\x7f", "control character" },
    { "a\xc2\x85z", "control character" },      /* U+0085, C1 */
    { "bad\xff", "UTF-8" },
    { "\xc0\xaf", "UTF-8" },                    /* overlong '/' */
    { "\xed\xa0\x80", "UTF-8" },                /* a surrogate */
    { "\xe6\x97", "UTF-8" },                    /* cut short */
    { "\xf4\x90\x80\x80", "UTF-8" },            /* above U+10FFFF */
    { "\x80", "UTF-8" },                        /* a lone continuation byte */
};

Test(username, rule)
{
    for (size_t i = 0; i < N(NAMES); i++) {
        const char *why = username_check(NAMES[i].name, strlen(NAMES[i].name));
        if (!NAMES[i].why) {
            cr_expect_null(why, "\"%s\": refused: %s", NAMES[i].name, why);
            continue;
        }
        cr_expect(why && strstr(why, NAMES[i].why), "\"%s\": want \"%s\", got \"%s\"",
                  NAMES[i].name, NAMES[i].why, why ? why : "accepted");
    }
}

Test(username, length_counts_and_nul_is_refused)
{
    cr_expect_null(username_check("alice and more", 5));
    cr_expect_not_null(username_check("a\0b", 3));
    cr_expect_not_null(username_check("alice", 0));
    /* The handshake passes up to 64 bytes that have no NUL. */
    char full[64];
    memset(full, 'x', sizeof(full));
    cr_expect_not_null(username_check(full, sizeof(full)));
    cr_expect_null(username_check(full, sizeof(full) - 1));
}

/* The device name rule of WireGuard peers (device_name_check): the name, NUL-padded, is a
 * 16-byte device id, and it stands in section headers and file names. */
Test(username, device_names)
{
    static const struct {
        const char *name, *why;
    } DEVICES[] = {
        { "phone", NULL },
        { "A-z_0.9", NULL },
        { "123456789012345", NULL },
        { "", "is empty" },
        { "1234567890123456", "longer than 15 bytes" },
        { "my phone", "other than A-Z" },
        { "a:b", "other than A-Z" },
        { "j\xc3\xb6rg", "other than A-Z" },
        { "a/b", "other than A-Z" },
    };
    for (size_t i = 0; i < N(DEVICES); i++) {
        const char *why = device_name_check(DEVICES[i].name, strlen(DEVICES[i].name));
        if (!DEVICES[i].why)
            cr_expect_null(why, "\"%s\": refused: %s", DEVICES[i].name, why);
        else
            cr_expect(why && strstr(why, DEVICES[i].why), "\"%s\": want \"%s\", got \"%s\"",
                      DEVICES[i].name, DEVICES[i].why, why ? why : "accepted");
    }
    cr_expect_not_null(device_name_check("a\0b", 3), "a NUL is no name's");
}

static char dir[PATH_MAX];

static void make_dir(void)
{
    cr_assert(sodium_init() >= 0);
    test_tmpdir_make(dir, "test_username");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(doors, .init = make_dir, .fini = remove_dir);

static const char *write_file(const char *name, const char *text)
{
    return test_secret_file(dir, name, text, 0600, (uid_t)-1, NULL);
}

static bool client_conf_takes(const char *name)
{
    static struct client_config cfg;
    struct config_error err;
    char text[512];
    snprintf(text, sizeof(text), "[client]\nserver_ip = 10.0.0.1\nusername = %s\n"
             "auth_token = " TOKEN_HEX "\nuser = root\n", name);
    const char *path = write_file("client.conf", text);
    return client_config_load(path, &cfg, &err) == 0 && strcmp(cfg.username, name) == 0;
}

static bool users_file_takes(const char *name)
{
    static struct user_table t;
    struct config_error err;
    char text[512];
    snprintf(text, sizeof(text), "[user:%s]\nauth_token = " TOKEN_HEX "\n", name);
    const char *path = write_file("users.conf", text);
    return users_load(path, &t, &err) == 0 && users_find(&t, name) >= 0;
}

static bool classes_file_takes(const char *name)
{
    static struct server_config cfg;
    struct config_error err;
    char text[512];
    const char *conf = write_file("server.conf", "[server]\ntun_ip = 10.8.0.1\n[network]\n"
                                  "client_ip_pool_start = 10.8.0.10\n"
                                  "client_ip_pool_end = 10.8.0.254\n[qos]\nclasses_file =\n");
    cr_assert_eq(server_config_load(conf, &cfg, &err), 0, "%s", err.msg);
    snprintf(text, sizeof(text), "[class:c]\nclassid = 1:10\nrate = 1Mbps\nceil = 1Mbps\n"
             "[user:%s]\nvpn_ip = 10.8.0.5\nclass = c\n", name);
    const char *path = write_file("qos_classes.conf", text);
    return server_config_load_classes(path, &cfg, &err) == 0 &&
           server_config_user_ip(&cfg, name) == 0x0a080005;
}

/* The handshake, given a table that holds the name whatever the loaders say (as a
 * compromised or buggy loader might): the request is identified as that user only when the
 * rule takes the name. */
static bool handshake_takes(const char *name)
{
    static struct user_table t;
    uint8_t s_priv[32], s_pub[32], e_priv[32], token[32], req[CONNECT_REQ_LEN];
    struct hs_client st;
    struct hs_request r;
    size_t n = strlen(name);

    if (n == 0 || n > USERNAME_MAX)
        return false;   /* the client cannot even put it into the 64-byte identity */
    unhex(s_priv, 32, V_SERVER_STATIC_PRIVATE);
    crypto_scalarmult_base(s_pub, s_priv);
    unhex(e_priv, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    unhex(token, 32, V_AUTH_TOKEN_HEX);
    memset(&t, 0, sizeof(t));
    t.count = 1;
    memcpy(t.users[0].name, name, n + 1);
    memcpy(t.users[0].token, token, 32);
    cr_assert(hs_client_request(&st, e_priv, s_pub, name, token, 1000, req));
    enum hs_verdict v = hs_server_open(s_priv, s_pub, req, sizeof(req), &t, &r);
    hs_request_wipe(&r);
    cr_assert_neq(v, HS_DROP, "\"%s\": a well-formed request is answered", name);
    return v == HS_AUTHENTICATED && r.user_index == 0;
}

Test(doors, every_door_takes_exactly_the_names_the_rule_takes)
{
    for (size_t i = 0; i < N(NAMES); i++) {
        const char *name = NAMES[i].name;
        bool want = NAMES[i].why == NULL;
        cr_expect_eq(client_conf_takes(name), want, "client.conf, \"%s\"", name);
        cr_expect_eq(users_file_takes(name), want, "users file, \"%s\"", name);
        cr_expect_eq(classes_file_takes(name), want, "classes file, \"%s\"", name);
        cr_expect_eq(handshake_takes(name), want, "handshake, \"%s\"", name);
    }
}
