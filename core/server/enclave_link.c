/* Starting and supervising vpn-enclave from the main process (see enclave_link.h). */
#include "enclave_link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vpn/log.h"
#include "vpn/server_config.h"

enum { FD_SHM = 3, FD_CTL = 4, FD_DOORBELL0 = 5, READY_TIMEOUT_MS = 10000 };

static size_t region_size(void)
{
    return (sizeof(struct worker_shm) + 4095) & ~(size_t)4095;
}

/* In the child: move the inherited descriptors to their fixed numbers and exec. */
static void exec_enclave(const char *path, int shm_fd, int ctl_fd, const int *doorbells,
                         int workers, char **argv) __attribute__((noreturn));
static void exec_enclave(const char *path, int shm_fd, int ctl_fd, const int *doorbells,
                         int workers, char **argv)
{
    /* First lift every source above the target range so dup2 never clobbers one. */
    int top = FD_DOORBELL0 + workers + 16;
    int s = fcntl(shm_fd, F_DUPFD, top), c = fcntl(ctl_fd, F_DUPFD, top);
    int d[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        d[i] = fcntl(doorbells[i], F_DUPFD, top);
    dup2(s, FD_SHM);
    dup2(c, FD_CTL);
    for (int i = 0; i < workers; i++)
        dup2(d[i], FD_DOORBELL0 + i);
    /* Everything else is closed: the enclave must not inherit the TUN or the UDP socket. */
    for (int fd = FD_DOORBELL0 + workers; fd < 1024; fd++)
        close(fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(path, argv);
    fprintf(stderr, "[ERROR] cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
}

static int wait_ready(struct enclave_link *e, char *why, size_t why_len)
{
    uint64_t waited = 0;
    while (waited < READY_TIMEOUT_MS) {
        struct pollfd p = { .fd = e->ctl_fd, .events = POLLIN };
        int n = poll(&p, 1, 100);
        waited += 100;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char msg[600];
        ssize_t r = recv(e->ctl_fd, msg, sizeof(msg) - 1, 0);
        if (r <= 0) {
            snprintf(why, why_len, "the enclave exited during start-up");
            return -1;
        }
        msg[r] = '\0';
        int idx, pid;
        if (sscanf(msg, "WORKER %d %d", &idx, &pid) == 2 && idx >= 0 && idx < e->workers) {
            e->worker_pids[idx] = pid;
        } else if (strncmp(msg, "READY ", 6) == 0) {
            if (sscanf(msg + 6, "%d %44s", &e->users, e->public_key) != 2) {
                snprintf(why, why_len, "bad ready message from the enclave");
                return -1;
            }
            return 0;
        } else if (strncmp(msg, "ERROR ", 6) == 0) {
            snprintf(why, why_len, "%s", msg + 6);
            return -1;
        }
    }
    snprintf(why, why_len, "the enclave did not get ready within %d s", READY_TIMEOUT_MS / 1000);
    return -1;
}

int enclave_start(struct enclave_link *e, const struct server_config *cfg, int workers,
                  const char *enclave_path, uid_t uid, gid_t gid, char *why, size_t why_len)
{
    int ctl[2] = { -1, -1 }, bells[MAX_WORKERS][2];
    int shm_fd = -1;
    memset(e, 0, sizeof(*e));
    e->workers = workers;
    e->ctl_fd = -1;
    for (int i = 0; i < MAX_WORKERS; i++)
        bells[i][0] = bells[i][1] = e->doorbell[i] = -1;

    e->map_len = region_size() * (size_t)workers;
    shm_fd = memfd_create("vpn-rings", MFD_CLOEXEC);
    if (shm_fd < 0 || ftruncate(shm_fd, (off_t)e->map_len) != 0)
        goto sys_fail;
    e->map = mmap(NULL, e->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
    if (e->map == MAP_FAILED) {
        e->map = NULL;
        goto sys_fail;
    }
    for (int i = 0; i < workers; i++) {
        e->shm[i] = (struct worker_shm *)((char *)e->map + region_size() * (size_t)i);
        worker_rings_init(&e->rings[i], e->shm[i]);
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0)
        goto sys_fail;
    for (int i = 0; i < workers; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, bells[i]) != 0)
            goto sys_fail;

    char n_workers[16], window[16], level[8], uid_s[16], gid_s[16];
    snprintf(n_workers, sizeof(n_workers), "%d", workers);
    snprintf(window, sizeof(window), "%u", cfg->replay_window_ms);
    snprintf(level, sizeof(level), "%d", cfg->log_level);
    snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)uid);
    snprintf(gid_s, sizeof(gid_s), "%u", (unsigned)gid);
    char *argv[] = { (char *)"vpn-enclave", (char *)"--workers", n_workers,
                     (char *)"--private-key", (char *)cfg->private_key_file,
                     (char *)"--users", (char *)cfg->users_file,
                     (char *)"--replay-window-ms", window, (char *)"--log-level", level,
                     (char *)"--uid", uid_s, (char *)"--gid", gid_s, NULL };
    int child_bells[MAX_WORKERS];
    for (int i = 0; i < workers; i++)
        child_bells[i] = bells[i][1];
    pid_t pid = fork();
    if (pid < 0)
        goto sys_fail;
    if (pid == 0)
        exec_enclave(enclave_path, shm_fd, ctl[1], child_bells, workers, argv);
    e->pid = pid;
    close(shm_fd);
    close(ctl[1]);
    e->ctl_fd = ctl[0];
    for (int i = 0; i < workers; i++) {
        close(bells[i][1]);
        e->doorbell[i] = bells[i][0];
        fcntl(e->doorbell[i], F_SETFL, O_NONBLOCK);
    }
    if (wait_ready(e, why, why_len) != 0) {
        enclave_stop(e);
        return -1;
    }
    return 0;

sys_fail:
    snprintf(why, why_len, "%s", strerror(errno));
    if (shm_fd >= 0)
        close(shm_fd);
    for (int i = 0; i < 2; i++)
        if (ctl[i] >= 0)
            close(ctl[i]);
    for (int i = 0; i < workers; i++)
        for (int j = 0; j < 2; j++)
            if (bells[i][j] >= 0)
                close(bells[i][j]);
    if (e->map)
        munmap(e->map, e->map_len);
    e->map = NULL;
    return -1;
}

void enclave_stop(struct enclave_link *e)
{
    if (e->ctl_fd >= 0)
        close(e->ctl_fd);
    e->ctl_fd = -1;
    for (int i = 0; i < e->workers; i++) {
        if (e->doorbell[i] >= 0)
            close(e->doorbell[i]);
        e->doorbell[i] = -1;
    }
    if (e->pid > 0) {
        int status;
        for (int i = 0; i < 200; i++) {
            if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
                e->pid = 0;
                break;
            }
            usleep(10000);
        }
        if (e->pid > 0) {
            kill(e->pid, SIGKILL);
            waitpid(e->pid, &status, 0);
            e->pid = 0;
        }
    }
    if (e->map)
        munmap(e->map, e->map_len);
    e->map = NULL;
}

