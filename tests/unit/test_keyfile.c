/* Reading the server's private key file (core/lib/keyfile.c): who may own it, what its mode
 * may be, and that a symbolic link is refused rather than followed. Each refusal names the
 * path and says what to do; an accepted file gives back the key. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/keyfile.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 7748 section 6.1, Alice's private key, base64 */
#define KEY_B64 "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
enum { OWN = -1, OTHER_UID = 65534 };

static char dir[PATH_MAX];

static void make_dir(void)
{
    test_tmpdir_make(dir, "test_keyfile");
}

static void remove_dir(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(keyfile, .init = make_dir, .fini = remove_dir);

static const struct {
    const char *what;
    mode_t mode;
    int owner;          /* OWN: the test's uid */
    bool link;          /* given as a symbolic link to the file */
    const char *want;   /* NULL: accepted; else a phrase of the refusal */
} CASES[] = {
    { "0600, ours", 0600, OWN, false, NULL },
    { "0400, ours", 0400, OWN, false, NULL },
    { "owned by another uid", 0600, OTHER_UID, false, "owned by uid 65534" },
    { "a symbolic link to a good file", 0600, OWN, true, "symbolic link" },
    { "mode 0640", 0640, OWN, false, "chmod 600" },
    { "mode 0604", 0604, OWN, false, "chmod 600" },
};

Test(keyfile, owner_mode_and_symlinks)
{
    for (size_t i = 0; i < N(CASES); i++) {
        if (CASES[i].owner != OWN && geteuid() != 0) {
            cr_log_warn("%s: needs root to chown, skipped", CASES[i].what);
            continue;
        }
        const char *path = test_secret_file(dir, "server.key", KEY_B64 "\n", CASES[i].mode,
                                            (uid_t)CASES[i].owner, CASES[i].link ? "link.key" : NULL);
        uint8_t key[32];
        char err[512] = "";
        int rc = keyfile_read(path, key, err, sizeof(err));
        if (!CASES[i].want) {
            cr_expect_eq(rc, 0, "%s: refused: %s", CASES[i].what, err);
            uint8_t want[32];
            cr_assert_eq(keyfile_decode(KEY_B64, want), 0);
            cr_expect(rc != 0 || memcmp(key, want, 32) == 0, "%s: wrong key", CASES[i].what);
            continue;
        }
        cr_expect_eq(rc, -1, "%s: accepted", CASES[i].what);
        cr_expect(strstr(err, CASES[i].want), "%s: \"%s\" lacks \"%s\"", CASES[i].what, err,
                  CASES[i].want);
        cr_expect(strstr(err, path), "%s: \"%s\" does not name %s", CASES[i].what, err, path);
    }
}
