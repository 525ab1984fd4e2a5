/* The transport's AEAD by implementation (include/vpn/aead.h), one message size at a time:
 *
 *   bench_aead sodium|openssl|build seal|open SIZE COUNT
 *
 * seals (or opens) COUNT messages of SIZE bytes as the transport does: the 16-byte header as
 * associated data, a nonce of session id and counter, a new counter per message. "build" is
 * what this build's transport uses (aead_seal/aead_open: AEAD=, and the short-message rule).
 * Prints the implementation, the last tag (the same for all three: a cross-check) and the
 * time per message on this machine. Under emulation the time means nothing: there
 * bench/run-aead-count.sh counts the instructions of COUNT messages against COUNT = 0. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpn/aead.h"
#include "vpn/proto.h"

enum impl { SODIUM, OPENSSL, BUILD };

static void seal(enum impl impl, uint8_t *ct, uint8_t *tag, const uint8_t *pt, size_t n,
                 const uint8_t *ad, const uint8_t *nonce, const uint8_t *key)
{
    if (impl == SODIUM)
        aead_sodium_seal(ct, tag, pt, n, ad, HDR_LEN, nonce, key);
    else if (impl == BUILD)
        aead_seal(ct, tag, pt, n, ad, HDR_LEN, nonce, key);
    else if (!aead_openssl_seal(ct, tag, pt, n, ad, HDR_LEN, nonce, key))
        abort();
}

static void open_one(enum impl impl, uint8_t *pt, const uint8_t *ct, const uint8_t *tag,
                     size_t n, const uint8_t *ad, const uint8_t *nonce, const uint8_t *key)
{
    bool ok = impl == SODIUM ? aead_sodium_open(pt, ct, n, tag, ad, HDR_LEN, nonce, key)
              : impl == BUILD ? aead_open(pt, ct, n, tag, ad, HDR_LEN, nonce, key)
                              : aead_openssl_open(pt, ct, n, tag, ad, HDR_LEN, nonce, key) == 1;
    if (!ok)
        abort();
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[2], "seal") != 0 && strcmp(argv[2], "open") != 0)) {
        fprintf(stderr, "usage: bench_aead sodium|openssl|build seal|open SIZE COUNT\n");
        return 2;
    }
    enum impl impl = strcmp(argv[1], "sodium") == 0    ? SODIUM
                     : strcmp(argv[1], "openssl") == 0 ? OPENSSL
                     : strcmp(argv[1], "build") == 0   ? BUILD
                                                       : (enum impl)-1;
    size_t size = strtoul(argv[3], NULL, 10);
    long count = strtol(argv[4], NULL, 10);
    if ((int)impl < 0 || size > (1u << 20) || count < 0) {
        fprintf(stderr, "bench_aead: bad implementation, size or count\n");
        return 2;
    }
    if (sodium_init() < 0 || aead_init() != 0 || aead_openssl_init() != 0)
        return 1;
    uint8_t key[KEY_LEN], ad[HDR_LEN], nonce[NONCE_LEN], tag[TAG_LEN];
    uint8_t *pt = malloc(size + 1), *ct = malloc(size + 1);
    if (!pt || !ct)
        return 1;
    memset(key, 0x42, sizeof(key));
    memset(pt, 0x17, size);
    proto_hdr_write(ad, MSG_DATA, (uint16_t)(NONCE_LEN + TAG_LEN + size), 0, 0);
    put_be32(nonce, 0x1234);
    put_be64(nonce + 4, 0);
    bool open = argv[2][0] == 'o';
    seal(impl, ct, tag, pt, size, ad, nonce, key);  /* what open mode opens, COUNT times */

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < count; i++) {
        if (open) {
            open_one(impl, pt, ct, tag, size, ad, nonce, key);
        } else {
            put_be64(nonce + 4, (uint64_t)i);
            seal(impl, ct, tag, pt, size, ad, nonce, key);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                (double)(count ? count : 1);
    char hex[2 * TAG_LEN + 1];
    sodium_bin2hex(hex, sizeof(hex), tag, sizeof(tag));
    printf("%s %s %zu B: tag %s, %.0f ns/message here\n",
           impl == BUILD ? aead_name() : argv[1], argv[2], size, hex, ns);
    free(pt);
    free(ct);
    return 0;
}
