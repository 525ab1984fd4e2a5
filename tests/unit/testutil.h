/* Small helpers shared by the unit tests. */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <criterion/criterion.h>
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
#define assert_bytes_eq(a, b, n)                                                             \
    cr_assert((n) == 0 || memcmp((a), (b), (n)) == 0, "bytes differ: %s", #a)

#endif
