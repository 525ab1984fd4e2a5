/* The client's data path (datapath.c): DATA from the TUN sealed in batches by the TUN thread;
 * datagrams from the server opened by the main thread in PROTOCOL.md's receiver order, DATA
 * written to the TUN, PING answered. Everything else that arrives is reported as an event to
 * the function the caller passes (conn_event in vpn-client); the data path itself changes no
 * connection state. */
#ifndef CLIENT_DATAPATH_H
#define CLIENT_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;

enum client_event_type {
    CEV_RESPONSE,           /* a CONNECT_RESP, not opened: buf, len */
    CEV_COOKIE_REPLY,       /* a COOKIE_REPLY, not opened: buf, len (extension 3) */
    CEV_SESSION_UNKNOWN,    /* a SESSION_UNKNOWN hint, unauthenticated: sid, counter */
    CEV_DISCONNECT,         /* an authenticated DISCONNECT on session sid: reason */
    CEV_TRAFFIC,            /* authenticated transport messages arrived (one event per run of
                               them, reported before any other event and at the batch's end) */
};

struct client_event {
    enum client_event_type type;
    uint64_t now_ms;        /* monotonic, read once per batch */
    const uint8_t *buf;
    size_t len;
    uint32_t sid;
    uint64_t counter;
    uint8_t reason;
};

/* Where events go; returns -1 when the client must exit (no further events are reported). */
typedef int (*client_event_fn)(struct client *c, const struct client_event *ev);

/* TUN thread. */
void *datapath_tun_thread(void *arg);

/* Main thread: one batch from the UDP socket. Returns -1 when report asked to exit. */
int datapath_from_udp(struct client *c, client_event_fn report);

/* Main thread: one datagram (decrypted in place), as datapath_from_udp does for each; DATA
 * written to the TUN at once. Returns what report returned, or 0. */
int datapath_receive(struct client *c, uint8_t *pkt, size_t len, uint64_t now_ms,
                     client_event_fn report);

/* Main thread: a control message (PING, PONG, DISCONNECT) sealed on the current session. */
bool datapath_send(struct client *c, uint8_t type, const uint8_t *pt, size_t len);

#endif
