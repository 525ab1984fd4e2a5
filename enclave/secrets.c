/* Allocation and erasure of the enclave's secret memory (see secrets.h). */
#include "secrets.h"

#include <errno.h>
#include <sodium.h>
#include <sys/mman.h>

struct enclave_secrets *secrets_map(void)
{
    size_t len = sizeof(struct enclave_secrets);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Locked so that keys never reach swap; not dumpable so that a core or /proc dump
     * tool leaves them out (the workers are also PR_SET_DUMPABLE 0 and RLIMIT_CORE 0). */
    if (mlock(p, len) != 0 || madvise(p, len, MADV_DONTDUMP) != 0) {
        int e = errno;
        munmap(p, len);
        errno = e;
        return NULL;
    }
    return p;
}

void secrets_unmap(struct enclave_secrets *s)
{
    if (!s)
        return;
    sodium_memzero(s, sizeof(*s));
    munlock(s, sizeof(*s));
    munmap(s, sizeof(*s));
}

void secrets_erase_slot(struct key_slot *slot)
{
    /* Free the slot first so that a concurrent reader of session_id (the supervisor's
     * statistics) never sees a live id with half-erased keys. */
    __atomic_store_n(&slot->session_id, 0, __ATOMIC_RELEASE);
    sodium_memzero(slot, sizeof(*slot));
}
