/* The enclave's WireGuard peers (docs/WIREGUARD.md, "Where peers are written"): each a device
 * of a user, from the users file's "[wireguard:USER:DEVICE]" sections, kept in the secrets
 * mapping beside the user table (secrets.h) so that every worker, and a restarted one, sees
 * the same peers and the same last accepted timestamps.
 *
 * Who writes what (no lock anywhere: a worker killed at any instant must leave nothing held):
 *   - the supervisor alone writes an entry's identity (owner, device, keys) and the lookup
 *     index: at start and on reload (wg_peers_retire, then users_merge, then wg_peers_admit),
 *     single-threaded. It rewrites an entry only under the entry's sequence count (odd while
 *     it writes), and readers take a snapshot that they keep only if the count was even and
 *     unchanged around it; a removed, re-keyed or reused entry's generation moves on, so that
 *     keys made from an older snapshot die at their next use (worker.c, slot_alive);
 *   - any worker moves an entry's last accepted TAI64N forward (compare-and-swap) and records
 *     when (wg_peers_accept_ts), only when it accepts an initiation.
 * The index (public key -> entry) is an open-addressing table keyed with SipHash under a
 * random key, built whole by the supervisor into the idle one of two copies and published by
 * one store. A reader still probing the other copy during a second reload reads at worst a
 * stale entry number, which the snapshot's key comparison turns into a miss (one initiation
 * dropped; the initiator retries in 5 s). Every probe is bounded.
 *
 * A removed user's peers leave before users_merge may give its table entry to a new user:
 * the owner an entry names is never somebody else's. */
#ifndef ENCLAVE_WG_PEERS_H
#define ENCLAVE_WG_PEERS_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "users.h"
#include "vpn/limits.h"
#include "vpn/users_file.h"
#include "vpn/wg_proto.h"

/* A peer as the users file gives it, before it is matched to the live tables. */
struct wg_peer_def {
    char user[USERNAME_MAX + 1];
    uint8_t device_id[DEVICE_ID_LEN];   /* the device's name, NUL-padded */
    uint8_t public_key[WG_KEY_LEN];
    uint8_t psk[WG_KEY_LEN];            /* all zero: none */
};

/* Every peer of one users file (about 2.4 MB: allocated for a load, wiped and freed after). */
struct wg_peer_list {
    int count;
    struct wg_peer_def defs[WG_PEERS_MAX];
};

struct wg_peer {
    uint64_t last_ts;           /* greatest accepted TAI64N, packed (wg_tai64n_pack) */
    uint64_t last_init_ms;      /* monotonic ms of the last accepted initiation, 0: none */
    uint32_t seq;               /* even: stable; odd: the supervisor is rewriting the entry */
    uint32_t gen;               /* moves on when the entry is freed or given to a peer */
    int32_t user_index;         /* -1: free */
    uint8_t device_id[DEVICE_ID_LEN];
    uint8_t public_key[WG_KEY_LEN];
    uint8_t psk[WG_KEY_LEN];
};

enum {
    /* Twice the peers, a power of two: probes stay short at a load of one half. */
    WG_PEER_INDEX_SLOTS = 2 * WG_PEERS_MAX,
};
_Static_assert((WG_PEER_INDEX_SLOTS & (WG_PEER_INDEX_SLOTS - 1)) == 0 &&
               WG_PEERS_MAX < UINT16_MAX, "index slots hold entry + 1 in 16 bits");

struct wg_peer_table {
    uint32_t count;             /* entries [0, count) have been used; the rest never were */
    uint32_t index_active;      /* which copy of the index readers probe: 0 or 1 */
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    uint16_t index[2][WG_PEER_INDEX_SLOTS];     /* entry + 1; 0: empty */
    struct wg_peer peers[WG_PEERS_MAX];
};
_Static_assert(sizeof(struct wg_peer) % 8 == 0 && offsetof(struct wg_peer_table, peers) % 8 == 0,
               "64-bit fields updated by compare-and-swap across processes must be 8-aligned");

