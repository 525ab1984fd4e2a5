/* Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): the PROTOCOL.md test
 * vectors as bytes, and a way to hand a fuzz input to a parser that only takes a path. */
#ifndef TESTS_FUZZ_UTIL_H
#define TESTS_FUZZ_UTIL_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* A file for parsers that open a path: an anonymous memfd reached as /proc/self/fd/N, so no
 * run leaves anything on disk and parallel fuzzer processes never share a file. The mode is
 * the one a secrets file must have (users_load, keyfile_read refuse anything looser). */
struct fuzz_file {
    int fd;
    char path[64];
};

static inline void fuzz_file_write(struct fuzz_file *f, const uint8_t *data, size_t size)
{
    if (f->fd <= 0) {
        f->fd = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (f->fd < 0 || fchmod(f->fd, 0600) != 0)
            abort();
        snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
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
