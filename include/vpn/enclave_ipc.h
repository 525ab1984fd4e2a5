/* The boundary between the main process (core/) and the enclave workers (enclave/).
 *
 * Each worker w shares one region of a memfd with the main process:
 *
 *   main RX thread  --in_rx-->  worker  --out_dec-->  main TX thread (TUN write, control)
 *   main RX thread  --in_hs-->  worker                 (handshakes, served after data)
 *   main TUN thread --in_tun--> worker  --out_enc-->  main TX thread (UDP send)
 *   main control    --in_ctl--> worker
 *
 * Every ring is single-producer single-consumer. A socketpair per worker is the doorbell:
 * a producer that finds the consumer's "sleeping" flag set clears it and writes one byte;
 * that happens at most once per batch, never per packet. The worker's replies to handshakes
 * come back on out_dec, in order with the session's data.
 *
 * What crosses this boundary is deliberately small (STYLE.md, "Secrets"): datagrams, IP
 * packets, session ids, usernames, addresses and counters. No key, token or intermediate
 * secret is ever written to these rings. A malformed request kills the worker (the
 * supervisor restarts it); it never corrupts the enclave. */
#ifndef VPN_ENCLAVE_IPC_H
#define VPN_ENCLAVE_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "vpn/counter.h"
#include "vpn/limits.h"
#include "vpn/ring.h"

/* Requests (pkt_meta.op on the in_* rings). */
enum enclave_op {
    /* in_hs: a CONNECT_REQ datagram (phase 1); aux = HELLO_SOURCE_PROVEN when the main
     * process checked its cookie (extension 3), which picks the user's failure budget. The
     * worker opens it and either answers it itself (RES_REPLY: AUTH_FAILED, RATE_LIMITED or
     * STALE_TIMESTAMP), names the user (RES_HELLO), or drops it (nothing comes back). */
    OP_HELLO = 1,
    /* in_ctl: phase 2, after the main process chose address and capacity. data = the same
     * CONNECT_REQ datagram || config block (session_id ignored); aux = status to send
     * (STATUS_OK, or SERVER_FULL / POOL_EXHAUSTED, or AUTH_FAILED with an enum
     * refusal_reason other than NONE in the high byte: quota, expiry; any other value ends
     * the worker). Result RES_ACCEPTED (data = CONNECT_RESP,
     * session_id = the new session), or RES_REPLY for a failure or a stale timestamp. */
    OP_ACCEPT = 2,
    /* in_rx: a transport datagram for session_id (DATA, PING, PONG, DISCONNECT). */
    OP_DECRYPT = 3,
    /* in_tun: an IP packet to seal as DATA for session_id, sent to meta.peer. */
    OP_ENCRYPT = 4,
    /* in_ctl: seal a control message (aux = MSG_DISCONNECT; data = reason byte). */
    OP_SEAL_CONTROL = 5,
    /* in_ctl: erase session_id's keys now (session end, rekey overlap over, shutdown). */
    OP_ERASE = 6,
    /* WireGuard (docs/WIREGUARD.md, "Phase 2", the contract's table). in_hs: an initiation
     * (WG_INIT_LEN bytes); RES_HELLO (aux HELLO_WIREGUARD) or nothing. */
    OP_WG_HELLO = 7,
    /* in_ctl: as OP_ACCEPT, the request block being RES_HELLO's (the initiation, zero to
     * CONNECT_REQ_LEN). RES_ACCEPTED (aux HELLO_WIREGUARD, data = the response), or
     * RES_REPLY with len 0 for a refusal (WireGuard has no refusal message). */
    OP_WG_ACCEPT = 8,
    /* in_rx: a WireGuard transport message; session_id = its receiver index. */
    OP_WG_DECRYPT = 9,
    /* in_ctl, len 0: an empty transport message (a keepalive) for the WireGuard session
     * session_id, sent to meta.peer: RES_SEALED (aux HELLO_WIREGUARD), or nothing. */
    OP_WG_KEEPALIVE = 10,
};

enum { HELLO_SOURCE_PROVEN = 1 };

