/* vpn-client's state. Two threads:
 *   main thread  UDP socket (decrypt, TUN write), handshakes, timers, signals, control socket
 *   TUN thread   TUN reads, sealed as DATA in batches, sendmmsg (datapath_tun_thread)
 * Sessions live in a small ring of slots: the main thread fills a fresh slot at each handshake
 * and publishes it to the TUN thread through c->tx (an atomic pointer), keeps the previous one
 * for receiving during the rekey overlap, and wipes a slot only two handshakes after it
 * stopped being current, long after the TUN thread's last use of it (one batch). Send counters
 * are taken with atomic fetch-and-add because both threads send (DATA, PING). */
#ifndef CLIENT_CLIENT_H
#define CLIENT_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "handshake_client.h"
#include "vpn/client_config.h"
#include "vpn/counter.h"
#include "vpn/replay.h"
#include "vpn/udp_batch.h"

struct client_session {
    bool live;
    uint32_t id;
    uint8_t k_c2s[KEY_LEN];
    uint8_t k_s2c[KEY_LEN];
    uint64_t send_counter;
    struct replay_window rx;
    uint64_t started_ms;        /* monotonic */
    uint64_t retire_at_ms;      /* previous session: stop receiving on it then */
};

enum client_state { CLIENT_IDLE, CLIENT_HANDSHAKE, CLIENT_CONNECTED };

/* Why the main thread dropped a datagram from the server's address (PROTOCOL.md receiver
 * checks, in their order), one counter each; `vpn-client status` shows them. Every datagram
 * received is either one of these or counted as taken (rx_packets, rx_other). */
#define CLIENT_RX_DROP_REASONS(X)                                                             \
    X(CRX_HEADER, "header", "bad header: short, version, type or length field")             \
    X(CRX_UNEXPECTED, "unexpected", "a CONNECT_REQ, which only a server takes")              \
    X(CRX_RESPONSE, "response", "CONNECT_RESP with no request pending, or that did not open") \
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
    uint8_t s_pub[KEY_LEN];
    struct sockaddr_storage server;
    socklen_t server_len;
    char server_text[300];
    int udp_fd, tun_fd, signal_fd, control_fd;
    bool tun_offload;               /* IFF_VNET_HDR + TSO: reads are super-packets */
    char tun_name[16];
    bool tun_configured;
    uint32_t tun_ip;
    bool ever_connected;
    bool stop;

    enum client_state state;
    struct hs_client hs;
    uint8_t request[CONNECT_REQ_LEN];
    uint64_t request_sent_ms;       /* realtime, for the clock offset */
    uint64_t request_sent_mono;
    bool stale_retry_used;
    int64_t request_ts_shift;       /* added to the local clock for request timestamps */
    uint64_t last_request_ts;
    unsigned attempt;               /* handshakes without an answer, for the backoff */
    uint64_t next_attempt_mono;
    uint64_t first_attempt_mono;

    struct hs_config config;
    struct client_session slots[4];
    struct client_session *cur, *prev;  /* main thread; NULL when none */
    struct client_session *tx;          /* atomic: what the TUN thread seals with, or NULL */
    unsigned next_slot;
    int stop_fd;                        /* eventfd: tells the TUN thread to stop */
    int64_t clock_offset;           /* server time - local time, ms */
    uint64_t last_tx_mono, last_rx_mono;
    uint64_t last_hint_mono;        /* last handshake a SESSION_UNKNOWN hint started */

    uint64_t rx_bytes, rx_packets;          /* main thread: DATA delivered */
    uint64_t rx_other;                      /* main thread: other datagrams taken (PING, PONG,
                                               DISCONNECT, responses, believed hints) */
    uint64_t rx_drops[CLIENT_RX_DROPS];     /* main thread */
    uint64_t tx_bytes, tx_packets, tx_drops;/* TUN thread */
    struct udp_batch tx_batch;              /* TUN thread */
};

/* Handshake and session life (conn.c). */
void conn_start_handshake(struct client *c);
/* A CONNECT_RESP arrived; counted as taken or dropped here. Returns -1 when the client must
 * exit (exit status 1). */
int conn_on_response(struct client *c, const uint8_t *buf, size_t len);
/* Timers: keepalive, dead peer, rekey, overlap end, handshake retries. Returns -1 to exit. */
int conn_tick(struct client *c);
uint64_t conn_server_time(const struct client *c);
void conn_send_disconnect(struct client *c);
/* A SESSION_UNKNOWN hint for session sid, refused message counter (extension 2); counted as
 * taken or dropped here. */
void conn_on_session_unknown(struct client *c, uint32_t sid, uint64_t counter);
/* Forgets the sessions (server said DISCONNECT, or the peer is dead); the TUN thread stops
 * sending. */
void conn_drop_sessions(struct client *c);
void conn_wipe(struct client *c);

/* The sum of the receive drop counters. */
uint64_t client_rx_dropped(const struct client *c);

/* Data path (datapath.c). */
void *datapath_tun_thread(void *arg);
/* Returns -1 when the client must exit. */
int datapath_from_udp(struct client *c);
bool datapath_send(struct client *c, uint8_t type, const uint8_t *pt, size_t len);

/* Pinned server keys (pin.c): known_servers_file holds "host:port base64key" lines. */
int pin_lookup(const char *file, const char *server, uint8_t key[KEY_LEN]);
int pin_store(const char *file, const char *server, const uint8_t key[KEY_LEN]);

#endif
