/* The enclave link's contract (include/vpn/enclave_proto.h): each worker's region in the rings'
 * memfd is page-aligned for 4, 16 and 64 KiB pages (the Raspberry Pi 5's kernel uses 16 KiB),
 * so that every worker maps its own region; and messages with descriptors (fd_pass) arrive
 * whole or not at all. */
#include <errno.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

#include "vpn/enclave_proto.h"
#include "vpn/fd_pass.h"

Test(enclave_proto, worker_regions_for_4_16_and_64_kib_pages)
{
    static const size_t pages[] = { 4096, 16384, 65536 };
    for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
        size_t page = pages[p], region = worker_region_size(page);
        cr_assert_eq(region % page, 0, "page %zu: region %zu not page-aligned", page, region);
        cr_assert_geq(region, sizeof(struct worker_shm));
        cr_assert_lt(region - sizeof(struct worker_shm), page, "no more than one page of slack");
        /* Map three workers' regions the way the enclave does: each at its own offset. The
         * offsets are multiples of this machine's page size too, so the mapping is real. */
        int fd = memfd_create("test-rings", MFD_CLOEXEC);
        cr_assert_geq(fd, 0);
        cr_assert_eq(ftruncate(fd, (off_t)(region * 3)), 0);
        for (int w = 0; w < 3; w++) {
            struct worker_shm *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                                        (off_t)(region * (size_t)w));
            cr_assert_neq(m, MAP_FAILED, "page %zu: worker %d cannot map its region", page, w);
            m->ctl.pid = (uint32_t)(100 + w);
            munmap(m, sizeof(*m));
        }
        uint8_t *all = mmap(NULL, region * 3, PROT_READ, MAP_SHARED, fd, 0);
        cr_assert_neq(all, MAP_FAILED);
        for (int w = 0; w < 3; w++)
            cr_assert_eq(((struct worker_shm *)(all + region * (size_t)w))->ctl.pid,
                         (uint32_t)(100 + w), "regions do not overlap");
        munmap(all, region * 3);
        close(fd);
    }
}

Test(enclave_proto, page_round_up)
{
    cr_assert_eq(page_round_up(1, 4096), 4096);
    cr_assert_eq(page_round_up(4096, 4096), 4096);
    cr_assert_eq(page_round_up(4097, 16384), 16384);
    cr_assert_eq(page_round_up(65537, 65536), 131072);
}

Test(enclave_proto, descriptors_travel_with_their_message)
{
    int sp[2], pipefd[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
    cr_assert_eq(pipe(pipefd), 0);
    struct launch_msg m = { .type = LAUNCH_START, .pid = 7 };
    int fds[2] = { pipefd[0], pipefd[1] };
    cr_assert_eq(fd_pass_send(sp[0], &m, sizeof(m), fds, 2), 0);
    struct launch_msg got;
    int recvd[FD_PASS_MAX], n = 0;
    cr_assert_eq(fd_pass_recv(sp[1], &got, sizeof(got), recvd, FD_PASS_MAX, &n),
                 (ssize_t)sizeof(got));
    cr_assert_eq(n, 2);
    cr_assert_eq(got.type, LAUNCH_START);
    cr_assert_eq(write(recvd[1], "x", 1), 1, "the received pipe works");
    char c;
    cr_assert_eq(read(pipefd[0], &c, 1), 1);
    close(recvd[0]);
    close(recvd[1]);

    /* A message of another size is refused and its descriptors closed. */
    uint32_t small = LAUNCH_START;
    cr_assert_eq(fd_pass_send(sp[0], &small, sizeof(small), fds, 1), 0);
    cr_assert_eq(fd_pass_recv(sp[1], &got, sizeof(got), recvd, FD_PASS_MAX, &n), -EBADMSG);
    /* More descriptors than the receiver takes: refused. */
    cr_assert_eq(fd_pass_send(sp[0], &m, sizeof(m), fds, 2), 0);
    cr_assert_eq(fd_pass_recv(sp[1], &got, sizeof(got), recvd, 1, &n), -EBADMSG);
    /* Nothing waiting: -EAGAIN; the peer gone: 0. */
    cr_assert_eq(fd_pass_recv(sp[1], &got, sizeof(got), recvd, 1, &n), -EAGAIN);
    close(sp[0]);
    cr_assert_eq(fd_pass_recv(sp[1], &got, sizeof(got), recvd, 1, &n), 0);
    close(sp[1]);
    close(pipefd[0]);
    close(pipefd[1]);
}
