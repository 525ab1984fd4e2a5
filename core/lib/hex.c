/* Hex text (see hex.h). */
#include "vpn/hex.h"

#include <sodium.h>
#include <string.h>

int hex_decode(const char *hex, uint8_t *out, size_t len)
{
    size_t bin_len = 0;
    const char *end = NULL;

    /* The length first: sodium_hex2bin would stop early on a short string and report the
     * bytes it got, and ignore nothing since no ignore set is given. */
    if (strlen(hex) != 2 * len ||
        sodium_hex2bin(out, len, hex, 2 * len, NULL, &bin_len, &end) != 0 || bin_len != len ||
        end != hex + 2 * len) {
        sodium_memzero(out, len);
        return -1;
    }
    return 0;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
