/* Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): the PROTOCOL.md test
 * vectors as bytes, and a way to hand a fuzz input to a parser that only takes a path. */
#ifndef TESTS_FUZZ_UTIL_H
#define TESTS_FUZZ_UTIL_H

#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/vectors.inc"

/* Hex constant to bytes; aborts on a bad constant (a harness bug, not a finding). */
static inline size_t fuzz_unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;
    if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL) != 0)
        abort();
    return n;
}

/* A file for parsers that open a path: input0, input1, ... in a private temporary directory
 * of this process (so parallel fuzzer processes never share a file, and relative paths in an
 * input name nothing), removed when the fuzzer exits. Not a memfd reached as /proc/self/fd/N:
 * that name is a symbolic link, which users_load and keyfile_read refuse to follow. The mode
 * is the one a secrets file must have (they refuse anything looser). A crashing run may leave
 * its directory behind in $TMPDIR (or /tmp); the input itself is kept as the fuzzer's
 * artifact. */
struct fuzz_file {
    int fd;
    char path[PATH_MAX];
};

static char fuzz_dir[PATH_MAX];
static int fuzz_files;

static inline void fuzz_dir_remove(void)
{
    char p[PATH_MAX + 16];
    for (int i = 0; i < fuzz_files; i++) {
        snprintf(p, sizeof(p), "%s/input%d", fuzz_dir, i);
        unlink(p);
    }
    rmdir(fuzz_dir);
}

static inline void fuzz_file_write(struct fuzz_file *f, const uint8_t *data, size_t size)
{
    if (f->fd <= 0) {
        if (!fuzz_dir[0]) {
            const char *tmp = getenv("TMPDIR");
            snprintf(fuzz_dir, sizeof(fuzz_dir) - 16, "%s/fuzz.XXXXXX",
                     tmp && *tmp ? tmp : "/tmp");
            if (!mkdtemp(fuzz_dir))
                abort();
            atexit(fuzz_dir_remove);
        }
        snprintf(f->path, sizeof(f->path), "%s/input%d", fuzz_dir, fuzz_files++);
        f->fd = open(f->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (f->fd < 0 || fchmod(f->fd, 0600) != 0)
            abort();
    }
    if (ftruncate(f->fd, 0) != 0 || pwrite(f->fd, data, size, 0) != (ssize_t)size)
        abort();
}

/* NUL-terminated heap copy of the input for parsers of C strings (ASan sees overreads). */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Property violations found by a harness end the run like a sanitizer report would. */
#define FUZZ_ASSERT(cond)                                                                    \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#endif
