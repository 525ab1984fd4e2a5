/* The client's connection (conn.c): carries out what the state machine (state.h) decides.
 * Main thread only. */
#ifndef CLIENT_CONN_H
#define CLIENT_CONN_H

#include "client.h"
#include "datapath.h"

/* The first handshake. */
void conn_start(struct client *c);

/* The data path's one way in (a client_event_fn). Returns -1 when the client must exit. */
int conn_event(struct client *c, const struct client_event *ev);

/* The helper's replies (its socket is readable): the server's address from a lookup (the
 * first one starts the handshake), the outcome of routes and resolvers. Returns -1 when the
 * helper is gone and the client must exit. */
int conn_helper(struct client *c);

/* Timers: retries, overlap end, dead peer, keepalive, rekey. Returns -1 to exit. */
int conn_tick(struct client *c);

/* Leaving: DISCONNECT to the server when a session exists. */
void conn_stop(struct client *c);

/* Erases every key and the token; the TUN thread must have stopped. */
void conn_wipe(struct client *c);

#endif
