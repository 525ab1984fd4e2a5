/* Requests from the control thread to the workers, never dropped (see ctl_submit.h). */
#include "ctl_submit.h"

#include <stdlib.h>
#include <string.h>

#include "enclave_link.h"

void ctl_submit_init(struct ctl_submit *s, struct enclave_link *e)
{
    memset(s, 0, sizeof(*s));
    s->enclave = e;
}

static void clear(struct ctl_backlog *b)
{
    for (uint32_t i = b->head; i != b->tail; i++)
        free(b->q[i % b->cap].data);
    b->head = b->tail = 0;
}

void ctl_submit_uninit(struct ctl_submit *s)
{
    for (int w = 0; w < MAX_WORKERS; w++) {
        clear(&s->backlog[w]);
        free(s->backlog[w].q);
    }
    memset(s->backlog, 0, sizeof(s->backlog));
}

void ctl_submit_drop_all(struct ctl_submit *s)
{
    for (int w = 0; w < MAX_WORKERS; w++)
        clear(&s->backlog[w]);
}

static uint32_t waiting(const struct ctl_backlog *b)
{
    return b->tail - b->head;
}

uint32_t ctl_submit_waiting(const struct ctl_submit *s, int w)
{
    if (w >= 0)
        return waiting(&s->backlog[w]);
    uint32_t n = 0;
    for (int i = 0; i < MAX_WORKERS; i++)
        n += waiting(&s->backlog[i]);
    return n;
}

/* Room for one more entry, growing the queue (doubling, in order) up to CTL_BACKLOG_MAX. */
static bool reserve(struct ctl_backlog *b)
{
    if (waiting(b) < b->cap)
        return true;
    if (b->cap >= CTL_BACKLOG_MAX)
        return false;
    uint32_t cap = b->cap ? b->cap * 2 : 64;
    if (cap > CTL_BACKLOG_MAX)
        cap = CTL_BACKLOG_MAX;
    struct ctl_request *q = malloc(sizeof(*q) * cap);
    if (!q)
        return false;
    uint32_t n = waiting(b);
    for (uint32_t i = 0; i < n; i++)
        q[i] = b->q[(b->head + i) % b->cap];
    free(b->q);
    b->q = q;
    b->cap = cap;
    b->head = 0;
    b->tail = n;
    return true;
}

static void put_in_ring(struct ring *r, const struct pkt_meta *m, const uint8_t *data)
{
    struct pkt_slot *slot = ring_produce_slot(r, 0);
    slot->meta = *m;
    if (m->len)
        memcpy(slot->data, data, m->len);
    ring_produce_publish(r, 1);
}

bool ctl_submit(struct ctl_submit *s, int w, uint16_t op, uint32_t session_id, uint16_t aux,
                const uint8_t *data, uint16_t len, const struct sockaddr_in6 *peer,
                uint32_t cookie)
{
    struct pkt_meta m;
    memset(&m, 0, sizeof(m));
    m.op = op;
    m.aux = aux;
    m.len = len;
    m.session_id = session_id;
    m.cookie = cookie;
    if (peer)
        m.peer = *peer;
    if (len > SLOT_DATA) {
        s->overflows++;
        return false;
    }
    s->submitted++;
    struct ctl_backlog *b = &s->backlog[w];
    struct ring *r = &s->enclave->rings[w].in_ctl;
    if (!waiting(b) && ring_free(r) > 0) {
        put_in_ring(r, &m, data);
        enclave_wake_worker(s->enclave, w);
        return true;
    }
    uint8_t *copy = NULL;
    if (!reserve(b) || (len && !(copy = malloc(len)))) {
        s->overflows++;
        return false;
    }
    if (len)
        memcpy(copy, data, len);
    b->q[b->tail % b->cap] = (struct ctl_request){ .meta = m, .data = copy };
    b->tail++;
    s->deferred++;
    return true;
}

void ctl_submit_flush(struct ctl_submit *s)
{
    for (int w = 0; w < s->enclave->workers; w++) {
        struct ctl_backlog *b = &s->backlog[w];
        struct ring *r = &s->enclave->rings[w].in_ctl;
        bool moved = false;
        while (waiting(b) && ring_free(r) > 0) {
            struct ctl_request *q = &b->q[b->head % b->cap];
            put_in_ring(r, &q->meta, q->data);
            free(q->data);
            q->data = NULL;
            b->head++;
            moved = true;
        }
        if (moved)
            enclave_wake_worker(s->enclave, w);
    }
}
