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
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

#include "handshake_client.h"
#include "push_policy.h"
#include "vpn/client_config.h"
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

struct client {
    struct client_config *cfg;
    struct push_policy policy;      /* what we accept of the server's session configuration */
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
    bool retry_due;                 /* a refused handshake: the next one after the backoff */
    unsigned refusals_in_a_row;     /* AUTH_FAILED, RATE_LIMITED since the last success */
    const char *refused_why;        /* the last pushed configuration we refused, or NULL */

    struct hs_config config;
    struct client_session slots[4];
    struct client_session *cur, *prev;  /* main thread; NULL when none */
    struct client_session *tx;          /* atomic: what the TUN thread seals with, or NULL */
    unsigned next_slot;
    int stop_fd;                        /* eventfd: tells the TUN thread to stop */
    sem_t tun_started;                  /* posted by the TUN thread once it runs (sandbox.h) */
    int64_t clock_offset;           /* server time - local time, ms */
    uint64_t last_tx_mono, last_rx_mono;
    uint64_t last_hint_mono;        /* last handshake a SESSION_UNKNOWN hint started */
    uint8_t cookie[COOKIE_LEN];     /* the server's cookie for us (extension 3) */
    uint64_t cookie_at_mono;        /* when it came; 0: none */

    uint64_t rx_bytes, rx_packets, drops;   /* main thread */
    uint64_t tx_bytes, tx_packets, tx_drops;/* TUN thread */
    struct udp_batch tx_batch;              /* TUN thread */
};

/* Handshake and session life (conn.c). */
void conn_start_handshake(struct client *c);
/* A CONNECT_RESP arrived. Returns -1 when the client must exit (exit status 1). */
int conn_on_response(struct client *c, const uint8_t *buf, size_t len);
/* Timers: keepalive, dead peer, rekey, overlap end, handshake retries. Returns -1 to exit. */
int conn_tick(struct client *c);
uint64_t conn_server_time(const struct client *c);
void conn_send_disconnect(struct client *c);
/* A SESSION_UNKNOWN hint for session sid, refused message counter (extension 2). */
void conn_on_session_unknown(struct client *c, uint32_t sid, uint64_t counter);
/* A COOKIE_REPLY arrived (extension 3). */
void conn_on_cookie(struct client *c, const uint8_t *buf, size_t len);
/* Forgets the sessions (server said DISCONNECT, or the peer is dead); the TUN thread stops
 * sending. */
void conn_drop_sessions(struct client *c);
void conn_wipe(struct client *c);

/* Data path (datapath.c). */
void *datapath_tun_thread(void *arg);
/* Returns -1 when the client must exit. */
int datapath_from_udp(struct client *c);
bool datapath_send(struct client *c, uint8_t type, const uint8_t *pt, size_t len);

/* Pinned server keys (pin.c): known_servers_file holds "host:port base64key" lines. */
int pin_lookup(const char *file, const char *server, uint8_t key[KEY_LEN]);
int pin_store(const char *file, const char *server, const uint8_t key[KEY_LEN]);

#endif
