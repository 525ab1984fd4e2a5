/* The main process's state and its threads (docs/ARCHITECTURE.md).
 *
 *   RX thread       UDP socket -> in_rx rings          (rx_thread.c)
 *   TUN thread      TUN device -> in_tun rings         (tun_thread.c)
 *   TX thread       out_enc -> UDP, out_dec -> TUN; handshake results to control (tx_thread.c);
 *                   the RX and TUN threads borrow this role for single packets (tx_role.h)
 *   control thread  the process's main thread: handshake decisions, session life, timers,
 *                   signals, the control socket, the enclave's reports (control.c)
 *
 * Ownership: each thread writes only its own counters and the session fields marked with its
 * name in sessions.h; the control thread alone writes the tables, the pool and the in_ctl
 * rings. */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu/wfcqueue.h>

#include "enclave_link.h"
#include "sessions.h"
#include "upload_policy.h"
#include "vpn/counter.h"
#include "vpn/proto.h"
#include "vpn/qos.h"
#include "vpn/role.h"
#include "vpn/server_config.h"
#include "vpn/wg_proto.h"

/* Drop reasons of the main process's threads, declared once (counter.h). */
#define RX_DROP_REASONS(X)                                                                    \
    X(RX_DROP_HEADER, "rx_header", "bad header (rx_hdr_verdicts says which check)")           \
    X(RX_DROP_UNEXPECTED, "rx_unexpected", "CONNECT_RESP or SESSION_UNKNOWN sent to a server") \
    X(RX_DROP_NO_SESSION, "rx_no_session", "transport message of no session we know")       \
    X(RX_DROP_RING_FULL, "rx_ring_full", "the worker's in_rx ring was full")                \
    X(RX_DROP_HANDSHAKE_RATE, "handshake_rate", "CONNECT_REQ over its source's rate")      \
    X(RX_DROP_BAD_MAC1, "handshake_bad_mac1", "CONNECT_REQ whose mac1 is wrong")             \
    X(RX_DROP_LEGACY_LOADED, "handshake_v1_loaded", "base v1 CONNECT_REQ while under load") \
    X(RX_DROP_COOKIE_RATE, "cookie_rate", "cookie reply over its source's rate")            \
    X(RX_DROP_REPLY_SEND, "reply_send", "sending hints or cookie replies failed")         \
    X(RX_DROP_WG_MALFORMED, "wg_malformed", "not a WireGuard message a server takes")      \
    X(RX_DROP_WG_BAD_MAC1, "wg_bad_mac1", "WireGuard initiation whose mac1 is wrong")        \
    X(RX_DROP_WG_NO_SESSION, "wg_no_session", "WireGuard transport of no session we know") \
    X(RX_DROP_WG_HANDSHAKE_RATE, "wg_handshake_rate", "WireGuard initiation over its source's rate") \
    X(RX_DROP_WG_COOKIE_RATE, "wg_cookie_rate", "WireGuard cookie reply over its source's rate")

#define TUN_DROP_REASONS(X)                                                                   \
    X(TUN_DROP_NOT_IPV4, "tun_not_ipv4", "not an IPv4 packet (the tunnel carries IPv4)")    \
    X(TUN_DROP_BAD_GSO, "tun_bad_gso", "a super-packet we cannot cut")                       \
    X(TUN_DROP_NO_SESSION, "tun_no_session", "no session has that tunnel address")          \
    X(TUN_DROP_RING_FULL, "tun_ring_full", "the worker's in_tun ring was full")

#define TX_DROP_REASONS(X)                                                                    \
    X(TX_DROP_TUN_WRITE, "tun_write", "writing to the TUN failed")                           \
    X(TX_DROP_UDP_SEND, "udp_send", "sending a datagram failed")                             \
    X(TX_DROP_UPLOAD_QOS, "upload_qos", "client -> server over the user's class")            \
    X(TX_DROP_NO_SESSION, "tx_no_session", "a result for a session that just ended")

enum rx_drop { RX_DROP_REASONS(COUNTER_ENUM) RX_DROPS };
enum tun_drop { TUN_DROP_REASONS(COUNTER_ENUM) TUN_DROPS };
enum tx_drop { TX_DROP_REASONS(COUNTER_ENUM) TX_DROPS };

/* A handshake or session event from the TX thread to the control thread. */
struct ctl_event {
    struct cds_wfcq_node node;
    struct pkt_meta meta;
    uint16_t len;
    uint8_t data[CONNECT_REQ_LEN + USERNAME_MAX + RESP_CONFIG_MAX];
};

struct control;

