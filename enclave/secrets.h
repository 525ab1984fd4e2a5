/* The enclave's secret memory: one shared anonymous mapping created by the supervisor before it
 * forks the workers, so that every worker (and a restarted one) sees the same key table, and
 * the main process never has it mapped. Locked (mlock), excluded from core dumps
 * (MADV_DONTDUMP), and wiped at exit.
 *
 * Ownership: slot s belongs to worker s % workers, which alone writes it after creation (its
 * keys, counters and replay window), so no lock is needed. The user table is shared: its
 * last-request timestamps are updated with compare-and-swap (users_accept_ts); so are the
 * WireGuard peers' (wg_peers.h, which says who writes what there). */
#ifndef ENCLAVE_SECRETS_H
#define ENCLAVE_SECRETS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "users.h"
#include "wg_noise.h"
#include "wg_peers.h"
#include "vpn/limits.h"
#include "vpn/replay.h"

enum { PHANTOM_BUDGETS = 256 };

/* Which protocol a key slot speaks: ours (docs/PROTOCOL.md) or WireGuard's transport
 * (docs/WIREGUARD.md). Zero is ours, so that a zeroed slot is one of ours. */
enum key_format { KEY_FORMAT_OURS = 0, KEY_FORMAT_WG = 1 };

struct key_slot {
    uint32_t session_id;        /* 0 when free; for WireGuard also our index, its receiver */
    uint32_t client_ip;         /* host order: inner source address the session may use */
    int user_index;
    int device;                 /* the record of the user's device it belongs to (devices.h) */
    uint32_t user_gen;          /* the user's generation when the keys were made */
    uint8_t format;             /* enum key_format */
    uint16_t mtu;               /* WireGuard: padding never takes a message beyond it */
    uint32_t peer_index;        /* WireGuard: the initiator's index, our messages' receiver */
    int wg_peer;                /* WireGuard: its entry in the peer table (wg_peers.h), and */
    uint32_t wg_peer_gen;       /* that entry's generation when the keys were made */
    uint64_t created_ms;        /* monotonic: the key is refused once older than the limit */
    uint8_t k_c2s[KEY_LEN];
    uint8_t k_s2c[KEY_LEN];
    /* What changes with traffic, after the keys: */
    uint64_t send_counter;      /* next counter for server -> client */
    bool has_peer;
    struct sockaddr_in6 peer;   /* where the client last authenticated from (its handshake or
                                   a packet that opened): a retired key's DISCONNECT goes there */
    struct replay_window rx;    /* client -> server counters seen */
};

struct enclave_secrets {
    uint8_t s_priv[KEY_LEN];
    uint8_t s_pub[KEY_LEN];
    uint64_t auth_fail_tat;     /* failure budget of all users together (auth_limit.h) */
    /* Budgets of names that are not users, by keyed hash (random key): a spent budget looks
     * the same whether the name exists or not. */
    uint8_t phantom_key[16];
    uint64_t phantom_fail_tat[PHANTOM_BUDGETS][2];
    struct user_table users;
    struct key_slot slots[SESSION_SLOTS];
    /* WireGuard (docs/WIREGUARD.md): the server's static key when [wireguard] is enabled, and
     * the peers of the users file. */
    uint32_t wg_enabled;
    struct wg_identity wg_id;
    struct wg_peer_table wg_peers;
};

/* Maps, locks and marks non-dumpable a zeroed secrets region between two PROT_NONE guard
 * pages, so that a write running off a neighbouring mapping (the rings) faults instead of
 * reaching a key. NULL with errno on failure. */
/* Shared by the supervisor and the workers (secrets_map: MAP_SHARED), which update the 64-bit
 * budgets and timestamps with compare-and-swap: each must be 8-aligned to be atomic on a
 * 32-bit Pi (counter.h asserts that the atomics are lock-free). One build on both sides, so
 * the layout need not match other targets'. */
_Static_assert(offsetof(struct enclave_secrets, auth_fail_tat) % 8 == 0 &&
               offsetof(struct enclave_secrets, phantom_fail_tat) % 8 == 0 &&
               offsetof(struct enclave_secrets, users) % 8 == 0 &&
               offsetof(struct user_table, users) % 8 == 0 &&
               sizeof(struct enclave_user) % 8 == 0 &&
               offsetof(struct enclave_user, last_request_ts) % 8 == 0 &&
               offsetof(struct enclave_user, auth_fail_tat) % 8 == 0 &&
               offsetof(struct enclave_secrets, wg_peers) % 8 == 0,
               "64-bit fields updated by compare-and-swap across processes must be 8-aligned");

struct enclave_secrets *secrets_map(void);
/* Wipes every key (sodium_memzero) and unmaps. */
void secrets_unmap(struct enclave_secrets *s);
/* Erases one slot's keys and frees it. */
void secrets_erase_slot(struct key_slot *slot);

#endif
