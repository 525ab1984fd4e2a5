/* vpn-enclave --check: the secret files read and checked as a start would read them, for
 * `vpn-server --check-config`, without starting anything. The secrets stay in the enclave's
 * executable: the main process's --check-config runs it rather than read them itself. */
#ifndef ENCLAVE_CHECK_FILES_H
#define ENCLAVE_CHECK_FILES_H

/* Reads the server key and, when wg_key_path is not NULL ([wireguard] enabled), the WireGuard
 * key (a missing one is fine: the first start creates it; it is not created here) and the
 * users file, with the owner, mode and link rules of a start. Prints one line per file on
 * stdout (the public key; the number of users and WireGuard peers) and each problem on
 * stderr as "[ERROR] Configuration error: ...". Returns the exit status: 0, or 2 when a file
 * is refused. */
int check_files(const char *key_path, const char *wg_key_path, const char *users_path);

#endif
