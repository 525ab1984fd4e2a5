/* X25519 key files and base64 keys, in WireGuard's format: base64 (standard alphabet, with
 * padding) of the 32 raw key bytes, 44 characters, one line. `wg genkey`/`wg pubkey` and
 * vpn-keygen read each other's keys. Used by vpn-keygen (write), the enclave (read the server
 * private key before its sandbox is installed) and the client config (server_public_key).
 * No function here keeps a copy of a key: buffers that held one are erased before returning. */
#ifndef VPN_KEYFILE_H
#define VPN_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { KEYFILE_B64_LEN = 44 };  /* base64 of 32 bytes with one '=' of padding */

/* A new X25519 private key from the kernel's CSPRNG, clamped as RFC 7748 section 5 says and
 * as `wg genkey` stores it, so that keys made here and by wg are alike. */
void keyfile_generate(uint8_t key[32]);

/* Decodes a base64 key; blanks (space, tab, CR, LF) before and after it are ignored, anything
 * else (wrong length, other alphabet, non-canonical last character) is refused.
 * Returns 0, or -1 with key[] zeroed. */
int keyfile_decode(const char *b64, uint8_t key[32]) __attribute__((warn_unused_result));

/* Writes the 44-character base64 of key and a NUL into out. Cannot fail. */
void keyfile_encode(const uint8_t key[32], char out[KEYFILE_B64_LEN + 1]);

/* Reads a key file holding one base64 key. Refuses a symbolic link (not followed), a path
 * that is not a regular file, a file owned by anyone but root or our effective uid, and a
 * mode giving the group or others any access (a private key readable by others is already
 * leaked; failing loudly is better than using it). Returns 0, or -1 with a one-line reason
 * naming the path in err. */
int keyfile_read(const char *path, uint8_t key[32], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Writes key as "BASE64\n" to path with mode 0600 (whatever the umask). Without force an
 * existing path is refused (O_EXCL); with force the key goes to a temporary file in the same
 * directory that is then renamed over path, so a crash never leaves a truncated key and a
 * symlink at path is replaced rather than followed. Returns 0, or -1 with a reason in err. */
int keyfile_write(const char *path, const uint8_t key[32], bool force, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
