/* The enclave's WireGuard peers (see wg_peers.h for who writes what). */
#include "wg_peers.h"

#include <string.h>

#include "vpn/proto.h"

enum { INDEX_MASK = WG_PEER_INDEX_SLOTS - 1 };

/* Byte-wise atomic copies: a reader may look at an entry the supervisor is rewriting (the
 * sequence count then makes it throw the copy away), and a plain memcpy there would be a data
 * race in C's terms. */
static void load_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static void store_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&dst[i], src ? src[i] : 0, __ATOMIC_RELAXED);
}

/* The supervisor's side of an entry's sequence count (it is the only writer). */
static void write_begin(struct wg_peer *p)
{
    __atomic_store_n(&p->seq, p->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct wg_peer *p)
{
    __atomic_store_n(&p->seq, p->seq + 1, __ATOMIC_RELEASE);
}

static uint32_t home_slot(const struct wg_peer_table *t, const uint8_t key[WG_KEY_LEN])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, WG_KEY_LEN, t->hash_key);
    return (uint32_t)(h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24) & INDEX_MASK;
}

/* A consistent copy of live entry index, or false (free, or being rewritten). */
static bool snapshot(const struct wg_peer_table *t, uint32_t index, struct wg_peer_view *v)
{
    const struct wg_peer *p = &t->peers[index];
    uint32_t seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
    if (seq & 1)
        return false;
    v->index = (int)index;
    v->gen = __atomic_load_n(&p->gen, __ATOMIC_RELAXED);
    v->user_index = __atomic_load_n(&p->user_index, __ATOMIC_RELAXED);
    load_bytes(v->device_id, p->device_id, DEVICE_ID_LEN);
    load_bytes(v->public_key, p->public_key, WG_KEY_LEN);
    load_bytes(v->psk, p->psk, WG_KEY_LEN);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&p->seq, __ATOMIC_RELAXED) == seq && v->user_index >= 0 &&
           v->user_index < MAX_USERS;
}

void wg_peer_view_wipe(struct wg_peer_view *v)
{
    sodium_memzero(v, sizeof(*v));
}

bool wg_peers_find(const struct wg_peer_table *t, const uint8_t key[WG_KEY_LEN],
                   struct wg_peer_view *v)
{
    uint32_t copy = __atomic_load_n(&t->index_active, __ATOMIC_ACQUIRE) & 1;
    uint32_t count = __atomic_load_n(&t->count, __ATOMIC_ACQUIRE);
    uint32_t slot = home_slot(t, key);
    for (uint32_t probe = 0; probe < WG_PEER_INDEX_SLOTS; probe++) {
        uint16_t e = __atomic_load_n(&t->index[copy][(slot + probe) & INDEX_MASK],
                                     __ATOMIC_RELAXED);
        if (e == 0)
            break;
        if (e - 1u < count && snapshot(t, e - 1u, v) &&
            sodium_memcmp(v->public_key, key, WG_KEY_LEN) == 0)
            return true;
    }
    wg_peer_view_wipe(v);
    return false;
}

uint32_t wg_peers_gen(const struct wg_peer_table *t, int index)
{
    if (index < 0 || index >= WG_PEERS_MAX)
        return 0;
    return __atomic_load_n(&t->peers[index].gen, __ATOMIC_ACQUIRE);
}

bool wg_tai64n_pack(const uint8_t ts[WG_TAI64N_LEN], uint64_t *out)
{
    const uint64_t label = 1ULL << 62;
    uint64_t secs = get_be64(ts);
    uint32_t ns = get_be32(ts + 8);
    if (secs < label || secs - label >= 1ULL << 34 || ns >= 1u << 30)
        return false;
    *out = (secs - label) << 30 | ns;
    return true;
}

uint64_t wg_tai64n_at(uint64_t now_ms)
{
    /* WireGuard's label is 2^62 + 10 + Unix seconds (wireguard-go and the kernel alike). */
    return (now_ms / 1000 + 10) << 30 | (now_ms % 1000) * 1000000;
}

enum wg_ts_verdict wg_peers_accept_ts(struct wg_peer_table *t, int index,
                                      const uint8_t ts[WG_TAI64N_LEN], uint64_t mono_ms,
                                      bool commit)
{
    struct wg_peer *p = &t->peers[index];
    uint64_t stamp;
    if (!wg_tai64n_pack(ts, &stamp))
        return WG_TS_REPLAYED;
    uint64_t last = __atomic_load_n(&p->last_init_ms, __ATOMIC_ACQUIRE);
    if (last && mono_ms >= last && mono_ms - last < WG_MIN_INITIATION_INTERVAL_MS)
        return WG_TS_TOO_SOON;
    uint64_t seen = __atomic_load_n(&p->last_ts, __ATOMIC_ACQUIRE);
    for (;;) {
        if (stamp <= seen)
            return WG_TS_REPLAYED;
        if (!commit)
            return WG_TS_OK;
        if (__atomic_compare_exchange_n(&p->last_ts, &seen, stamp, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&p->last_init_ms, mono_ms, __ATOMIC_RELEASE);
            return WG_TS_OK;
        }
    }
}

/* ---- the supervisor's side ---- */

void wg_peers_init(struct wg_peer_table *t)
{
    randombytes_buf(t->hash_key, sizeof(t->hash_key));
    for (int i = 0; i < WG_PEERS_MAX; i++)
        t->peers[i].user_index = -1;
}

