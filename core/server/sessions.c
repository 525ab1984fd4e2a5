/* RCU hash tables of sessions (see sessions.h). */
#include "sessions.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/compiler.h>

static unsigned long hash32(uint32_t v)
{
    /* Session ids are random and addresses sequential; a multiplicative hash spreads both. */
    uint64_t x = (uint64_t)v * 0x9E3779B97F4A7C15ULL;
    return (unsigned long)(x >> 16);
}

static int match_id(struct cds_lfht_node *node, const void *key)
{
    const struct session *s = caa_container_of(node, struct session, by_id_node);
    return s->id == *(const uint32_t *)key;
}

static int match_ip(struct cds_lfht_node *node, const void *key)
{
    const struct session *s = caa_container_of(node, struct session, by_ip_node);
    return s->vpn_ip == *(const uint32_t *)key;
}

int sessions_init(struct session_tables *t)
{
    t->by_id = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    t->by_ip = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    if (!t->by_id || !t->by_ip) {
        sessions_uninit(t);
        return -ENOMEM;
    }
    return 0;
}

void sessions_uninit(struct session_tables *t)
{
    if (t->by_id)
        cds_lfht_destroy(t->by_id, NULL);
    if (t->by_ip)
        cds_lfht_destroy(t->by_ip, NULL);
    t->by_id = t->by_ip = NULL;
}

struct session *sessions_find_id(struct session_tables *t, uint32_t id)
{
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->by_id, hash32(id), match_id, &id, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    return n ? caa_container_of(n, struct session, by_id_node) : NULL;
}

struct session *sessions_find_ip(struct session_tables *t, uint32_t vpn_ip)
{
    struct cds_lfht_iter it;
    cds_lfht_lookup(t->by_ip, hash32(vpn_ip), match_ip, &vpn_ip, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    return n ? caa_container_of(n, struct session, by_ip_node) : NULL;
}

void sessions_add(struct session_tables *t, struct session *s)
{
    rcu_read_lock();
    cds_lfht_add(t->by_id, hash32(s->id), &s->by_id_node);
    struct cds_lfht_node *old = cds_lfht_add_replace(t->by_ip, hash32(s->vpn_ip), match_ip,
                                                     &s->vpn_ip, &s->by_ip_node);
    if (old)
        caa_container_of(old, struct session, by_ip_node)->in_by_ip = false;
    s->in_by_ip = true;
    rcu_read_unlock();
}

void sessions_unroute(struct session_tables *t, struct session *s)
{
    rcu_read_lock();
    if (s->in_by_ip)
        cds_lfht_del(t->by_ip, &s->by_ip_node);
    s->in_by_ip = false;
    rcu_read_unlock();
}

static void free_session(struct rcu_head *head)
{
    free(caa_container_of(head, struct session, rcu));
}

void sessions_remove(struct session_tables *t, struct session *s)
{
    sessions_unroute(t, s);
    rcu_read_lock();
    cds_lfht_del(t->by_id, &s->by_id_node);
    rcu_read_unlock();
    call_rcu(&s->rcu, free_session);
}

void session_get_endpoint(const struct session *s, struct sockaddr_in6 *out)
{
    uint32_t a, b;
    do {
        a = __atomic_load_n(&s->endpoint_seq, __ATOMIC_ACQUIRE);
        memcpy(out, &s->endpoint, sizeof(*out));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        b = __atomic_load_n(&s->endpoint_seq, __ATOMIC_RELAXED);
    } while ((a & 1) || a != b);
}

void session_set_endpoint(struct session *s, const struct sockaddr_in6 *ep)
{
    __atomic_store_n(&s->endpoint_seq, s->endpoint_seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(&s->endpoint, ep, sizeof(*ep));
    __atomic_store_n(&s->endpoint_seq, s->endpoint_seq + 1, __ATOMIC_RELEASE);
}