/* aux of RES_HELLO, RES_ACCEPTED and RES_SEALED for a WireGuard session: its datagrams come
 * from and go to the WireGuard port. */
enum { HELLO_WIREGUARD = 0x100 };

/* Where RES_HELLO's username starts. */
enum { HELLO_USER_OFF = CONNECT_REQ_LEN + DEVICE_ID_LEN };

/* Results (pkt_meta.op on the out_* rings). */
enum enclave_result {
    RES_DATA = 1,           /* out_dec: decrypted IP packet of session_id, from meta.peer */
    RES_KEEPALIVE = 2,      /* out_dec: authenticated PING/PONG (len 0): refreshes the session */
    RES_DISCONNECT = 3,     /* out_dec: the client ended session_id */
    RES_HELLO = 4,          /* out_dec: phase 1 passed; data = the CONNECT_REQ || its device
                               id (DEVICE_ID_LEN, zero without extension 5) || username
                               (len - HELLO_USER_OFF bytes), ts = request timestamp */
    RES_ACCEPTED = 5,       /* out_dec: data = CONNECT_RESP to send to meta.peer */
    RES_REPLY = 6,          /* out_dec: data = a failure CONNECT_RESP to send to meta.peer;
                               aux = its status */
    RES_SEALED = 8,         /* out_enc: datagram to send to meta.peer */
};

/* Why a worker dropped something; counters in worker_ctl (counter.h). */
#define WORKER_DROP_REASONS(X)                                                                \
    X(DROP_NO_SESSION, "no_session", "unknown or erased session id")                         \
    X(DROP_REPLAY, "replay", "counter already seen or older than the window")                \
    X(DROP_AUTH, "auth", "AEAD tag did not verify (tampered or wrong key)")                  \
    X(DROP_STALE, "stale", "timestamp outside replay_window_ms of server time")              \
    X(DROP_SPOOFED_SOURCE, "spoofed_source", "inner source address is not the session's")    \
    X(DROP_MALFORMED, "malformed", "inner packet not IPv4 / bad length")                     \
    X(DROP_SEQUENCE, "sequence", "header sequence != counter mod 2^32 (receiver step 3)")     \
    X(DROP_HANDSHAKE, "handshake", "CONNECT_REQ that could not be opened")                   \
    X(DROP_OUT_FULL, "out_ring_full", "a result ring was full")                              \
    X(DROP_EXPIRED, "expired_key", "key too old, superseded, or its user's token changed")   \
    X(DROP_UNANSWERED, "unanswered_legacy", "refused request without extension 1")          \
    X(DROP_DISABLED, "user_disabled", "authenticated request of a disabled user (refused)") \
    X(DROP_DEVICES, "devices_full", "a user's every device record held a live session")    \
    X(DROP_WG_PEER, "wg_unknown_peer", "WireGuard initiation from a key that is no device's")  \
    X(DROP_WG_REPLAY, "wg_replayed_initiation",                                               \
      "WireGuard initiation not newer than its peer's last, or too soon after it")

enum worker_drop { WORKER_DROP_REASONS(COUNTER_ENUM) DROP_REASONS };

/* Control block of one worker, shared with the main process. */
struct worker_ctl {
    uint32_t worker_sleeping __attribute__((aligned(RING_CACHELINE))); /* set by the worker */
    uint32_t main_sleeping __attribute__((aligned(RING_CACHELINE)));   /* set by main's TX */
    uint64_t heartbeat_ms __attribute__((aligned(RING_CACHELINE)));    /* worker liveness */
    uint32_t pid;
    uint32_t sessions;              /* live sessions owned by this worker */
    uint64_t drops[DROP_REASONS];   /* written by the worker only */
    uint64_t packets_decrypted, packets_encrypted;
};

