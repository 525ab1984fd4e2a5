/* vpn-client's state. Two threads:
 *   main thread  UDP socket (decrypt, TUN write), handshakes, timers, signals, control socket
 *   TUN thread   TUN reads, sealed as DATA in batches, sendmmsg (datapath_tun_thread)
 *
 * Modules, and who may call whom (no cycle):
 *   main.c      set-up, the poll loop, the status command; wires the two below together
 *   conn.c      conn.h: carries out what the state machine decides (requests, responses,
 *               TUN configuration, sessions, logs); the datapath's one way in is conn_event
 *   state.c     state.h: the connection state machine, pure (IDLE, HANDSHAKE, CONNECTED,
 *               REKEYING); owns every state transition
 *   datapath.c  datapath.h: sealing and opening transport messages; reports what arrived
 *               as events to the function main gives it, and changes no connection state
 *   slots.c     slots.h: the sessions' keys, counters and replay windows, shared with the
 *               TUN thread
 *   underlay.c  underlay.h: the server's address (lookups at start and at each reconnect)
 *               and the UDP socket pointed at it
 *   helper.c    helper.h: the privileged helper process, forked before the sandbox: routes
 *               (routes.c), resolvers (dns_apply.c), kill switch (killswitch.c), lookups
 *               (resolver.c); helper_link.c is the client's end of its socket
 *   handshake_client.c, refusal.c, push_policy.c, pin.c, sandbox.c: pure helpers */
#ifndef CLIENT_CLIENT_H
#define CLIENT_CLIENT_H

#include <netinet/in.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "datapath.h"
#include "handshake_client.h"
#include "helper.h"
#include "push_policy.h"
#include "device.h"
#include "slots.h"
#include "state.h"
#include "vpn/client_config.h"
#include "vpn/counter.h"
#include "vpn/proto.h"
#include "vpn/udp_batch.h"

/* Why the main thread dropped a datagram from the server's address (PROTOCOL.md receiver
 * checks, in their order), one counter each; `vpn-client status` shows them. Every datagram
 * received is either one of these or counted as taken (rx_packets, rx_other). */
#define CLIENT_RX_DROP_REASONS(X)                                                             \
    X(CRX_HEADER, "header", "bad header: short, version, type or length field")             \
    X(CRX_UNEXPECTED, "unexpected", "a CONNECT_REQ, which only a server takes")              \
    X(CRX_RESPONSE, "response", "CONNECT_RESP with no request pending, or that did not open") \
    X(CRX_COOKIE, "cookie", "COOKIE_REPLY with no request pending, or that did not open")    \
    X(CRX_HINT, "hint", "SESSION_UNKNOWN hint not believed (extension 2 rules)")            \
    X(CRX_NO_SESSION, "no_session", "transport message of no session we have")              \
    X(CRX_SEQUENCE, "sequence", "header sequence != counter mod 2^32")                      \
    X(CRX_REPLAY, "replay", "counter already seen or older than the window")                \
    X(CRX_AUTH, "auth", "AEAD tag did not verify")                                          \
    X(CRX_STALE, "stale", "timestamp outside the window of server time")                    \
    X(CRX_INNER, "inner", "DATA shorter than an IPv4 header")                                \
    X(CRX_TUN_WRITE, "tun_write", "writing to the TUN failed")

enum client_rx_drop { CLIENT_RX_DROP_REASONS(COUNTER_ENUM) CLIENT_RX_DROPS };

