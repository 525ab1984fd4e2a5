/* vpn-keygen: the server's X25519 key pair, in WireGuard's format so that `wg genkey` and
 * `wg pubkey` interoperate (REQUIREMENTS.md sections 2 and 7).
 *
 *   vpn-keygen genkey            private key (base64) to stdout
 *   vpn-keygen pubkey            private key on stdin -> public key on stdout
 *   vpn-keygen [-f] FILE         write a new private key to FILE (0600), print the public key
 *   vpn-keygen [-f] -o DIR       same, FILE = DIR/server.key (server.conf's default name)
 *
 * Exit status: 0 ok, 1 runtime error, 2 usage error. */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpn/keyfile.h"

#define DEFAULT_KEY_NAME "server.key"

/* stdin holding a key is one line; cap what we pull into memory. */
enum { STDIN_MAX = 1024 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vpn-keygen genkey              print a new private key\n"
            "       vpn-keygen pubkey              read a private key on stdin, print its public key\n"
            "       vpn-keygen [-f] FILE           write a new private key to FILE (mode 0600)\n"
            "                                      and print its public key\n"
            "       vpn-keygen [-f] -o DIR         same, with FILE = DIR/" DEFAULT_KEY_NAME "\n"
            "  -f  overwrite an existing key file\n"
            "Keys are base64 of 32-byte X25519 keys, as with wg genkey / wg pubkey.\n");
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "vpn-keygen: %s\n", msg);
    usage(stderr);
    return 2;
}

/* Returns 0, or -1 when libsodium refuses the scalar (it rejects an all-zero result). */
static int public_of(const uint8_t priv[32], uint8_t pub[32])
{
    return crypto_scalarmult_base(pub, priv);
}

static int print_key(const uint8_t key[32])
{
    char b64[KEYFILE_B64_LEN + 1];
    keyfile_encode(key, b64);
    int rc = printf("%s\n", b64) < 0 || fflush(stdout) != 0 ? -1 : 0;
    sodium_memzero(b64, sizeof(b64));
    if (rc != 0)
        fprintf(stderr, "vpn-keygen: cannot write to stdout: %s\n", strerror(errno));
    return rc;
}

static int cmd_genkey(void)
{
    /* Same courtesy as wg genkey: a private key redirected into a file others can read is
     * already half leaked, so say so (but still do what was asked). */
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
        fprintf(stderr, "vpn-keygen: warning: writing to a world-accessible file; "
                        "consider umask 077\n");

    uint8_t priv[32];
    keyfile_generate(priv);
    int rc = print_key(priv);
    sodium_memzero(priv, sizeof(priv));
    return rc == 0 ? 0 : 1;
}

static int cmd_pubkey(void)
{
    char buf[STDIN_MAX + 1];
    size_t got = 0;
    int status = 1;
    uint8_t priv[32], pub[32];

    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf + got, sizeof(buf) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "vpn-keygen: cannot read stdin: %s\n", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == sizeof(buf) - 1) {
            fprintf(stderr, "vpn-keygen: stdin is not a key (too long)\n");
            goto out;
        }
    }
    buf[got] = '\0';
    if (memchr(buf, '\0', got) || keyfile_decode(buf, priv) != 0) {
        fprintf(stderr, "vpn-keygen: stdin is not a private key (expected %d base64 "
                        "characters, as printed by vpn-keygen genkey or wg genkey)\n",
                KEYFILE_B64_LEN);
        goto out;
    }
    if (public_of(priv, pub) != 0) {
        fprintf(stderr, "vpn-keygen: invalid private key\n");
        goto out;
    }
    status = print_key(pub) == 0 ? 0 : 1;
out:
    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(priv, sizeof(priv));
    return status;
}

static int cmd_write(const char *path, bool force)
{
    uint8_t priv[32], pub[32];
    char err[PATH_MAX + 256];
    int status = 1;

    keyfile_generate(priv);
    if (public_of(priv, pub) != 0) {
        /* Cannot happen for a clamped scalar; checked because the API can fail. */
        fprintf(stderr, "vpn-keygen: key generation failed\n");
        goto out;
    }
    if (keyfile_write(path, priv, force, err, sizeof(err)) != 0) {
        fprintf(stderr, "vpn-keygen: %s\n", err);
        goto out;
    }
    fprintf(stderr, "vpn-keygen: private key written to %s (mode 0600); public key:\n", path);
    status = print_key(pub) == 0 ? 0 : 1;
out:
    sodium_memzero(priv, sizeof(priv));
    return status;
}

int main(int argc, char **argv)
{
    bool force = false;
    const char *dir = NULL;
    const char *arg = NULL;

    /* Hand-rolled rather than getopt: getopt would permute "pubkey -f" and the like, and the
     * grammar is tiny. "--" ends the options so a file may be called "-x" or "genkey". */
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            usage(stdout);
            return 0;
        } else if (!opts_done && strcmp(a, "-f") == 0) {
            force = true;
        } else if (!opts_done && strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return usage_error("-o needs a directory");
            if (dir)
                return usage_error("-o given twice");
            dir = argv[i];
        } else if (!opts_done && a[0] == '-' && a[1] != '\0') {
            char msg[128];
            snprintf(msg, sizeof(msg), "unknown option '%.64s'", a);
            return usage_error(msg);
        } else if (arg) {
            return usage_error("too many arguments");
        } else {
            arg = a;
        }
    }

    if (sodium_init() < 0) {
        fprintf(stderr, "vpn-keygen: libsodium initialisation failed\n");
        return 1;
    }

    bool is_cmd = arg && !opts_done && (strcmp(arg, "genkey") == 0 || strcmp(arg, "pubkey") == 0);
    if (is_cmd && (dir || force))
        return usage_error("-o and -f apply only when writing a key file");
    if (is_cmd && strcmp(arg, "genkey") == 0)
        return cmd_genkey();
    if (is_cmd)
        return cmd_pubkey();

    if (dir && arg)
        return usage_error("give either -o DIR or FILE, not both");
    if (dir) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "vpn-keygen: %s: not a directory\n", dir);
            return 1;
        }
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, DEFAULT_KEY_NAME) >= (int)sizeof(path)) {
            fprintf(stderr, "vpn-keygen: %s: path too long\n", dir);
            return 1;
        }
        return cmd_write(path, force);
    }
    if (arg)
        return cmd_write(arg, force);
    return usage_error("missing command or key file");
}
