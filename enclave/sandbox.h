/* Locking the enclave down (REQUIREMENTS.md section 3). Each step is visible from outside in
 * /proc/<pid>/status: Seccomp, CapEff/CapPrm/CapBnd, NoNewPrivs, VmLck. */
#ifndef ENCLAVE_SANDBOX_H
#define ENCLAVE_SANDBOX_H

#include <stddef.h>

/* Process-wide and inherited by the workers: no core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0),
 * a memlock limit large enough for each worker to lock itself. Returns 0 or -errno. */
int sandbox_no_dumps(size_t memlock_bytes);

/* Empties the bounding set, leaves root for the unprivileged uid/gid 65534 ("nobody") and
 * clears every capability (libcap), then sets PR_SET_NO_NEW_PRIVS. Inherited by children.
 * Returns 0 or -errno. */
int sandbox_drop_privileges(void);

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