int wg_peers_list_add(struct wg_peer_list *l, const struct users_file_wg_entry *e)
{
    if (l->count >= WG_PEERS_MAX)
        return -1;
    struct wg_peer_def *d = &l->defs[l->count++];
    memset(d, 0, sizeof(*d));
    memcpy(d->user, e->user, sizeof(d->user));
    /* The name, NUL-padded, is the device's id (docs/WIREGUARD.md): at most 15 bytes. */
    memcpy(d->device_id, e->device, strnlen(e->device, DEVICE_NAME_MAX));
    memcpy(d->public_key, e->public_key, WG_KEY_LEN);
    memcpy(d->psk, e->preshared_key, WG_KEY_LEN);
    return 0;
}

/* The live entry of key (the supervisor's own view: it is the only writer), or -1. */
static int live_entry(const struct wg_peer_table *t, const uint8_t key[WG_KEY_LEN])
{
    uint32_t copy = t->index_active & 1, slot = home_slot(t, key);
    for (uint32_t probe = 0; probe < WG_PEER_INDEX_SLOTS; probe++) {
        uint16_t e = t->index[copy][(slot + probe) & INDEX_MASK];
        if (e == 0)
            return -1;
        const struct wg_peer *p = &t->peers[e - 1];
        if (p->user_index >= 0 && memcmp(p->public_key, key, WG_KEY_LEN) == 0)
            return e - 1;
    }
    return -1;
}

static bool same_peer(const struct wg_peer *p, const struct user_table *users,
                      const struct wg_peer_def *d)
{
    return strcmp(users->users[p->user_index].name, d->user) == 0 &&
           memcmp(p->device_id, d->device_id, DEVICE_ID_LEN) == 0 &&
           sodium_memcmp(p->psk, d->psk, WG_KEY_LEN) == 0;
}

static void free_entry(struct wg_peer *p)
{
    write_begin(p);
    __atomic_store_n(&p->user_index, -1, __ATOMIC_RELAXED);
    __atomic_store_n(&p->gen, p->gen + 1, __ATOMIC_RELAXED);
    store_bytes(p->device_id, NULL, DEVICE_ID_LEN);
    store_bytes(p->public_key, NULL, WG_KEY_LEN);
    store_bytes(p->psk, NULL, WG_KEY_LEN);
    write_end(p);
}

int wg_peers_retire(struct wg_peer_table *t, const struct user_table *users,
                    const struct wg_peer_list *next,
                    void (*ended)(const char *user, const char *device, void *ctx), void *ctx)
{
    static bool kept[WG_PEERS_MAX];
    int freed = 0;
    memset(kept, 0, sizeof(kept));
    for (int i = 0; i < next->count; i++) {
        int e = live_entry(t, next->defs[i].public_key);
        if (e >= 0 && same_peer(&t->peers[e], users, &next->defs[i]))
            kept[e] = true;
    }
    for (uint32_t e = 0; e < t->count; e++) {
        struct wg_peer *p = &t->peers[e];
        if (p->user_index < 0 || kept[e])
            continue;
        char device[DEVICE_NAME_MAX + 1] = { 0 };
        memcpy(device, p->device_id, DEVICE_NAME_MAX);
        if (ended)
            ended(users->users[p->user_index].name, device, ctx);
        free_entry(p);
        freed++;
    }
    return freed;
}

/* Builds the idle copy of the index from the live entries and makes it the active one. */
static void publish_index(struct wg_peer_table *t)
{
    uint32_t idle = (t->index_active & 1) ^ 1;
    uint16_t *index = t->index[idle];
    memset(index, 0, sizeof(t->index[idle]));
    for (uint32_t e = 0; e < t->count; e++) {
        if (t->peers[e].user_index < 0)
            continue;
        uint32_t slot = home_slot(t, t->peers[e].public_key);
        while (index[slot])
            slot = (slot + 1) & INDEX_MASK;     /* at most half full: ends */
        index[slot] = (uint16_t)(e + 1);
    }
    __atomic_store_n(&t->index_active, idle, __ATOMIC_RELEASE);
}

int wg_peers_admit(struct wg_peer_table *t, const struct user_table *users,
                   const struct wg_peer_list *next, uint64_t now_ms, int *skipped)
{
    uint32_t free_at = 0;
    int added = 0;
    *skipped = 0;
    for (int i = 0; i < next->count; i++) {
        const struct wg_peer_def *d = &next->defs[i];
        int user = users_find(users, d->user);
        if (user < 0) {
            (*skipped)++;
            continue;
        }
        int live = live_entry(t, d->public_key);
        if (live >= 0 && same_peer(&t->peers[live], users, d))
            continue;
        if (live >= 0)
            free_entry(&t->peers[live]);    /* changed without a retire: replaced */
        while (free_at < t->count && t->peers[free_at].user_index >= 0)
            free_at++;
        if (free_at == WG_PEERS_MAX) {
            (*skipped)++;
            continue;
        }
        struct wg_peer *p = &t->peers[free_at];
        /* Not in the index yet; its stamp floor is in place before anyone can find it. */
        __atomic_store_n(&p->last_ts, wg_tai64n_at(now_ms), __ATOMIC_RELAXED);
        __atomic_store_n(&p->last_init_ms, 0, __ATOMIC_RELAXED);
        write_begin(p);
        __atomic_store_n(&p->gen, p->gen + 1, __ATOMIC_RELAXED);
        store_bytes(p->device_id, d->device_id, DEVICE_ID_LEN);
        store_bytes(p->public_key, d->public_key, WG_KEY_LEN);
        store_bytes(p->psk, d->psk, WG_KEY_LEN);
        __atomic_store_n(&p->user_index, user, __ATOMIC_RELAXED);
        write_end(p);
        if (free_at == t->count)
            __atomic_store_n(&t->count, t->count + 1, __ATOMIC_RELEASE);
        added++;
    }
    publish_index(t);
    return added;
}

int wg_peers_count(const struct wg_peer_table *t)
{
    int n = 0;
    for (uint32_t e = 0; e < t->count; e++)
        n += t->peers[e].user_index >= 0;
    return n;
}
