/* vpnctl's questions to the running server over its control socket (the server's side:
 * core/server/control_socket.c, control_users.c), shared by the user and device commands. */
#ifndef VPNCTL_SERVER_LINK_H
#define VPNCTL_SERVER_LINK_H

#include <stdint.h>

#include "vpn/keyfile.h"

/* The server's reply to request as a heap string; NULL with -errno in *rc when nobody
 * listens (or the reply is larger than any reply the server makes). */
char *server_ask(const char *socket_path, const char *request, int *rc);

/* Asks the running server to reload and waits until the enclave has read the users file.
 * Returns 0 (done, or no server running: it reads the files when it starts), -1 refused
 * (the reason on stderr). */
int server_reload(const char *socket_path);

/* A public key of the server, base64: the running server's (the "users" reply's json_key),
 * else derived from the private key file (vpnctl runs as root). Returns 0, or -1 with why
 * (the key file's problem). */
int server_public_key(const char *socket_path, const char *json_key, const char *key_file,
                      char out[KEYFILE_B64_LEN + 1], char *why, size_t why_len);

/* The tunnel addresses of the running server's sessions ("show json"), at most max into
 * out[]. Returns how many (0 when no server answers). */
int server_leased_addresses(const char *socket_path, uint32_t *out, int max);

#endif
