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

#define assert_bytes_eq(a, b, n)                                                             \
    cr_assert((n) == 0 || memcmp((a), (b), (n)) == 0, "bytes differ: %s", #a)

#endif
