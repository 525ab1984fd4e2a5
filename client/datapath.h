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

/* What an event's receiver made of it: the data path counts the datagram as taken (rx_other)
 * or as dropped for the event's reason (a response or cookie reply that did not open, or came
 * with no request pending; a hint not believed). CEV_TRAFFIC is always EV_TAKEN. */
enum { EV_EXIT = -1, EV_TAKEN = 0, EV_DROPPED = 1 };

/* Where events go; returns one of the above. After EV_EXIT, no further events are reported. */
typedef int (*client_event_fn)(struct client *c, const struct client_event *ev);

/* TUN thread. */
void *datapath_tun_thread(void *arg);

/* The receive role's holder (client.h): one batch from the UDP socket; every datagram lands
 * in exactly one of rx_packets, rx_other and the receive drop counters. Returns how many
 * datagrams it took, or -1 when report asked to exit. */
int datapath_from_udp(struct client *c, client_event_fn report);

/* Main thread: one datagram (decrypted in place), as datapath_from_udp does for each; DATA
 * written to the TUN at once. Returns -1 when report asked to exit, else 0. */
int datapath_receive(struct client *c, uint8_t *pkt, size_t len, uint64_t now_ms,
                     client_event_fn report);

/* Main thread: the sum of the receive drop counters (client.h, CLIENT_RX_DROP_REASONS). */
uint64_t client_rx_dropped(const struct client *c);

/* Main thread: a control message (PING, PONG, DISCONNECT) sealed on the current session. */
bool datapath_send(struct client *c, uint8_t type, const uint8_t *pt, size_t len);

#endif
