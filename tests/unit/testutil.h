/* Small helpers shared by the unit tests. */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

/* Decodes hex into out (capacity cap); returns the byte count, failing the test on bad hex. */
static inline size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;
    cr_assert_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0, "bad hex: %s", hex);
    return n;
}

/* n == 0 short-circuits: memcmp with a NULL pointer is undefined even for no bytes (UBSan). */
/* A fresh directory under /tmp for a suite's fixture files, made absolute with realpath (the
 * loaders resolve paths the same way), and its removal with everything in it. */
static inline void test_tmpdir_make(char dir[PATH_MAX], const char *prefix)
{
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "/tmp/%s_XXXXXX", prefix);
    cr_assert(mkdtemp(tmpl));
    cr_assert(realpath(tmpl, dir));
}

static inline int test_tmpdir_remove_entry(const char *path, const struct stat *st, int flag,
                                           struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void test_tmpdir_remove(const char *dir)
{
    nftw(dir, test_tmpdir_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* n bytes at got are the hex text want_hex (no more, no less); what names them in a failure. */
static inline void assert_hex(const uint8_t *got, size_t n, const char *want_hex, const char *what)
{
    uint8_t want[2048];
    cr_assert_eq(unhex(want, sizeof(want), want_hex), n, "%s: length", what);
    cr_assert(memcmp(got, want, n) == 0, "%s differs", what);
}

#define assert_bytes_eq(a, b, n)                                                             \
    cr_assert((n) == 0 || memcmp((a), (b), (n)) == 0, "bytes differ: %s", #a)

/* A secrets file for the loaders' access checks: text written to dir/name with mode and
 * owner (owner (uid_t)-1 keeps the test's own uid). With link_name, a symbolic link of that
 * name pointing at the file is made too. Returns the path the loader should be given (the
 * link when there is one) in a static buffer. Changing the owner needs root: callers skip
 * such cases otherwise. */
static inline const char *test_secret_file(const char *dir, const char *name, const char *text,
                                           mode_t mode, uid_t owner, const char *link_name)
{
    static char path[PATH_MAX], link_path[PATH_MAX];
    cr_assert_lt(snprintf(path, sizeof(path), "%s/%s", dir, name), (int)sizeof(path));
    unlink(path);
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, mode), 0);
    if (owner != (uid_t)-1)
        cr_assert_eq(chown(path, owner, (gid_t)-1), 0, "chown %s", path);
    if (!link_name)
        return path;
    cr_assert_lt(snprintf(link_path, sizeof(link_path), "%s/%s", dir, link_name),
                 (int)sizeof(link_path));
    unlink(link_path);
    cr_assert_eq(symlink(path, link_path), 0);
    return link_path;
}

#endif
