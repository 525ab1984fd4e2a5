/* How vpn-server starts and talks to its enclave, in one place: the descriptors vpn-enclave is
 * started with, the size of each worker's region in the shared memory, and the three binary
 * channels (fixed-size messages, every field checked by the receiver, no text parsing):
 *
 *   vpn-server control thread <--launch channel--> launcher (root; forked before the privilege
 *                                                  drop; starts vpn-enclave, opens root-only
 *                                                  files for it, waits for it)
 *   vpn-server control thread <--ctl channel------ vpn-enclave supervisor (reports)
 *   launcher ------------------keeper channel----> vpn-enclave supervisor (users file descriptor
 *                                                  on reload)
 *
 * All three are SOCK_SEQPACKET socketpairs: one message per send, never split or merged. The
 * main process never holds a descriptor of the key or users file: only the launcher opens
 * them, and only the enclave reads them. docs/ARCHITECTURE.md, "Enclave life". */
#ifndef VPN_ENCLAVE_PROTO_H
#define VPN_ENCLAVE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "vpn/enclave_ipc.h"

/* Descriptors vpn-enclave finds open at start. */
enum enclave_fd {
    ENCLAVE_FD_SHM = 3,         /* memfd: the workers' regions, worker_region_size() apart */
    ENCLAVE_FD_CTL = 4,         /* reports to vpn-server; EOF means vpn-server is gone */
    ENCLAVE_FD_KEEPER = 5,      /* from the launcher: users file descriptors */
    ENCLAVE_FD_DOORBELL0 = 6,   /* worker i's end of its doorbell is DOORBELL0 + i */
};

static inline size_t page_round_up(size_t n, size_t page)
{
    return (n + page - 1) & ~(page - 1);
}

/* Distance between two workers' regions in the memfd: the region rounded up to the page size
 * both sides read from sysconf(_SC_PAGESIZE) (4 KiB here, 16 KiB on a Raspberry Pi 5's
 * kernel, 64 KiB on some arm64 kernels), so that each region can be mapped on its own. */
static inline size_t worker_region_size(size_t page)
{
    return page_round_up(sizeof(struct worker_shm), page);
}

/* The whole memfd (enclave_link.c maps all the regions at once) in size_t and off_t
 * arithmetic on a 32-bit Pi: MAX_WORKERS regions at the largest page size stay far below
 * 2^31 (about 93 MB), so neither the products nor the mapping can wrap. */
enum { PAGE_SIZE_MAX = 64 * 1024 };
_Static_assert((uint64_t)MAX_WORKERS * (sizeof(struct worker_shm) + PAGE_SIZE_MAX) < (1u << 31),
               "the rings' memfd must be addressable with 32-bit size_t");

/* Supervisor -> vpn-server, on the ctl channel. */
enum sup_report_type {
    SUP_READY = 1,          /* value: users loaded; text: server public key (base64) */
    SUP_ERROR,              /* start-up failed; text: why (the supervisor then exits) */
    SUP_WORKER,             /* worker started: worker, pid */
    SUP_DIED,               /* worker died: worker, pid (0: could not fork), value: wait status;
                               text: how */
    SUP_USER_REMOVED,       /* text: user name (its sessions must end) */
    SUP_USER_CHANGED,       /* text: user name whose token changed (its sessions must end) */
    SUP_RELOADED,           /* value: changes, users: users now */
    SUP_RELOAD_FAILED,      /* text: why; the users in force stay */
    SUP_USER_DISABLED,      /* text: user name now disabled (its sessions must end) */
    SUP_WG_IDENTITY,        /* before SUP_READY when [wireguard] is enabled; text: the
                               WireGuard public key (base64); value: WireGuard peers */
    SUP_WG_PEER_ENDED,      /* text: "USER:DEVICE", a WireGuard peer removed from the users
                               file or given another key or preshared key: its sessions'
                               keys are dead in the enclave, the main process ends them */
};

enum { SUP_TEXT_MAX = 256 };

struct sup_report {
    uint32_t type;
    int32_t worker;
    int32_t pid;
    int32_t value;
    int32_t users;
    char text[SUP_TEXT_MAX];    /* NUL-terminated */
};

/* vpn-server -> launcher, and back, on the launch channel. */
enum launch_type {
    LAUNCH_START = 1,       /* carries the memfd, vpn-server's end of a new ctl channel and the
                               workers' doorbell ends (SCM_RIGHTS, that order) */
    LAUNCH_RELOAD_USERS,    /* open the users file and hand it to the running supervisor */
    LAUNCH_STARTED,         /* back: pid of the new supervisor */
    LAUNCH_EXITED,          /* back: the supervisor exited; status: its wait status */
    LAUNCH_ERROR,           /* back: text says what failed (fork, exec, open) */
};

struct launch_msg {
    uint32_t type;
    int32_t pid;
    int32_t status;
    char text[SUP_TEXT_MAX];    /* NUL-terminated */
};

/* Launcher -> supervisor, on the keeper channel: one users file descriptor (SCM_RIGHTS). */
enum keeper_type { KEEPER_USERS_FD = 1 };

struct keeper_msg {
    uint32_t type;
};

#endif