void enclave_reload_users(struct enclave_link *e)
{
    if (send(e->ctl_fd, "RELOAD", 6, MSG_DONTWAIT | MSG_NOSIGNAL) != 6)
        log_error("Cannot ask the enclave to reload the users: %s", strerror(errno));
}

bool enclave_handle_report(struct enclave_link *e, void (*removed)(const char *user, void *ctx),
                           void *ctx)
{
    char msg[600];
    ssize_t r = recv(e->ctl_fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
    if (r < 0)
        return errno == EAGAIN || errno == EINTR;
    if (r == 0)
        return false;
    msg[r] = '\0';
    int idx, pid, off = 0;
    if (sscanf(msg, "WORKER %d %d", &idx, &pid) == 2 && idx >= 0 && idx < e->workers) {
        e->worker_pids[idx] = pid;
        log_info("Enclave worker %d restarted (PID: %d)", idx, pid);
    } else if (sscanf(msg, "DIED %d %d %n", &idx, &pid, &off) == 2 && off > 0) {
        log_error("Enclave worker %d (PID: %d) died: %s", idx, pid, msg + off);
    } else if (strncmp(msg, "REMOVED ", 8) == 0) {
        log_info("User %s removed from the users file", msg + 8);
        if (removed)
            removed(msg + 8, ctx);
    } else if (strncmp(msg, "RELOADED ", 9) == 0) {
        log_info("Users reloaded: %s", msg + 9);
    } else if (strncmp(msg, "RELOADFAIL ", 11) == 0) {
        log_error("Users not reloaded, keeping the current ones: %s", msg + 11);
    } else {
        log_warn("enclave: %s", msg);
    }
    return true;
}
