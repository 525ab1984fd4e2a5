/* Looking up the server's name ([client] server_ip) for the privileged helper (helper.h), at
 * start and on every reconnect.
 *
 * A name is looked up in a child process of its own, forked for each lookup: it takes the
 * client's unprivileged user ([client] user, with no capability and no_new_privs) before it
 * calls getaddrinfo, writes one address into a pipe and exits. So the resolver's parsing of
 * whatever the network answers never runs with the helper's root, nor in the sandboxed client
 * that holds the keys; and the helper stays free to serve requests meanwhile (a lookup can
 * take the resolver's full timeouts). An address literal needs no child. */
#ifndef CLIENT_RESOLVER_H
#define CLIENT_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "vpn/client_config.h"

enum { RESOLVER_TIMEOUT_MS = 20000 };  /* a lookup still running then is ended (SIGKILL) */

struct resolver_result {
    int32_t status;                 /* 0, or a getaddrinfo EAI_* code, or -1 */
    uint32_t addr_len;
    struct sockaddr_storage addr;   /* the first address, port set */
    char why[128];                  /* gai_strerror or what failed */
};

struct lookup {
    pid_t pid;                      /* 0: none running */
    int fd;                         /* the child's answer arrives here */
};

/* true with *out filled when host is an address literal (no lookup needed). */
bool resolver_numeric(const char *host, uint16_t port, struct resolver_result *out);

/* Starts a lookup of cfg's server_ip and server_port. Returns 0 (l->fd becomes readable when
 * the answer is there), or -1 with why in out. */
int resolver_start(const struct client_config *cfg, struct lookup *l,
                   struct resolver_result *out);

/* Reads the answer of a lookup whose fd is readable, and reaps the child. */
void resolver_finish(struct lookup *l, struct resolver_result *out);

/* Ends a lookup still running (SIGKILL to its pid) and reaps it. */
void resolver_cancel(struct lookup *l);

#endif
