/* The transport's AEAD (include/vpn/aead.h): libsodium's and OpenSSL's ChaCha20-Poly1305 give
 * RFC 8439's test vector and the same bytes as each other at every length where their code
 * paths change (OpenSSL's NEON paths start at 128, 192, 256 and 512 bytes on arm64), in place
 * too; each refuses what the other sealed once a bit changes; OpenSSL's path allocates nothing
 * per message. make check runs this built for amd64, and for arm64 and armhf under qemu-user,
 * where OpenSSL takes its NEON assembly (the CPU models have NEON). */
#include <openssl/crypto.h>
#include <sys/wait.h>

#include "testutil.h"

#include "vpn/aead.h"

/* RFC 8439, section 2.8.2. */
static const char *RFC_KEY = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char *RFC_NONCE = "070000004041424344454647";
static const char *RFC_AD = "50515253c0c1c2c3c4c5c6c7";
static const char *RFC_PT = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                            "one tip for the future, sunscreen would be it.";
static const char *RFC_CT =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da"
    "92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585"
    "808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";
static const char *RFC_TAG = "1ae10b594f09e26a7e902ecbd0600691";

static void sodium_ready(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(aead, .init = sodium_ready);

Test(aead, rfc8439_vector_both_ways_with_both_implementations)
{
    uint8_t key[32], nonce[12], ad[12], ct[114], tag[16], want_ct[114], want_tag[16], back[114];
    unhex(key, sizeof(key), RFC_KEY);
    unhex(nonce, sizeof(nonce), RFC_NONCE);
    unhex(ad, sizeof(ad), RFC_AD);
    cr_assert_eq(unhex(want_ct, sizeof(want_ct), RFC_CT), strlen(RFC_PT));
    unhex(want_tag, sizeof(want_tag), RFC_TAG);
    const uint8_t *pt = (const uint8_t *)RFC_PT;
    size_t n = strlen(RFC_PT);

    aead_sodium_seal(ct, tag, pt, n, ad, sizeof(ad), nonce, key);
    assert_bytes_eq(ct, want_ct, n);
    assert_bytes_eq(tag, want_tag, 16);
    memset(ct, 0, sizeof(ct));
    cr_assert(aead_openssl_seal(ct, tag, pt, n, ad, sizeof(ad), nonce, key));
    assert_bytes_eq(ct, want_ct, n);
    assert_bytes_eq(tag, want_tag, 16);

    cr_assert(aead_sodium_open(back, want_ct, n, want_tag, ad, sizeof(ad), nonce, key));
    assert_bytes_eq(back, pt, n);
    memset(back, 0, sizeof(back));
    cr_assert_eq(aead_openssl_open(back, want_ct, n, want_tag, ad, sizeof(ad), nonce, key), 1);
    assert_bytes_eq(back, pt, n);
    /* And whatever this build dispatches to. */
    aead_seal(ct, tag, pt, n, ad, sizeof(ad), nonce, key);
    assert_bytes_eq(ct, want_ct, n);
    cr_assert(aead_open(back, ct, n, tag, ad, sizeof(ad), nonce, key));
}

static const size_t LENGTHS[] = { 0,   1,   15,  16,  63,  64,   65,   127,  128,  129,  191,
                                  192, 193, 255, 256, 257, 383,  384,  511,  512,  513,  1023,
                                  1024, 1399, 1400, 1456, 1500, 1600, 2048, 4096, 65535 };

Test(aead, both_implementations_agree_at_every_path_boundary)
{
    static uint8_t pt[65536], a[65536], b[65536], back[65536];
    uint8_t key[32], nonce[12], ad[16], tag_a[16], tag_b[16];
    for (size_t i = 0; i < sizeof(LENGTHS) / sizeof(LENGTHS[0]); i++) {
        size_t n = LENGTHS[i];
        randombytes_buf(key, sizeof(key));
        randombytes_buf(nonce, sizeof(nonce));
        randombytes_buf(ad, sizeof(ad));
        randombytes_buf(pt, n);
        aead_sodium_seal(a, tag_a, pt, n, ad, sizeof(ad), nonce, key);
        cr_assert(aead_openssl_seal(b, tag_b, pt, n, ad, sizeof(ad), nonce, key), "len %zu", n);
        cr_assert(n == 0 || memcmp(a, b, n) == 0, "ciphertext differs at length %zu", n);
        cr_assert_eq(memcmp(tag_a, tag_b, 16), 0, "tag differs at length %zu", n);

        /* Each opens the other's; OpenSSL's opens through its buffer up to 2048 bytes. */
        cr_assert(aead_sodium_open(back, b, n, tag_b, ad, sizeof(ad), nonce, key));
        cr_assert(n == 0 || memcmp(back, pt, n) == 0);
        int ok = aead_openssl_open(back, a, n, tag_a, ad, sizeof(ad), nonce, key);
        if (n <= 2048) {
            cr_assert_eq(ok, 1, "OpenSSL opens libsodium's message of %zu bytes", n);
            cr_assert(n == 0 || memcmp(back, pt, n) == 0);
        } else {
            cr_assert_eq(ok, -1, "longer than its buffer: left to libsodium");
        }
        cr_assert(aead_open(back, a, n, tag_a, ad, sizeof(ad), nonce, key), "len %zu", n);

        /* In place, as transport_seal and the worker's decrypt do. */
        memcpy(back, pt, n);
        cr_assert(aead_openssl_seal(back, tag_b, back, n, ad, sizeof(ad), nonce, key));
        cr_assert(n == 0 || memcmp(back, a, n) == 0, "in place, length %zu", n);
    }
}

Test(aead, a_changed_bit_anywhere_is_refused_by_both)
{
    uint8_t key[32], nonce[12], ad[16], pt[1400], ct[1400], tag[16], back[1400];
    randombytes_buf(key, sizeof(key));
    randombytes_buf(nonce, sizeof(nonce));
    randombytes_buf(ad, sizeof(ad));
    randombytes_buf(pt, sizeof(pt));
    aead_seal(ct, tag, pt, sizeof(pt), ad, sizeof(ad), nonce, key);
    uint8_t *parts[] = { ct, tag, ad, nonce, key };
    size_t sizes[] = { sizeof(ct), sizeof(tag), sizeof(ad), sizeof(nonce), sizeof(key) };
    for (size_t p = 0; p < 5; p++) {
        size_t at = sizes[p] / 2;
        parts[p][at] ^= 0x10;
        memset(back, 0xa5, sizeof(back));
        cr_assert_eq(aead_openssl_open(back, ct, sizeof(ct), tag, ad, sizeof(ad), nonce, key), 0,
                     "part %zu", p);
        for (size_t i = 0; i < sizeof(back); i++)
            cr_assert_eq(back[i], 0xa5, "OpenSSL's path wrote unauthenticated plaintext");
        cr_assert_not(aead_sodium_open(back, ct, sizeof(ct), tag, ad, sizeof(ad), nonce, key),
                      "part %zu", p);
        for (size_t i = 0; i < sizeof(back); i++)   /* libsodium zeroes it */
            cr_assert(back[i] == 0xa5 || back[i] == 0, "libsodium wrote plaintext");
        cr_assert_not(aead_open(back, ct, sizeof(ct), tag, ad, sizeof(ad), nonce, key));
        parts[p][at] ^= 0x10;
    }
    cr_assert(aead_open(back, ct, sizeof(ct), tag, ad, sizeof(ad), nonce, key));
}

/* OpenSSL's allocations can be counted only from before its first one (CRYPTO_set_mem_functions),
 * and Criterion's start-up already makes some (libgit2 initialises libssh2, which initialises
 * OpenSSL). So the count is taken in a copy of this binary run with VPN_TEST_AEAD_ALLOCATIONS
 * set, by a constructor that runs before Criterion's main and exits with the verdict. */
static unsigned long allocations;

static void *count_malloc(size_t n, const char *file, int line)
{
    allocations++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    allocations++;
    return realloc(p, n);
}

static void plain_free(void *p, const char *file, int line)
{
    free(p);
}

enum { ALLOC_NONE = 0, ALLOC_SOME = 1, ALLOC_CANNOT_COUNT = 2, ALLOC_AEAD_FAILED = 3 };

__attribute__((constructor)) static void count_allocations_and_exit(void)
{
    if (!getenv("VPN_TEST_AEAD_ALLOCATIONS"))
        return;
    if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, plain_free))
        _exit(ALLOC_CANNOT_COUNT);
    if (sodium_init() < 0 || aead_openssl_init() != 0 || allocations == 0)
        _exit(ALLOC_AEAD_FAILED);
    uint8_t key[32], nonce[12] = { 0 }, ad[16] = { 0 }, pt[1400], ct[1400], tag[16];
    randombytes_buf(key, sizeof(key));
    randombytes_buf(pt, sizeof(pt));
    unsigned long before = allocations;
    for (int i = 0; i < 100; i++) {
        nonce[4] = (uint8_t)i;
        if (!aead_openssl_seal(ct, tag, pt, sizeof(pt), ad, sizeof(ad), nonce, key) ||
            aead_openssl_open(ct, ct, sizeof(ct), tag, ad, sizeof(ad), nonce, key) != 1)
            _exit(ALLOC_AEAD_FAILED);
        aead_openssl_wipe();
    }
    if (memcmp(ct, pt, sizeof(pt)) != 0)
        _exit(ALLOC_AEAD_FAILED);
    _exit(allocations == before ? ALLOC_NONE : ALLOC_SOME);
}

Test(aead, openssl_allocates_nothing_per_message_and_survives_a_wipe)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        setenv("VPN_TEST_AEAD_ALLOCATIONS", "1", 1);
        execl("/proc/self/exe", "test_aead", (char *)NULL);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "status %#x", st);
    cr_assert_eq(WEXITSTATUS(st), ALLOC_NONE,
                 "1: allocations in 100 messages and wipes, 2: could not count, 3: AEAD failed");
}
