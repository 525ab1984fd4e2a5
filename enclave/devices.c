/* A user's device records (see devices.h). */
#include "devices.h"

#include "secrets.h"

/* A mark that is never a session id: a real id has non-zero random bits above its slot
 * index (worker.c), so any value below SESSION_SLOTS is none. */
enum { SID_CLAIMING = 1, BIND_RETRIES = 8 };

static uint32_t current_of(uint64_t w) { return (uint32_t)(w >> 32); }
static uint32_t previous_of(uint64_t w) { return (uint32_t)w; }
static uint64_t pack(uint32_t current, uint32_t previous)
{
    return (uint64_t)current << 32 | previous;
}

/* A key slot holds session_id now (a slot that is dead but not yet erased still counts: the
 * owning worker's sweep frees it within a second). */
static bool sid_live(const struct enclave_secrets *s, uint32_t sid)
{
    return sid >= SESSION_SLOTS &&
           __atomic_load_n(&s->slots[sid & (SESSION_SLOTS - 1)].session_id, __ATOMIC_ACQUIRE) ==
               sid;
}

static bool record_live(const struct enclave_secrets *s, uint64_t w)
{
    return sid_live(s, current_of(w)) || sid_live(s, previous_of(w));
}

/* The record's id equals id. Byte-wise atomic reads: the claimer may be writing it (then the
 * caller's compare-and-swap on sids fails and it looks again). */
static bool id_is(const struct user_device *r, const uint8_t id[DEVICE_ID_LEN])
{
    uint8_t diff = 0;
    for (int i = 0; i < DEVICE_ID_LEN; i++)
        diff |= __atomic_load_n(&r->id[i], __ATOMIC_RELAXED) ^ id[i];
    return diff == 0;
}

int devices_bind(struct enclave_secrets *s, struct enclave_user *u,
                 const uint8_t id[DEVICE_ID_LEN], uint32_t session_id)
{
    for (int attempt = 0; attempt < BIND_RETRIES; attempt++) {
        bool raced = false;
        /* The device's own record: its new session replaces the current one. */
        for (int d = 0; d < USER_DEVICES_MAX; d++) {
            struct user_device *r = &u->devices[d];
            uint64_t w = __atomic_load_n(&r->sids, __ATOMIC_ACQUIRE);
            if (current_of(w) == SID_CLAIMING || !record_live(s, w) || !id_is(r, id))
                continue;
            if (__atomic_compare_exchange_n(&r->sids, &w, pack(session_id, current_of(w)),
                                            false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return d;
            raced = true;
            break;
        }
        if (raced)
            continue;
        /* A new device (or one whose sessions all ended): a free record. */
        for (int d = 0; d < USER_DEVICES_MAX; d++) {
            struct user_device *r = &u->devices[d];
            uint64_t w = __atomic_load_n(&r->sids, __ATOMIC_ACQUIRE);
            if (current_of(w) == SID_CLAIMING || record_live(s, w))
                continue;
            if (!__atomic_compare_exchange_n(&r->sids, &w, pack(SID_CLAIMING, 0), false,
                                             __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                continue;
            for (int i = 0; i < DEVICE_ID_LEN; i++)
                __atomic_store_n(&r->id[i], id[i], __ATOMIC_RELAXED);
            __atomic_store_n(&r->sids, pack(session_id, 0), __ATOMIC_RELEASE);
            return d;
        }
        return -1;
    }
    return -1;
}

bool devices_holds(const struct enclave_user *u, int d, uint32_t session_id)
{
    if (d < 0 || d >= USER_DEVICES_MAX)
        return false;
    uint64_t w = __atomic_load_n(&u->devices[d].sids, __ATOMIC_ACQUIRE);
    return session_id == current_of(w) || session_id == previous_of(w);
}
