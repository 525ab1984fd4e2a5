/* The rule for a file that holds secrets (the server's private key, the users file with its
 * tokens, a client.conf with its auth_token), in one place: opened without following a symbolic
 * link (whoever may write its directory must not choose the file), a regular file, owned by
 * root or by us (another owner could rewrite it or open its mode again behind our back), and
 * no access for group or others. Every check is on the descriptor, so nothing can be swapped
 * between check and read. Messages start with "is ..." or "cannot ...", for the caller to put
 * the file's name or path in front. */
#ifndef VPN_SECRET_FILE_H
#define VPN_SECRET_FILE_H

#include <stddef.h>

/* Opens path for reading and checks it (secret_file_check). Returns the descriptor (blocking,
 * close-on-exec), or -1 with the reason in why. holds names the secret for the hint
 * ("the server key", "tokens", "auth_token"). */
int secret_file_open(const char *path, const char *holds, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* Checks an open descriptor of path as above (not the link rule: the caller opened it).
 * Returns 0, or -1 with the reason in why. */
int secret_file_check(int fd, const char *path, const char *holds, char *why, size_t why_len)
    __attribute__((warn_unused_result));

#endif