/* Layout (see ring.h): the same on every architecture, 64-bit fields 8-aligned (counter.h). */
#define WORKER_CTL_DROPS_OFF (2 * RING_CACHELINE + 16)
_Static_assert(offsetof(struct worker_ctl, main_sleeping) == RING_CACHELINE &&
               offsetof(struct worker_ctl, heartbeat_ms) == 2 * RING_CACHELINE &&
               offsetof(struct worker_ctl, pid) == 2 * RING_CACHELINE + 8 &&
               offsetof(struct worker_ctl, sessions) == 2 * RING_CACHELINE + 12 &&
               offsetof(struct worker_ctl, drops) == WORKER_CTL_DROPS_OFF &&
               offsetof(struct worker_ctl, packets_decrypted) ==
                   WORKER_CTL_DROPS_OFF + 8 * DROP_REASONS &&
               sizeof(struct worker_ctl) ==
                   (WORKER_CTL_DROPS_OFF + 8 * (DROP_REASONS + 2) + RING_CACHELINE - 1) /
                       RING_CACHELINE * RING_CACHELINE,
               "struct worker_ctl layout");

/* Ring sizes per direction. in_rx is the largest: a client's UDP GSO trains arrive faster than
 * a worker decrypts, and a drop there costs TCP a retransmission (with 512 slots about 2 % of
 * a full-speed upload was dropped here; with 2048, none). The others are kept small: under
 * load every slot's pages get touched, and memory counts on a Pi (5.5 MB per worker at most). */
enum ring_sizes {
    IN_RX_SLOTS = 2048,
    IN_HS_SLOTS = 128,      /* handshakes, apart from data: a worker takes only a few per turn */
    IN_TUN_SLOTS = 512,
    IN_CTL_SLOTS = 256,
    OUT_DEC_SLOTS = 256,
    OUT_ENC_SLOTS = 256,
};

struct worker_shm {
    struct worker_ctl ctl;
    RING_OF(IN_RX_SLOTS) in_rx;
    RING_OF(IN_HS_SLOTS) in_hs;
    RING_OF(IN_TUN_SLOTS) in_tun;
    RING_OF(IN_CTL_SLOTS) in_ctl;
    RING_OF(OUT_DEC_SLOTS) out_dec;
    RING_OF(OUT_ENC_SLOTS) out_enc;
};

/* The rings follow one another with nothing in between: a RING_OF(n) is its indexes and n
 * slots. (5.75 MB in all; worker_region_size rounds it to the page size.) */
#define RING_BYTES(n) (sizeof(struct ring_index) + (size_t)(n) * sizeof(struct pkt_slot))
_Static_assert(offsetof(struct worker_shm, in_rx) == sizeof(struct worker_ctl) &&
               offsetof(struct worker_shm, in_hs) ==
                   offsetof(struct worker_shm, in_rx) + RING_BYTES(IN_RX_SLOTS) &&
               offsetof(struct worker_shm, in_tun) ==
                   offsetof(struct worker_shm, in_hs) + RING_BYTES(IN_HS_SLOTS) &&
               offsetof(struct worker_shm, in_ctl) ==
                   offsetof(struct worker_shm, in_tun) + RING_BYTES(IN_TUN_SLOTS) &&
               offsetof(struct worker_shm, out_dec) ==
                   offsetof(struct worker_shm, in_ctl) + RING_BYTES(IN_CTL_SLOTS) &&
               offsetof(struct worker_shm, out_enc) ==
                   offsetof(struct worker_shm, out_dec) + RING_BYTES(OUT_DEC_SLOTS) &&
               sizeof(struct worker_shm) ==
                   offsetof(struct worker_shm, out_enc) + RING_BYTES(OUT_ENC_SLOTS),
               "struct worker_shm layout");

/* Handles on one worker's five rings, made by each side from its own mapping. */
struct worker_rings {
    struct ring in_rx, in_hs, in_tun, in_ctl, out_dec, out_enc;
};

static inline void worker_rings_init(struct worker_rings *wr, struct worker_shm *m)
{
    wr->in_rx = RING_VIEW(&m->in_rx);
    wr->in_hs = RING_VIEW(&m->in_hs);
    wr->in_tun = RING_VIEW(&m->in_tun);
    wr->in_ctl = RING_VIEW(&m->in_ctl);
    wr->out_dec = RING_VIEW(&m->out_dec);
    wr->out_enc = RING_VIEW(&m->out_enc);
}


#endif
