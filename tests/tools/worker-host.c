/* worker-host: one enclave worker on its own, for tests/unit/test_cross_worker.c, where the main
 * process of the amd64 build drives the worker of the arm64 or armhf build (run by qemu-user)
 * through the real shared rings: the layout of include/vpn/enclave_ipc.h, the handshake and
 * the transport have to agree byte for byte across the architectures for that to work.
 *
 *   worker-host S_PRIV_HEX USER TOKEN_HEX
 *       fd 3: a memfd holding one worker region (worker_region_size of this page size)
 *       fd 4: the worker's end of its doorbell socketpair
 *
 * The worker is enclave/worker.c's, set up as enclave/main.c sets up worker 0 of 1, with the
 * secrets in secrets_map()'s locked memory, but without the sandbox (seccomp cannot be used under
 * qemu-user) and with the keys from the command line: a test fixture, not a way to run an
 * enclave. Serves until the doorbell closes, then exits 0. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "../../enclave/secrets.h"
#include "../../enclave/worker.h"
#include "vpn/enclave_proto.h"
#include "vpn/hex.h"

enum { FD_SHM = 3, FD_DOORBELL = 4 };

int main(int argc, char **argv)
{
    if (argc != 4 || strlen(argv[2]) > USERNAME_MAX) {
        fprintf(stderr, "usage: worker-host S_PRIV_HEX USER TOKEN_HEX (fds 3: memfd, 4: doorbell)\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    struct enclave_secrets *sec = secrets_map();
    if (!sec) {
        perror("worker-host: secrets_map");
        return 1;
    }
    if (hex_decode(argv[1], sec->s_priv, KEY_LEN) != 0 ||
        hex_decode(argv[3], sec->users.users[0].token, TOKEN_LEN) != 0) {
        fprintf(stderr, "worker-host: a key is not %d hex digits\n", 2 * KEY_LEN);
        return 2;
    }
    crypto_scalarmult_base(sec->s_pub, sec->s_priv);
    strcpy(sec->users.users[0].name, argv[2]);
    sec->users.count = 1;

    size_t region = worker_region_size((size_t)sysconf(_SC_PAGESIZE));
    struct worker_shm *shm = mmap(NULL, region, PROT_READ | PROT_WRITE, MAP_SHARED, FD_SHM, 0);
    if (shm == MAP_FAILED) {
        perror("worker-host: mmap of the rings");
        return 1;
    }
    struct worker w = {
        .index = 0,
        .count = 1,
        .doorbell_fd = FD_DOORBELL,
        .shm = shm,
        .sec = sec,
        .replay_window_ms = REPLAY_WINDOW_MS_DEFAULT,
    };
    worker_rings_init(&w.rings, shm);
    shm->ctl.pid = (uint32_t)getpid();
    worker_run(&w);
    secrets_unmap(sec);
    return 0;
}
