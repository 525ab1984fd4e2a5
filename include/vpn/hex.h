/* Hex text, the one decoder: auth tokens in client.conf and the users file, and the tools
 * that take a token on their command line. (Base64 keys have theirs in keyfile.h.) Both are
 * fuzzed by tests/fuzz/fuzz_keyfile.c. */
#ifndef VPN_HEX_H
#define VPN_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Exactly 2 * len hex digits, either case, and nothing else (no blanks, no "0x", no
 * separators) to len bytes. Decoding runs in constant time for a given length (libsodium's),
 * since what it decodes is usually a secret. Returns 0, or -1 with out[] zeroed. */
int hex_decode(const char *hex, uint8_t *out, size_t len) __attribute__((warn_unused_result));

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int hex_digit(char c);

#endif
