/* The client's session slots (see slots.h). */
#include "slots.h"

#include <sodium.h>
#include <string.h>

static void wipe(struct client_session *s)
{
    sodium_memzero(s, sizeof(*s));
}

/* The TUN thread has left every batch it may have begun with s (slots.h). */
static bool quiet_since_release(const struct client_slots *t, const struct client_session *s)
{
    uint32_t now = __atomic_load_n(&t->tx_seq, __ATOMIC_ACQUIRE);
    return !(s->released_seq & 1) || now != s->released_seq;
}

/* s is no longer used by the main thread, nor given to the TUN thread: wiped now if no
 * batch is under way, else by slots_tick once that batch is over. */
static void release(struct client_slots *t, struct client_session *s)
{
    if (!s || !s->live)
        return;
    s->live = false;
    s->released = true;
    /* Read after tx was changed (seq_cst, see slots_tx_begin). */
    s->released_seq = __atomic_load_n(&t->tx_seq, __ATOMIC_SEQ_CST);
    if (quiet_since_release(t, s))
        wipe(s);
}

void slots_tick(struct client_slots *t)
{
    for (int i = 0; i < CLIENT_SESSION_SLOTS; i++)
        if (t->slot[i].released && quiet_since_release(t, &t->slot[i]))
            wipe(&t->slot[i]);
}

static struct client_session *free_slot(struct client_slots *t)
{
    slots_tick(t);
    for (int i = 0; i < CLIENT_SESSION_SLOTS; i++)
        if (!t->slot[i].live && !t->slot[i].released)
            return &t->slot[i];
    return NULL;
}

bool slots_available(struct client_slots *t)
{
    return free_slot(t) != NULL;
}

struct client_session *slots_install(struct client_slots *t, uint32_t id,
                                     const struct session_keys *k, uint32_t ts_window_ms,
                                     uint16_t mtu)
{
    struct client_session *fresh = free_slot(t);
    if (!fresh)
        return NULL;
    fresh->live = true;
    fresh->id = id;
    memcpy(fresh->k_c2s, k->k_c2s, KEY_LEN);
    memcpy(fresh->k_s2c, k->k_s2c, KEY_LEN);
    fresh->send_counter = 0;
    replay_init(&fresh->rx);
    fresh->ts_window_ms = ts_window_ms;
    fresh->mtu = mtu;
    struct client_session *older = t->prev;
    t->prev = t->cur;
    t->cur = fresh;
    __atomic_store_n(&t->tx, fresh, __ATOMIC_SEQ_CST);    /* the TUN thread sends on it now */
    release(t, older);
    return fresh;
}

void slots_retire_previous(struct client_slots *t)
{
    struct client_session *s = t->prev;
    t->prev = NULL;
    release(t, s);
}

void slots_drop(struct client_slots *t)
{
    __atomic_store_n(&t->tx, NULL, __ATOMIC_SEQ_CST);
    struct client_session *c = t->cur, *p = t->prev;
    t->cur = t->prev = NULL;
    release(t, c);
    release(t, p);
}

struct client_session *slots_find(const struct client_slots *t, uint32_t id)
{
    if (t->cur && t->cur->id == id)
        return t->cur;
    if (t->prev && t->prev->id == id)
        return t->prev;
    return NULL;
}

void slots_wipe(struct client_slots *t)
{
    __atomic_store_n(&t->tx, NULL, __ATOMIC_SEQ_CST);
    t->cur = t->prev = NULL;
    for (int i = 0; i < CLIENT_SESSION_SLOTS; i++)
        wipe(&t->slot[i]);
}
