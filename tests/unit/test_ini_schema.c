/* The schema engine (core/lib/ini_schema.c, ini_value.c) on a schema of its own: every value
 * type stored where its spec says, defaults for what a file leaves out (and only for that),
 * required keys, named sections, and every refusal with file, line, [section] key and what
 * was expected. The three real schemas are tested through their loaders
 * (test_server_config.c, test_client_config.c) and against README.md (test_readme_keys.c). */
#include "testutil.h"

#include <fcntl.h>
#include <stddef.h>

#include "vpn/ini_schema.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct toy {
    bool b;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    uint64_t bw;
    uint32_t ip;
    char lit[64];
    uint8_t prefix;
    char ifname[16];
    char path[64];
    char sock[PATH_MAX];
    struct ipv4_net nets[3];
    int n_nets;
    uint16_t major, minor;
    int level;
    uint8_t key[32];
    uint8_t token[32];
    char word[8];
    int word_calls, word_default_calls;
    char need[16];
    char opt_path[64];
};

/* KEY_CUSTOM: a lower-case word of up to 7 letters; counts its calls, line 0 apart. */
static int set_word(const struct ini_at *at, void *dst, const char *v, struct config_error *err)
{
    struct toy *t = at->obj;
    if (at->line)
        t->word_calls++;
    else
        t->word_default_calls++;
    if (strlen(v) >= 8 || strspn(v, "abcdefghijklmnopqrstuvwxyz") != strlen(v)) {
        ini_schema_errorf(err, at, "expected a lower-case word, got \"%.64s\"", v);
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

#define KEY(n, t, f) .name = n, .type = t, .off = offsetof(struct toy, f), \
                     .size = sizeof(((struct toy *)0)->f)

static const struct key_spec a_keys[] = {
    { KEY("b", KEY_BOOL, b), .def = "yes" },
    { KEY("u8", KEY_UINT, u8), .min = 1, .max = 200, .def = "7" },
    { KEY("u16", KEY_UINT, u16), .min = 0, .max = 65535 },
    { KEY("u32", KEY_UINT, u32), .min = 10, .max = 4000000000u, .expected = "ten or more" },
    { KEY("u64", KEY_UINT, u64), .min = 0, .max = UINT64_MAX },
    { KEY("bw", KEY_BANDWIDTH, bw), .def = "2.5Mbps" },
    { KEY("ip", KEY_IPV4, ip) },
    { KEY("lit", KEY_IP_LITERAL, lit), .def = "::" },
    { KEY("prefix", KEY_PREFIX, prefix), .def = "255.255.255.0" },
    { KEY("ifname", KEY_IFNAME, ifname), .flags = KEY_EMPTY_OK },
    { KEY("path", KEY_PATH, path), .def = "rel.file" },
    { KEY("sock", KEY_SOCKET_PATH, sock) },
    { KEY("nets", KEY_CIDR_LIST, nets), .aux = offsetof(struct toy, n_nets), .max = 3,
      .if_empty = "say none by leaving it out" },
    { KEY("classid", KEY_CLASSID, major), .aux = offsetof(struct toy, minor), .def = "1:ab" },
    { KEY("level", KEY_LOG_LEVEL, level), .def = "WARN" },
    { KEY("key", KEY_KEY, key) },
};

static const struct key_spec b_keys[] = {
    { KEY("token", KEY_TOKEN, token) },
    { KEY("word", KEY_CUSTOM, word), .set = set_word, .def = "dflt" },
    { KEY("need", KEY_IFNAME, need), .flags = KEY_REQUIRED },
    { KEY("opt", KEY_PATH, opt_path), .flags = KEY_EMPTY_OK, .def = "/default" },
};

/* Named sections [item:NAME]: up to 3, names of letters only. */
struct item {
    char name[16];
    uint32_t weight;
    int size;
    int header;
    int lines[2];
};
static struct item items[3];
static int n_items;

static void *open_item(void *ctx, const struct ini_at *at, const char *name, int **lines,
                       struct config_error *err)
{
    cr_assert_eq(ctx, (void *)&n_items, "the load call's ctx reaches open()");
    if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz") != strlen(name)) {
        ini_schema_errorf(err, at, "NAME must be letters");
        return NULL;
    }
    if (n_items == 3) {
        ini_schema_errorf(err, at, "more than 3 items");
        return NULL;
    }
    struct item *it = &items[n_items++];
    snprintf(it->name, sizeof(it->name), "%s", name);
    it->header = at->line;
    *lines = it->lines;
    return it;
}

static const struct key_spec item_keys[] = {
    { .name = "weight", .type = KEY_UINT, .off = offsetof(struct item, weight),
      .size = sizeof(uint32_t), .min = 1, .max = 9, .flags = KEY_REQUIRED },
    { .name = "size", .type = KEY_UINT, .off = offsetof(struct item, size), .size = sizeof(int),
      .min = 0, .max = 100, .def = "42" },
};

static const struct section_spec sections[] = {
    { .name = "a", .keys = a_keys, .n_keys = N(a_keys) },
    { .name = "b", .keys = b_keys, .n_keys = N(b_keys) },
    { .name = "item", .named = true, .keys = item_keys, .n_keys = N(item_keys),
      .open = open_item },
};
static const struct ini_schema toy_schema = { sections, N(sections) };

static char dir[PATH_MAX];
static struct toy toy;
static struct ini_schema_state st;

static void make_dir(void)
{
    test_tmpdir_make(dir, "test_ini_schema");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(ini_schema, .init = make_dir, .fini = remove_dir);

static const char *in_dir(const char *name)
{
    static char p[PATH_MAX];
    cr_assert_lt(snprintf(p, sizeof(p), "%s/%s", dir, name), (int)sizeof(p));
    return p;
}

static int load(const char *text, struct config_error *err)
{
    const char *path = test_secret_file(dir, "toy.conf", text, 0600, (uid_t)-1, NULL);
    memset(&toy, 0, sizeof(toy));
    memset(items, 0, sizeof(items));
    n_items = 0;
    memset(err, 0, sizeof(*err));
    return ini_schema_load_file(&toy_schema, path, &toy, &n_items, &st, err);
}

#define NEED "[b]\nneed = eth0\n"       /* lines 1-2: the one required plain key */

Test(ini_schema, every_type_stored_where_its_spec_says)
{
    struct config_error err;
    const char *text =
        "[b]\n"
        "need = eth0\n"
        "token = 95084E631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f576\n"
        "[a]\n"
        "b = off\n"
        "u8 = 200\n"
        "u16 = 65535\n"
        "u32 = 4000000000\n"
        "u64 = 18446744073709551615\n"
        "bw = 12mbit\n"
        "ip = 10.8.0.1\n"
        "lit = 2001:db8::1\n"
        "prefix = 16\n"
        "ifname = vpn-0\n"
        "path = sub/x\n"
        "sock = /run/s.sock\n"
        "nets = 10.0.0.0/8, 192.168.1.0/24\n"
        "classid = 1:FFFF\n"
        "level = debug\n"
        "key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
    cr_assert_eq(load(text, &err), 0, "%s", err.msg);
    cr_expect_eq(toy.b, false);
    cr_expect_eq(toy.u8, 200);
    cr_expect_eq(toy.u16, 65535);
    cr_expect_eq(toy.u32, 4000000000u);
    cr_expect_eq(toy.u64, UINT64_MAX);
    cr_expect_eq(toy.bw, 12000000);
    cr_expect_eq(toy.ip, 0x0a080001);
    cr_expect_str_eq(toy.lit, "2001:db8::1");
    cr_expect_eq(toy.prefix, 16);
    cr_expect_str_eq(toy.ifname, "vpn-0");
    cr_expect_str_eq(toy.path, in_dir("sub/x"), "relative to the file's directory");
    cr_expect_str_eq(toy.sock, "/run/s.sock");
    cr_assert_eq(toy.n_nets, 2);
    cr_expect(toy.nets[0].addr == 0x0a000000 && toy.nets[0].prefix == 8);
    cr_expect(toy.nets[1].addr == 0xc0a80100 && toy.nets[1].prefix == 24);
    cr_expect(toy.major == 1 && toy.minor == 0xffff);
    cr_expect_eq(toy.level, LOG_DEBUG);
    for (int i = 0; i < 32; i++)
        cr_expect_eq(toy.key[i], i);
    cr_expect(toy.token[0] == 0x95 && toy.token[31] == 0x76);
    cr_expect_str_eq(st.dir, in_dir(""));
}

Test(ini_schema, defaults_fill_what_the_file_left_out_and_nothing_else)
{
    struct config_error err;
    cr_assert_eq(load(NEED "[a]\nu8 = 9\nlevel = ERROR\n", &err), 0, "%s", err.msg);
    cr_expect_eq(toy.u8, 9, "given: no default");
    cr_expect_eq(toy.level, LOG_ERROR);
    cr_expect_eq(toy.b, true, "default \"yes\"");
    cr_expect_eq(toy.bw, 2500000);
    cr_expect_str_eq(toy.lit, "::");
    cr_expect_eq(toy.prefix, 24);
    cr_expect_str_eq(toy.path, in_dir("rel.file"), "a default path resolves like a value");
    cr_expect(toy.major == 1 && toy.minor == 0xab);
    cr_expect_eq(toy.u16, 0, "no default: zero stays");
    cr_expect_str_eq(toy.word, "dflt", "a setter's default goes through the setter");
    cr_expect_eq(toy.word_calls, 0);
    cr_expect_eq(toy.word_default_calls, 1, "applied once, at line 0");
    cr_expect_str_eq(toy.opt_path, "/default");

    /* given, even empty: its default is not applied */
    cr_assert_eq(load(NEED "opt =\nword = mine\n", &err), 0, "%s", err.msg);
    cr_expect_str_eq(toy.opt_path, "");
    cr_expect_str_eq(toy.word, "mine");
    cr_expect_eq(toy.word_default_calls, 0);
}

Test(ini_schema, lines_of_keys_and_sections)
{
    struct config_error err;
    cr_assert_eq(load("# comment\n" NEED "[a]\n\nu16 = 3\n", &err), 0, "%s", err.msg);
    cr_expect_eq(ini_schema_section_line(&st, "b"), 2);
    cr_expect_eq(ini_schema_line(&st, "b", "need"), 3);
    cr_expect_eq(ini_schema_section_line(&st, "a"), 4);
    cr_expect_eq(ini_schema_line(&st, "a", "u16"), 6);
    cr_expect_eq(ini_schema_line(&st, "a", "u8"), 0, "defaulted");
    cr_expect_eq(ini_schema_line(&st, "a", "nope"), 0);
    cr_expect_eq(ini_schema_line(&st, "nope", "u8"), 0);
    cr_expect_eq(ini_schema_section_line(&st, "item"), 0, "named sections have no line here");
    cr_expect_not_null(ini_schema_key(&toy_schema, "a", "bw"));
    cr_expect_null(ini_schema_key(&toy_schema, "a", "need"));
}

Test(ini_schema, named_sections)
{
    struct config_error err;
    cr_assert_eq(load(NEED "[item:x]\nweight = 1\n[item:y]\nsize = 5\nweight = 9\n", &err), 0,
                 "%s", err.msg);
    cr_assert_eq(n_items, 2);
    cr_expect_str_eq(items[0].name, "x");
    cr_expect_eq(items[0].weight, 1);
    cr_expect_eq(items[0].size, 42, "default applied when the section ended");
    cr_expect_eq(items[0].header, 3);
    cr_expect(items[0].lines[0] == 4 && items[0].lines[1] == 0);
    cr_expect_str_eq(items[1].name, "y");
    cr_expect(items[1].weight == 9 && items[1].size == 5);
    cr_expect(items[1].lines[0] == 7 && items[1].lines[1] == 6);
}

/* One mistake per entry, where the message must point, and a phrase of it. */
static const struct {
    const char *text;
    int line;
    const char *where;      /* "[section] key" as the message shows it */
    const char *what;
} bad[] = {
    /* structure */
    { NEED "[c]\n", 3, "[c]", "unknown section; expected [a], [b] or [item:NAME]" },
    { NEED "[item]\n", 3, "[item]", "unknown section" },
    { NEED "[a]\n[b]\n", 4, "[b]", "section repeated (first at line 1)" },
    { "u8 = 1\n" NEED, 1, "u8", "key outside any [section] (expected [a], [b] or [item:NAME] "
                                "first)" },
    { NEED "colour = red\n", 3, "[b] colour", "unknown key; [b] has token, word, need and opt" },
    { NEED "[item:x]\nweight = 1\ncolour = 2\n", 5, "[item:x] colour",
      "unknown key; [item:NAME] has weight and size" },
    { NEED "need = eth1\n", 3, "[b] need", "duplicate key (first at line 2)" },
    { NEED "[item:x]\nweight = 1\nweight = 2\n", 5, "[item:x] weight",
      "duplicate key (first at line 4)" },
    { NEED "[a]\nu8 =\n", 4, "[a] u8", "empty value" },
    { NEED "[a]\nnets =\n", 4, "[a] nets", "empty value; say none by leaving it out" },
    /* required: at the header's line, 0 when the section is absent */
    { "[a]\n", 0, "[b] need", "required key is missing" },
    { "[a]\n\n[b]\nword = x\n", 3, "[b] need", "required key is missing" },
    { NEED "[item:x]\nsize = 1\n[item:y]\nweight = 1\n", 3, "[item:x] weight",
      "required key is missing" },
    { NEED "[item:x]\nsize = 1\n", 3, "[item:x] weight", "required key is missing" },
    /* the open() callback refuses */
    { NEED "[item:X1]\n", 3, "[item:X1]", "NAME must be letters" },
    { NEED "[item:a]\nweight=1\n[item:b]\nweight=1\n[item:c]\nweight=1\n[item:d]\n", 9,
      "[item:d]", "more than 3 items" },
    /* each type's refusal */
    { NEED "[a]\nb = maybe\n", 4, "[a] b", "expected true or false (yes/no, on/off, 1/0), got "
                                           "\"maybe\"" },
    { NEED "[a]\nu8 = 0\n", 4, "[a] u8", "expected a whole number from 1 to 200, got \"0\"" },
    { NEED "[a]\nu8 = 201\n", 4, "[a] u8", "from 1 to 200" },
    { NEED "[a]\nu16 = 65536\n", 4, "[a] u16", "from 0 to 65535" },
    { NEED "[a]\nu32 = 9\n", 4, "[a] u32", "expected ten or more, got \"9\"" },
    { NEED "[a]\nu64 = 18446744073709551616\n", 4, "[a] u64", "whole number" },
    { NEED "[a]\nu16 = 0x10\n", 4, "[a] u16", "got \"0x10\"" },
    { NEED "[a]\nbw = 5\n", 4, "[a] bw", "expected a bandwidth like 5Mbps" },
    { NEED "[a]\nip = 10.8.0\n", 4, "[a] ip", "expected a dotted IPv4 address" },
    { NEED "[a]\nlit = localhost\n", 4, "[a] lit", "numeric IPv4 or IPv6 address" },
    { NEED "[a]\nprefix = 31\n", 4, "[a] prefix", "prefix length from 1 to 30" },
    { NEED "[a]\nprefix = 255.0.255.0\n", 4, "[a] prefix", "contiguous dotted mask" },
    { NEED "[a]\nifname = a b\n", 4, "[a] ifname", "interface name of 1 to 15" },
    { NEED "[a]\nsock = /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", 4, "[a] sock",
      "limit of a Unix socket" },
    { NEED "[a]\npath = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 4,
      "[a] path", "path longer than 63 bytes" },
    { NEED "[a]\nnets = 10.0.0.1/8\n", 4, "[a] nets", "host bits zero), got \"10.0.0.1/8\"" },
    { NEED "[a]\nnets = 10.0.0.0/8,,\n", 4, "[a] nets", "got \"\"" },
    { NEED "[a]\nnets = 1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8\n", 4, "[a] nets",
      "at most 3 networks" },
    { NEED "[a]\nclassid = 1:1\n", 4, "[a] classid", "tc classid 1:MINOR" },
    { NEED "[a]\nclassid = 2:10\n", 4, "[a] classid", "got \"2:10\"" },
    { NEED "[a]\nlevel = LOUD\n", 4, "[a] level", "expected DEBUG, INFO, WARN or ERROR" },
    { NEED "[a]\nkey = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 4, "[a] key",
      "base64 key of 44 characters" },
    { NEED "token = 95084e63\n", 3, "[b] token", "expected 64 hex characters" },
    { NEED "word = UPPER\n", 3, "[b] word", "expected a lower-case word, got \"UPPER\"" },
    { NEED "[item:x]\nweight = 10\n", 4, "[item:x] weight", "from 1 to 9" },
};

Test(ini_schema, every_refusal_names_file_line_and_key)
{
    for (size_t i = 0; i < N(bad); i++) {
        struct config_error err;
        char where[PATH_MAX + 32];
        cr_expect_eq(load(bad[i].text, &err), -1, "case %zu accepted", i);
        snprintf(where, sizeof(where), "%s:%d: %s: ", in_dir("toy.conf"), bad[i].line,
                 bad[i].where);
        cr_expect(strncmp(err.msg, where, strlen(where)) == 0, "case %zu: want \"%s\" in: %s", i,
                  where, err.msg);
        cr_expect(strstr(err.msg, bad[i].what), "case %zu: want \"%s\" in: %s", i, bad[i].what,
                  err.msg);
    }
}

Test(ini_schema, a_token_is_never_quoted_and_erased_when_refused)
{
    struct config_error err;
    static const uint8_t zero[32];
    cr_assert_eq(load(NEED "token = 95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa"
                           "31f5\n", &err), -1);
    cr_expect(!strstr(err.msg, "95084e63"), "quoted: %s", err.msg);
    cr_expect(memcmp(toy.token, zero, 32) == 0);
}

Test(ini_schema, a_schema_beyond_the_state_is_refused)
{
    static struct key_spec many[INI_SCHEMA_KEYS_MAX + 1];
    for (size_t i = 0; i < N(many); i++)
        many[i] = (struct key_spec){ .name = "k", .type = KEY_BOOL };
    const struct section_spec big[] = { { .name = "s", .keys = many, .n_keys = N(many) } };
    const struct ini_schema schema = { big, 1 };
    struct config_error err;
    const char *path = test_secret_file(dir, "toy.conf", "", 0600, (uid_t)-1, NULL);
    cr_expect_eq(ini_schema_load_file(&schema, path, &toy, NULL, &st, &err), -1);
    cr_expect(strstr(err.msg, "too many keys"), "%s", err.msg);
}

Test(ini_schema, the_file_itself)
{
    struct config_error err;
    cr_expect_eq(ini_schema_load_file(&toy_schema, in_dir("absent.conf"), &toy, NULL, &st,
                                      &err), -1);
    cr_expect(strstr(err.msg, "absent.conf:0: ") && strstr(err.msg, "No such file"), "%s",
              err.msg);
    int fd = open(test_secret_file(dir, "toy.conf", NEED, 0600, (uid_t)-1, NULL), O_RDONLY);
    cr_assert(fd >= 0);
    memset(&toy, 0, sizeof(toy));
    cr_expect_eq(ini_schema_load_fd(&toy_schema, fd, in_dir("toy.conf"), &toy, &n_items, &st,
                                    &err), 0, "%s", err.msg);
    close(fd);
    cr_expect_str_eq(toy.need, "eth0");
}
