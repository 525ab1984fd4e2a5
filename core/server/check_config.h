/* vpn-server --check-config: would this configuration start? Everything a start reads is read
 * and checked, and nothing is set up: server.conf and the QoS classes file (already loaded by
 * the caller), the system users (when run as root, as a start must be), and the secret files,
 * which only the enclave reads: `vpn-enclave --check` does that part (check_files.h). */
#ifndef SERVER_CHECK_CONFIG_H
#define SERVER_CHECK_CONFIG_H

struct server_config;

/* Prints "Configuration OK: FILE" on stdout, or each problem on stderr. Returns the exit
 * status: 0, or 2. enclave is the vpn-enclave to run, or NULL with why when none was found. */
int check_config(const struct server_config *cfg, const char *enclave, const char *why);

#endif
