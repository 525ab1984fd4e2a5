/* HKDF-SHA256 against RFC 5869 appendix A (cases 1 to 3). */
#include "testutil.h"
#include "vpn/hkdf.h"

struct rfc_case {
    const char *ikm, *salt, *info, *prk, *okm;
};

static const struct rfc_case CASES[] = {
    { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
      "f0f1f2f3f4f5f6f7f8f9", "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865" },
    { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
      "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
      "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
      "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
      "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
      "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
      "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
      "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87" },
    { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
      "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8" },
};

Test(hkdf, rfc5869_cases)
{
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        uint8_t ikm[128], salt[128], info[128], prk[32], okm[128], want_prk[32], want_okm[128];
        size_t ikm_len = unhex(ikm, sizeof(ikm), CASES[i].ikm);
        size_t salt_len = unhex(salt, sizeof(salt), CASES[i].salt);
        size_t info_len = unhex(info, sizeof(info), CASES[i].info);
        unhex(want_prk, sizeof(want_prk), CASES[i].prk);
        size_t okm_len = unhex(want_okm, sizeof(want_okm), CASES[i].okm);
        hkdf_extract(prk, salt, salt_len, ikm, ikm_len);
        cr_assert(memcmp(prk, want_prk, 32) == 0, "PRK of case %zu", i + 1);
        cr_assert_eq(hkdf_expand(okm, okm_len, prk, info, info_len), 0);
        cr_assert(memcmp(okm, want_okm, okm_len) == 0, "OKM of case %zu", i + 1);
    }
}

Test(hkdf, refuses_too_long_output)
{
    uint8_t prk[32] = { 0 }, out[1];
    cr_assert_eq(hkdf_expand(out, 255 * 32 + 1, prk, NULL, 0), -1);
}

Test(hkdf, label_is_expand_without_nul)
{
    uint8_t prk[32] = { 1 }, a[32], b[32];
    hkdf_expand_label(a, prk, "vpnse/1 auth");
    cr_assert_eq(hkdf_expand(b, 32, prk, (const uint8_t *)"vpnse/1 auth", 12), 0);
    assert_bytes_eq(a, b, 32);
}