/* A consistent copy of one entry (psk is a secret: wg_peer_view_wipe). */
struct wg_peer_view {
    int index;
    uint32_t gen;
    int user_index;
    uint8_t device_id[DEVICE_ID_LEN];
    uint8_t public_key[WG_KEY_LEN];
    uint8_t psk[WG_KEY_LEN];
};

/* ---- the supervisor ---- */

/* An empty table with a fresh random index key (t zeroed by the caller, as secrets_map is). */
void wg_peers_init(struct wg_peer_table *t);

/* Appends a users file section to the list. 0, or -1 when the list is full (the parser
 * refuses a file with more peers first). */
int wg_peers_list_add(struct wg_peer_list *l, const struct users_file_wg_entry *e);

/* Reload, step 1 (before users_merge): frees every live entry that next does not hold with
 * the same user, device, public key and preshared key (removed, re-keyed or renamed), its
 * generation moved on; ended(user, device name) for each. users is the live user table as it
 * still is. Returns the number freed. */
int wg_peers_retire(struct wg_peer_table *t, const struct user_table *users,
                    const struct wg_peer_list *next,
                    void (*ended)(const char *user, const char *device, void *ctx), void *ctx);

/* Start and reload, step 3 (after users_merge): gives every peer of next that has no live
 * entry a free one (its timestamp floor now_ms: an initiation made before can never be
 * accepted, so none recorded before a restart replays after it) and publishes the new index.
 * A peer whose user is not in users (cannot happen after a successful parse and merge) is
 * left out and counted in *skipped. Returns the number added. */
int wg_peers_admit(struct wg_peer_table *t, const struct user_table *users,
                   const struct wg_peer_list *next, uint64_t now_ms, int *skipped);

/* Live peers (for reports). */
int wg_peers_count(const struct wg_peer_table *t);

/* ---- the workers ---- */

/* The live peer whose public key is key, into *v; false if none. */
bool wg_peers_find(const struct wg_peer_table *t, const uint8_t key[WG_KEY_LEN],
                   struct wg_peer_view *v) __attribute__((warn_unused_result));

/* The current generation of entry index (a key slot made under another is dead). */
uint32_t wg_peers_gen(const struct wg_peer_table *t, int index);

enum wg_ts_verdict {
    WG_TS_OK,
    WG_TS_REPLAYED,     /* not after the last accepted one, or no time at all (wg_tai64n_pack) */
    WG_TS_TOO_SOON,     /* within WG_MIN_INITIATION_INTERVAL_MS of the last accepted one */
};

/* Whether entry index may accept an initiation stamped ts at monotonic time mono_ms; with
 * commit, records it (compare-and-swap: of two workers accepting the same stamp, one wins). */
enum wg_ts_verdict wg_peers_accept_ts(struct wg_peer_table *t, int index,
                                      const uint8_t ts[WG_TAI64N_LEN], uint64_t mono_ms,
                                      bool commit) __attribute__((warn_unused_result));

void wg_peer_view_wipe(struct wg_peer_view *v);

/* ---- TAI64N as one comparable number ---- */

/* A TAI64N stamp (8 bytes of seconds with WireGuard's label 2^62 + 10 + Unix time, 4 of
 * nanoseconds, big-endian) as (seconds since the label's 2^62) << 30 | nanoseconds: the same
 * order as the 12 bytes (whitepaper 5.1) for every real time, in 64 bits that one
 * compare-and-swap moves. false for what is no time (before 1970, after the year 2514, or
 * 2^30 nanoseconds and more): such an initiation is refused. */
bool wg_tai64n_pack(const uint8_t ts[WG_TAI64N_LEN], uint64_t *out)
    __attribute__((warn_unused_result));

/* The packed stamp a WireGuard peer would send at Unix time now_ms. */
uint64_t wg_tai64n_at(uint64_t now_ms);

#endif