struct client {
    struct client_config *cfg;
    struct push_policy policy;      /* what we accept of the server's session configuration */
    uint8_t s_pub[KEY_LEN];
    uint8_t device_id[DEVICE_ID_LEN];   /* device.h; device.has_id when drawn or read */
    struct device_policy device;    /* main thread (conn.c): whether a request carries it */
    struct sockaddr_storage server;  /* its current address (underlay.h) */
    socklen_t server_len;
    bool have_server;
    char server_text[300];          /* server_ip:server_port as configured */
    int udp_fd, tun_fd, signal_fd, control_fd;
    int sock4, sock6;               /* underlay.c: udp_fd is a duplicate of one of them */
    int udp_watch;                  /* what the main thread sleeps on: a watch of udp_fd's socket
                                       (vpn/fd_watch.h), -1 for none; the TUN thread pauses it
                                       while it takes a reply (datapath.c) */
    int udp_watched;                /* receive role: the descriptor it watches, sock4 or sock6 */
    int udp_family;
    struct {                        /* underlay.c: looking up server_ip */
        bool wanted, in_flight;
        unsigned attempt;
        uint64_t next_ms;
    } lookup;
    struct helper_link helper;      /* the privileged helper (helper.h) */
    struct helper_request applied;  /* conn.c: the routes and resolvers last handed to it */
    enum sm_note announce;          /* conn.c: "Connected!" or "Reconnected" to log once the
                                       helper has put the session's routes in place */
    bool tun_offload;               /* IFF_VNET_HDR + TSO: reads are super-packets */
    char tun_name[16];
    bool tun_configured;
    uint32_t tun_ip;
    bool stop;

    /* conn.c (main thread) */
    struct client_sm sm;            /* every connection state decision (state.h) */
    struct hs_client hs;            /* the pending request's secrets */
    uint8_t request[CONNECT_REQ_LEN];
    const char *refused_why;        /* the last pushed configuration we refused, or NULL */
    uint8_t refusal;                /* the last refusal's reason (extension 6), main thread */
    struct hs_config config;        /* the current session's configuration */
    uint32_t server_window_ms;      /* the server's replay window: pushed, or the default */
    bool window_pushed;
    uint8_t cookie[COOKIE_LEN];     /* the server's cookie for us (extension 3) */

    struct client_slots slots;      /* sessions, shared with the TUN thread (slots.h) */
    int64_t clock_offset;           /* atomic: server time - local time, ms */
    uint64_t last_tx_mono;          /* atomic: both threads send */
    int stop_fd;                    /* eventfd: tells the TUN thread to stop */
    sem_t tun_started;              /* posted by the TUN thread once it runs (sandbox.h) */

    /* The receive role (vpn/role.h): the UDP socket's receive path and the connection's
     * state, everything marked "main thread" in this file and in slots.h. The main thread
     * holds it except while it sleeps in poll; the TUN thread borrows it after sending a lone
     * packet, to take the reply without a wake-up (reply_wait.h). */
    uint32_t rx_role;
    client_event_fn on_event;       /* what the receive path reports to (conn_event) */
    int exit_fd;                    /* eventfd: wakes the main thread for rx_exit */
    bool rx_exit;                   /* receive role: the TUN thread's receive asked to exit */
    uint64_t main_rx;               /* counter.h, main thread: datagrams it took (reply_wait.h) */

    uint64_t rx_bytes, rx_packets;          /* main thread: DATA delivered */
    uint64_t rx_other;                      /* main thread: other datagrams taken (PING, PONG,
                                               DISCONNECT, responses, cookies, believed hints) */
    uint64_t rx_drops[CLIENT_RX_DROPS];     /* main thread */
    uint64_t tx_bytes, tx_packets, tx_drops;/* TUN thread */
    uint64_t reply_waits, replies_caught;   /* counter.h, TUN thread: waits after a lone packet,
                                               and those that took a datagram (reply_wait.h) */
    struct udp_batch tx_batch;              /* TUN thread */
};

/* The server's clock as we estimate it (PROTOCOL.md section 6); any thread. */
static inline uint64_t client_server_time(const struct client *c)
{
    return (uint64_t)((int64_t)clock_realtime_ms() +
                      __atomic_load_n(&c->clock_offset, __ATOMIC_RELAXED));
}

/* Pinned server keys (pin.c): known_servers_file holds "host:port base64key" lines. */
int pin_lookup(const char *file, const char *server, uint8_t key[KEY_LEN]);
int pin_store(const char *file, const char *server, const uint8_t key[KEY_LEN]);

#endif
