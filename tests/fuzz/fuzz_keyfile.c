/* Fuzzes key decoding (core/lib/keyfile.c): keyfile_decode on the input as a string, and
 * keyfile_read on it as a 0600 file. A key has exactly one accepted spelling (keyfile.h), so
 * an accepted input, trimmed, must equal the key's re-encoding; both entries must agree. */
#include "fuzz_util.h"

#include "vpn/keyfile.h"

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
    free(s);
    return 0;
}
