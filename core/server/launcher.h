/* The enclave launcher: a small process that vpn-server forks while it is still root, before
 * it drops to its unprivileged user. It keeps root (with only the capabilities vpn-enclave
 * needs at start) so that the enclave can be started again after it dies, and so that files
 * only root may read (the users file) can be opened for the enclave, without the main process
 * ever holding them. It reads nothing but fixed-size requests from the main process
 * (enclave_proto.h, launch channel), and starts nothing but vpn-enclave. At the end it waits
 * for the enclave: when vpn-server has waited for the launcher, no enclave process is left. */
#ifndef SERVER_LAUNCHER_H
#define SERVER_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vpn/enclave_proto.h"

struct launcher {
    pid_t pid;
    int fd;         /* vpn-server's end of the launch channel */
};

/* Forks the launcher. enclave_argv is vpn-enclave's command line (argv[0] included, NULL at the
 * end), users_path the file it opens on LAUNCH_RELOAD_USERS. Returns 0 or -errno. */
int launcher_spawn(struct launcher *l, const char *enclave_path, char *const enclave_argv[],
                   const char *users_path, int workers) __attribute__((warn_unused_result));

/* Asks for a new supervisor with these descriptors (see LAUNCH_START). The answer
 * (LAUNCH_STARTED or LAUNCH_ERROR) arrives on l->fd. Returns 0 or -errno. */
int launcher_start_enclave(struct launcher *l, int shm_fd, int ctl_fd, const int *doorbells,
                           int workers) __attribute__((warn_unused_result));

/* Asks the launcher to hand the users file to the running supervisor. */
int launcher_reload_users(struct launcher *l) __attribute__((warn_unused_result));

/* Reads one message from the launcher (non-blocking). 1 with *m, 0 when none is waiting,
 * -1 when the launcher is gone. */
int launcher_read(struct launcher *l, struct launch_msg *m);

/* Closes the channel and waits for the launcher, which first stops and waits for the
 * enclave (SIGTERM, then SIGKILL after 2 s). */
void launcher_stop(struct launcher *l);

#endif