struct server {
    const struct server_config *cfg;    /* as started: what cannot change while running */
    uint16_t mtu;                   /* TUN thread: segment size (cfg->mtu) */
    char tun_name[16];
    int tun_fd;
    int tun_watch;                  /* what the TUN thread sleeps on: a watch of tun_fd that the
                                       RX thread pauses (vpn/fd_watch.h, tun_thread.c) */
    bool tun_offload;               /* IFF_VNET_HDR + TSO: reads are super-packets */
    int udp_fd;
    int wg_fd;                      /* the WireGuard port's socket, or -1 ([wireguard]) */
    int stop_fd;                    /* eventfd: readable when the data threads must stop */
    int event_fd;                   /* eventfd: ctl_events waiting */
    int signal_fd;
    int control_fd;                 /* listening control socket, or -1 */
    volatile bool stopping;
    bool qos_active;
    bool nat_active;

    struct enclave_link enclave;
    struct session_tables sessions;
    struct control *control;        /* the control thread's state (control.h) */
    struct qos_link upload_link;    /* TX thread */
    struct qos_bucket default_upload; /* TX thread: one policer for every default-class user,
                                         as they share one tc class on the way down */
    /* TX thread: one policer per user of a class (by index in the classes file), shared by
     * all the user's devices as their one tc leaf is on the way down, and the policy each
     * was last set up for (a bucket is set up again only when that changes, so that a
     * device coming online does not refill its user's tokens). */
    struct qos_bucket user_upload[QOS_USER_MAX];
    struct upload_policy user_upload_set[QOS_USER_MAX];
    struct upload_link_box upload_link_policy;  /* control -> TX: link and default class */

    /* TX -> control */
    struct cds_wfcq_head events_head;
    struct cds_wfcq_tail events_tail;

    pthread_t rx_thread, tun_thread, tx_thread;
    uint32_t tx_role;               /* the TX role's token (tx_role.h) */
    uint32_t tun_role;              /* the TUN role's token (tun_thread.c) */
    uint32_t rx_rr;                 /* RX thread: next worker for a CONNECT_REQ */

    uint64_t rx_drops[RX_DROPS];            /* RX thread */
    uint64_t rx_hdr_verdicts[HDR_VERDICTS]; /* RX thread */
    uint64_t hints_sent;                    /* RX thread: SESSION_UNKNOWN hints */
    uint64_t cookies_sent;                  /* RX thread: COOKIE_REPLYs */
    /* RX thread: handshakes need cookies until then (monotonic ms). A time rather than a
     * flag, so that the load ends when its hold does even if no datagram comes after the
     * flood to update it: read with server_under_load. */
    uint64_t under_load_until_ms;
    uint64_t auth_pressure_until_ms;        /* control: the enclave answered RATE_LIMITED
                                               lately; until then the RX thread asks for
                                               cookies (monotonic ms) */
    uint8_t s_pub[KEY_LEN];                 /* the server's public key (mac1, cookies) */
    uint8_t wg_pub[WG_KEY_LEN];             /* the WireGuard one (SUP_WG_IDENTITY) */
    uint64_t tun_drops[TUN_DROPS];          /* TUN thread */
    uint64_t tx_drops[TX_DROPS];            /* TX thread */
};

void *rx_thread_main(void *arg);
void *tun_thread_main(void *arg);

/* The RX thread, after writing a lone packet to the TUN: takes the TUN role if it is free and
 * reads what the device holds (the reply, usually) as the TUN thread would. */
void tun_role_pass(struct server *srv);

/* The RX thread, around seeing a lone packet through to the TUN and reading the reply there
 * itself: the TUN thread is not woken for that reply meanwhile (vpn/fd_watch.h). Every pause
 * is followed by a resume, which wakes the TUN thread if the device still holds anything. */
void tun_wakeups_pause(struct server *srv);
void tun_wakeups_resume(struct server *srv);

void *tx_thread_main(void *arg);


/* Sends one datagram from the control thread, from the WireGuard port when wireguard. */
void server_send_datagram(struct server *srv, bool wireguard, const uint8_t *buf, size_t len,
                          const struct sockaddr_in6 *to);

/* Blocks until fd is readable or the server stops; the calling thread is offline for RCU
 * meanwhile. Returns false when stopping. */
bool server_wait_readable(struct server *srv, const int *fds, int nfds, int timeout_ms);

/* Whether handshakes on either port need cookies at now_ms (monotonic). */
static inline bool server_under_load(const struct server *srv, uint64_t now_ms)
{
    return now_ms < __atomic_load_n(&srv->under_load_until_ms, __ATOMIC_RELAXED);
}

#endif
