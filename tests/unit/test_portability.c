/* What must come out the same on every target, amd64, arm64 and 32-bit armhf (make check runs
 * this file built for each; the ARM builds under qemu-user): the shared memory's layout, 64-bit
 * counters and times, and the size arithmetic of the rings' memfd for 4, 16 and 64 KiB pages.
 * The layout is also asserted at compile time (ring.h, enclave_ipc.h); the numbers here are
 * the amd64 build's, pinned, so that a build for another target that differs fails by name.
 * Changing a ring size or a structure on purpose means updating them. */
#include "testutil.h"

#include "vpn/enclave_proto.h"
#include "vpn/proto.h"

struct layout_case {
    const char *what;
    size_t got, want;
};

#define L(expr, want) { #expr, (size_t)(expr), want }

Test(portability, shared_memory_layout_is_the_amd64_one)
{
    const struct layout_case cases[] = {
        L(sizeof(struct pkt_meta), 64),
        L(offsetof(struct pkt_meta, session_id), 8),
        L(offsetof(struct pkt_meta, cookie), 12),
        L(offsetof(struct pkt_meta, ts), 16),
        L(offsetof(struct pkt_meta, peer), 24),
        L(offsetof(struct pkt_meta, pad), 52),
        L(sizeof(struct pkt_slot), 1664),
        L(sizeof(struct ring_index), 192),
        L(offsetof(struct ring_index, tail), 64),
        L(offsetof(struct ring_index, dropped), 128),
        L(sizeof(struct worker_ctl), 320),
        L(offsetof(struct worker_ctl, main_sleeping), 64),
        L(offsetof(struct worker_ctl, heartbeat_ms), 128),
        L(offsetof(struct worker_ctl, pid), 136),
        L(offsetof(struct worker_ctl, sessions), 140),
        L(offsetof(struct worker_ctl, drops), 144),
        L(offsetof(struct worker_ctl, packets_decrypted), 264),
        L(offsetof(struct worker_ctl, packets_encrypted), 272),
        L(offsetof(struct worker_shm, in_rx), 320),
        L(offsetof(struct worker_shm, in_hs), 3408384),
        L(offsetof(struct worker_shm, in_tun), 3621568),
        L(offsetof(struct worker_shm, in_ctl), 4473728),
        L(offsetof(struct worker_shm, out_dec), 4899904),
        L(offsetof(struct worker_shm, out_enc), 5326080),
        L(sizeof(struct worker_shm), 5752256),
        /* Not shared memory but fixed-size messages between two processes of one build;
         * pinned all the same, so that a field added on one target only shows. */
        L(sizeof(struct sup_report), 276),
        L(sizeof(struct launch_msg), 268),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_eq(cases[i].got, cases[i].want, "%s is %zu here, %zu on amd64", cases[i].what,
                     cases[i].got, cases[i].want);
}

Test(portability, counters_carry_into_the_upper_32_bits)
{
    uint64_t c = UINT32_MAX;
    counter_inc(&c);
    cr_assert_eq(counter_read(&c), (uint64_t)1 << 32);
    counter_add(&c, UINT32_MAX);
    cr_assert_eq(counter_read(&c), ((uint64_t)1 << 33) - 1);
    struct worker_ctl ctl = { 0 };
    counter_add(&ctl.drops[DROP_REPLAY], (uint64_t)5 << 32);
    cr_assert_eq(counter_read(&ctl.drops[DROP_REPLAY]), (uint64_t)5 << 32);
    cr_assert_eq(counter_read(&ctl.drops[DROP_AUTH]), 0, "the neighbour untouched");
}

Test(portability, times_after_2038_in_milliseconds)
{
    cr_assert_eq(sizeof(time_t), 8);
    /* 2100-01-01T00:00:00.999Z, beyond a 32-bit time_t (2038-01-19) and a 32-bit product. */
    struct timespec ts = { .tv_sec = (time_t)4102444800LL, .tv_nsec = 999999999 };
    cr_assert_eq(timespec_ms(&ts), 4102444800999ULL);
    cr_assert_gt(clock_realtime_ms(), 1700000000000ULL, "the clock reads 64-bit milliseconds");
}

Test(portability, memfd_of_all_workers_fits_size_t_for_each_page_size)
{
    static const size_t pages[] = { 4096, 16384, 65536 };
    for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
        size_t region = worker_region_size(pages[p]);
        uint64_t exact = ((uint64_t)sizeof(struct worker_shm) + pages[p] - 1) / pages[p] * pages[p];
        cr_assert_eq((uint64_t)region, exact, "page %zu", pages[p]);
        /* As enclave_link.c sizes and maps the memfd, in this target's size_t and off_t. */
        size_t all = region * (size_t)MAX_WORKERS;
        cr_assert_eq((uint64_t)all, exact * MAX_WORKERS, "page %zu: no wrap in size_t", pages[p]);
        off_t last = (off_t)(region * (size_t)(MAX_WORKERS - 1));
        cr_assert_eq((uint64_t)last, exact * (MAX_WORKERS - 1));
        cr_assert_eq((uint64_t)last % pages[p], 0, "each worker's offset is page-aligned");
    }
    cr_assert_eq(sizeof(off_t), 8, "64-bit file offsets on every target (_FILE_OFFSET_BITS)");
}
