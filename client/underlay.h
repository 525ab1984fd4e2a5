/* The path to the server's current address (underlay.c). Main thread only.
 *
 * The server's name ([client] server_ip) is looked up by the helper (helper.h, resolver.h)
 * at start and again at every reconnect; a failed lookup is retried with the handshake's
 * backoff (1 s doubling to 30 s) while the client keeps using the address it had, so a boot
 * without network or a dynamic-DNS name that changes while the server restarts costs a retry,
 * not an exit. The handshake starts once the first address is known.
 *
 * The data path always sends and receives on c->udp_fd. Two UDP sockets, one per family, are
 * made before the sandbox (it allows no new sockets); udp_fd is made a duplicate of the one
 * of the address's family (dup3 onto the same number, so the TUN thread never sees a closed
 * descriptor), which is then connected to the address. Before each connect it is
 * disconnected, which makes the kernel choose the source address and port afresh: after a
 * move to another network the old source address would otherwise stay. */
#ifndef CLIENT_UNDERLAY_H
#define CLIENT_UNDERLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "helper.h"

/* Before the sandbox: the two sockets and udp_fd. Returns 0, or -1 with errno. */
int underlay_open(struct client *c);

/* A lookup is due now: at start, and when a reconnect begins. */
void underlay_want_lookup(struct client *c, uint64_t now_ms);

/* Sends the due lookup to the helper. */
void underlay_tick(struct client *c, uint64_t now_ms, uint32_t jitter);

/* The helper's answer to a lookup. Returns true when the address is usable and the first one
 * (the handshake may start). */
bool underlay_on_lookup(struct client *c, const struct helper_reply *rep, uint64_t now_ms,
                        uint32_t jitter);

#endif
