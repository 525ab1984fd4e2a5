/* WireGuard-compatible base64 key files (see keyfile.h). */
#include "vpn/keyfile.h"

#include "vpn/atomic_file.h"
#include "vpn/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A key file is one line; anything much longer is not a key file, and we stop reading it
 * rather than pull an arbitrary file into memory. */
enum { KEYFILE_READ_MAX = 256 };

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void keyfile_generate(uint8_t key[32])
{
    randombytes_buf(key, 32);
    key[0] &= 248;
    key[31] &= 127;
    key[31] |= 64;
}

int keyfile_decode(const char *b64, uint8_t key[32])
{
    size_t len = strlen(b64);
    size_t start = 0;
    while (start < len && is_blank(b64[start]))
        start++;
    while (len > start && is_blank(b64[len - 1]))
        len--;

    size_t bin_len = 0;
    const char *end = NULL;
    /* Exactly 44 characters, all consumed, exactly 32 bytes out: libsodium also refuses
     * non-zero padding bits, so every key has a single accepted spelling. The alphabet is
     * checked here because libsodium 1.0.18 decodes bytes >= 0x80 as if they were '/'
     * (found by tests/fuzz/fuzz_keyfile.c). */
    if (len - start != KEYFILE_B64_LEN ||
        strspn(b64 + start, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") <
            KEYFILE_B64_LEN ||
        sodium_base642bin(key, 32, b64 + start, len - start, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != 32 || end != b64 + len) {
        sodium_memzero(key, 32);
        return -1;
    }
    return 0;
}

void keyfile_encode(const uint8_t key[32], char out[KEYFILE_B64_LEN + 1])
{
    sodium_bin2base64(out, KEYFILE_B64_LEN + 1, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

int keyfile_read(const char *path, uint8_t key[32], char *err, size_t errlen)
{
    char buf[KEYFILE_READ_MAX + 1];
    size_t got = 0;
    int rc = -1;

    char why[400];
    int fd = secret_file_open(path, "a private key", why, sizeof(why));
    if (fd < 0) {
        snprintf(err, errlen, "%s: key file %s", path, why);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read key file: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == sizeof(buf) - 1) {
            snprintf(err, errlen, "%s: not a key file (longer than %d bytes)", path,
                     KEYFILE_READ_MAX);
            goto out;
        }
    }
    buf[got] = '\0';
    if (memchr(buf, '\0', got) || keyfile_decode(buf, key) != 0) {
        snprintf(err, errlen, "%s: not a key file (expected one line of %d base64 characters, "
                 "as written by vpn-keygen or wg genkey)", path, KEYFILE_B64_LEN);
        goto out;
    }
    rc = 0;
out:
    sodium_memzero(buf, sizeof(buf));
    close(fd);
    return rc;
}

/* Puts the key line into an open file and makes it durable. Returns 0 or -errno. */
static int write_key_fd(int fd, const uint8_t key[32])
{
    char line[KEYFILE_B64_LEN + 2];
    keyfile_encode(key, line);
    line[KEYFILE_B64_LEN] = '\n';
    line[KEYFILE_B64_LEN + 1] = '\0';
    /* fchmod because the mode given to open() is only an upper bound under the umask, and
     * mkstemp's 0600 is a glibc promise rather than POSIX. */
    int rc = fchmod(fd, 0600) != 0 ? -errno : 0;
    if (rc == 0)
        rc = atomic_file_write_fd(fd, line, KEYFILE_B64_LEN + 1);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    sodium_memzero(line, sizeof(line));
    return rc;
}

int keyfile_write(const char *path, const uint8_t key[32], bool force, char *err, size_t errlen)
{
    if (!force) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                snprintf(err, errlen, "%s: already exists; not overwriting it (use -f)", path);
            else
                snprintf(err, errlen, "%s: cannot create key file: %s", path, strerror(errno));
            return -1;
        }
        int rc = write_key_fd(fd, key);
        if (close(fd) != 0 && rc == 0)
            rc = -errno;
        if (rc != 0) {
            unlink(path);   /* we created it: never leave a half-written key behind */
            snprintf(err, errlen, "%s: cannot write key file: %s", path, strerror(-rc));
            return -1;
        }
        return 0;
    }

    /* Replaced by rename: a crash never leaves a truncated key, and a symlink at path is
     * replaced rather than followed. */
    char line[KEYFILE_B64_LEN + 2];
    keyfile_encode(key, line);
    line[KEYFILE_B64_LEN] = '\n';
    int rc = atomic_file_write(path, line, KEYFILE_B64_LEN + 1, 0600, err, errlen);
    sodium_memzero(line, sizeof(line));
    return rc;
}
