/* No control operation is ever dropped (control-plane issue, item 3): with every ring full and
 * the TX thread not draining results, erasures submitted by the control thread wait in its
 * backlog, reach the worker as room appears, and every erased session's key slot ends zero.
 * The real ctl_submit (core/server) and the real worker (enclave/) share rings in memory. */
#include <stdlib.h>

#include "testutil.h"

#include "../../core/server/ctl_submit.h"
#include "../../core/server/enclave_link.h"
#include "../../enclave/devices.h"
#include "../../enclave/worker.h"

static struct enclave_link elink;
static struct worker w;
static struct ctl_submit sub;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    memset(&elink, 0, sizeof(elink));
    memset(&w, 0, sizeof(w));
    struct worker_shm *shm = calloc(1, sizeof(*shm));
    w.sec = calloc(1, sizeof(*w.sec));
    cr_assert(shm && w.sec);
    elink.workers = 1;
    elink.shm[0] = shm;
    elink.doorbell[0] = -1;      /* nobody sleeps here: the wake-up write just fails */
    worker_rings_init(&elink.rings[0], shm);
    w.shm = shm;
    w.count = 1;
    w.doorbell_fd = -1;
    worker_rings_init(&w.rings, shm);
    ctl_submit_init(&sub, &elink);
}

static void teardown(void)
{
    ctl_submit_uninit(&sub);
    free(elink.shm[0]);
    free(w.sec);
}

TestSuite(ctl_submit, .init = setup, .fini = teardown);

/* A live key slot for session index i of user i, as an accept leaves it. */
static uint32_t live_session(uint32_t i)
{
    uint32_t sid = (i + 1) << SESSION_SLOT_BITS | i;
    struct enclave_user *u = &w.sec->users.users[i];
    snprintf(u->name, sizeof(u->name), "user%u", i);
    static const uint8_t implicit[DEVICE_ID_LEN];
    cr_assert_eq(devices_bind(w.sec, u, implicit, sid), 0);
    w.sec->users.count = (int)i + 1;
    struct key_slot *k = &w.sec->slots[i];
    memset(k->k_c2s, 0xaa, sizeof(k->k_c2s));
    memset(k->k_s2c, 0xbb, sizeof(k->k_s2c));
    k->session_id = sid;
    k->user_index = (int)i;
    w.shm->ctl.sessions++;
    return sid;
}

static void fill_results(void)
{
    /* The TX thread is stuck: both result rings full. */
    w.rings.out_dec.idx->head = w.rings.out_dec.idx->tail + ring_capacity(&w.rings.out_dec);
    w.rings.out_enc.idx->head = w.rings.out_enc.idx->tail + ring_capacity(&w.rings.out_enc);
}

Test(ctl_submit, erasures_wait_for_room_and_all_happen)
{
    enum { N = MAX_USERS };  /* far more than the in_ctl ring's 256 slots */
    uint32_t sids[N];
    for (uint32_t i = 0; i < N; i++)
        sids[i] = live_session(i);
    fill_results();
    /* A DISCONNECT per session first (each needs result room, which there is none of), then
     * the erasures behind them, as the control thread sends them when sessions end. */
    static const uint8_t reason = 0;
    for (uint32_t i = 0; i < N; i++) {
        cr_assert(ctl_submit(&sub, 0, OP_SEAL_CONTROL, sids[i], MSG_DISCONNECT, &reason, 1, NULL, 0));
        cr_assert(ctl_submit(&sub, 0, OP_ERASE, sids[i], 0, NULL, 0, NULL, 0));
    }
    cr_assert_gt(ctl_submit_waiting(&sub, 0), 0, "the ring filled: the rest waits");
    cr_assert_eq(sub.overflows, 0);
    for (int turn = 0; turn < 1000 && (ctl_submit_waiting(&sub, -1) ||
                                        ring_available(&w.rings.in_ctl)); turn++) {
        worker_drain(&w, &w.rings.in_ctl, 0);
        ctl_submit_flush(&sub);
    }
    cr_assert_eq(ctl_submit_waiting(&sub, -1), 0);
    cr_assert_eq(ring_available(&w.rings.in_ctl), 0);
    static const uint8_t zero[sizeof(struct key_slot)];
    for (uint32_t i = 0; i < N; i++)
        cr_assert_eq(memcmp(&w.sec->slots[i], zero, sizeof(zero)), 0, "slot %u erased", i);
    cr_assert_eq(w.shm->ctl.sessions, 0);
    cr_assert_gt(w.shm->ctl.drops[DROP_OUT_FULL], 0, "the DISCONNECTs found no room (counted)");
}
