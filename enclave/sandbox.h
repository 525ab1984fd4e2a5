/* Locking the enclave down (REQUIREMENTS.md section 3). Each step is visible from outside in
 * /proc/<pid>/status: Seccomp, CapEff/CapPrm/CapBnd, NoNewPrivs, VmLck. */
#ifndef ENCLAVE_SANDBOX_H
#define ENCLAVE_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

/* Process-wide and inherited by the workers: no core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0),
 * a memlock limit large enough for each worker to lock itself. Returns 0 or -errno. */
int sandbox_no_dumps(size_t memlock_bytes);

/* Empties the bounding set, leaves root for uid/gid (ENCLAVE_USER's, neither may be 0), sets
 * PR_SET_DUMPABLE 0 again (the uid change resets it from fs.suid_dumpable), clears every
 * capability (libcap), then sets PR_SET_NO_NEW_PRIVS. Inherited by children. Returns 0 or
 * -errno (-EPERM when not started as root). */
int sandbox_drop_privileges(uid_t uid, gid_t gid);

/* Locks all current and future memory of the calling process; when the memlock limit does not
 * allow that, locks the secrets region and the stack only. Returns 0 (everything), 1 (secrets
 * and stack) or -errno. */
int sandbox_lock_memory(const void *secrets, size_t len);

/* Installs the worker's seccomp allowlist (kill the process on anything else).
 * Returns 0 or -errno. */
int sandbox_worker_filter(void);

/* Installs the supervisor's allowlist: the worker's plus what restarting workers needs. */
int sandbox_supervisor_filter(void);

#endif
