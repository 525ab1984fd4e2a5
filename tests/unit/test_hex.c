/* Hex text (core/lib/hex.c): the one decoder of auth tokens, and hex_digit. */
#include "testutil.h"

#include <ctype.h>

#include "vpn/hex.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define T64 "95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f576"

Test(hex, decode)
{
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        { T64, true },
        { "95084E631279D67F381A94FA5DF5093957FC61CF3147565523BE8296FA31F576", true },
        { "95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f57", false },   /* 63 */
        { T64 "0", false },                                                             /* 65 */
        { "95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f57g", false },
        { "95084e631279d67f381a94fa5df50939 57fc61cf3147565523be8296fa31f576", false },
        { " 95084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f57", false },
        { "0x084e631279d67f381a94fa5df5093957fc61cf3147565523be8296fa31f576", false },
        { "", false },
    };
    uint8_t want[32];
    unhex(want, sizeof(want), T64);
    for (size_t i = 0; i < N(cases); i++) {
        uint8_t out[32];
        memset(out, 0xee, sizeof(out));
        int rc = hex_decode(cases[i].text, out, sizeof(out));
        cr_expect_eq(rc == 0, cases[i].ok, "case %zu: \"%s\"", i, cases[i].text);
        static const uint8_t zero[32];
        cr_expect(memcmp(out, cases[i].ok ? want : zero, 32) == 0, "case %zu: wrong bytes", i);
    }
    uint8_t two[2];
    cr_expect_eq(hex_decode("a0Ff", two, 2), 0);
    cr_expect(two[0] == 0xa0 && two[1] == 0xff);
}

Test(hex, digit)
{
    static const char *const digits = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        cr_expect_eq(hex_digit(digits[i]), i);
        cr_expect_eq(hex_digit((char)toupper((unsigned char)digits[i])), i);
    }
    static const char not_digits[] = "gG/:@`xX -\x80";
    for (size_t i = 0; i + 1 < sizeof(not_digits); i++)
        cr_expect_eq(hex_digit(not_digits[i]), -1, "'%c'", not_digits[i]);
}
