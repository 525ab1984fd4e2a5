/* Fuzzes the two decoders of key and token text: base64 keys (core/lib/keyfile.c) through
 * keyfile_decode on the input as a string and keyfile_read on it as a 0600 file, and hex
 * tokens (core/lib/hex.c) through hex_decode. A key has exactly one accepted spelling
 * (keyfile.h), so an accepted input, trimmed, must equal the key's re-encoding, and both
 * key entries must agree; a token is accepted exactly when the input is 64 hex digits, and
 * re-encodes to them in lower case. A refusal leaves zeros. */
#include "fuzz_util.h"

#include <ctype.h>

#include "vpn/hex.h"
#include "vpn/keyfile.h"

static void check_hex(const char *s)
{
    static const uint8_t zero[32];
    uint8_t token[32];
    char out[65];
    size_t n = strlen(s);
    bool all_hex = n == 64;
    for (size_t i = 0; i < n && all_hex; i++)
        all_hex = isxdigit((unsigned char)s[i]) != 0;
    int rc = hex_decode(s, token, sizeof(token));
    FUZZ_ASSERT((rc == 0) == all_hex);
    if (rc != 0) {
        FUZZ_ASSERT(memcmp(token, zero, sizeof(zero)) == 0);
        return;
    }
    sodium_bin2hex(out, sizeof(out), token, sizeof(token));
    for (size_t i = 0; i < 64; i++)
        FUZZ_ASSERT(out[i] == tolower((unsigned char)s[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_file f;
    static const uint8_t zero[32];
    uint8_t key[32], key2[32];
    char out[KEYFILE_B64_LEN + 1], msg[512];
    char *s = fuzz_strdup(data, size);
    int rc = keyfile_decode(s, key);
    if (rc == 0) {
        size_t start = strspn(s, " \t\r\n"), end = strlen(s);
        while (end > start && strchr(" \t\r\n", s[end - 1]))
            end--;
        keyfile_encode(key, out);
        FUZZ_ASSERT(end - start == KEYFILE_B64_LEN && memcmp(s + start, out, end - start) == 0);
    } else {
        FUZZ_ASSERT(memcmp(key, zero, 32) == 0);
    }
    fuzz_file_write(&f, data, size);
    int rc2 = keyfile_read(f.path, key2, msg, sizeof(msg));
    /* The file reader also refuses NUL bytes and files of 256 bytes or more. */
    if (size < 256 && strlen(s) == size)
        FUZZ_ASSERT(rc2 == rc && (rc != 0 || memcmp(key, key2, 32) == 0));
    else
        FUZZ_ASSERT(rc2 != 0);
    check_hex(s);
    free(s);
    return 0;
}
