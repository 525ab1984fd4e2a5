/* Allocation and erasure of the enclave's secret memory (see secrets.h). */
#include "secrets.h"

#include <errno.h>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vpn/enclave_proto.h"

/* The mapping is [guard][secrets, rounded to pages][guard]; only the middle is accessible. */
static size_t secrets_span(size_t page)
{
    return page_round_up(sizeof(struct enclave_secrets), page);
}

struct enclave_secrets *secrets_map(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = secrets_span(page);
    uint8_t *base = mmap(NULL, len + 2 * page, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    void *p = base + page;
    /* Locked so that keys never reach swap; not dumpable so that a core or /proc dump
     * tool leaves them out (the workers are also PR_SET_DUMPABLE 0 and RLIMIT_CORE 0). */
    if (mprotect(p, len, PROT_READ | PROT_WRITE) != 0 || mlock(p, len) != 0 ||
        madvise(p, len, MADV_DONTDUMP) != 0) {
        int e = errno;
        munmap(base, len + 2 * page);
        errno = e;
        return NULL;
    }
    return p;
}

void secrets_unmap(struct enclave_secrets *s)
{
    if (!s)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = secrets_span(page);
    sodium_memzero(s, sizeof(*s));
    munlock(s, len);
    munmap((uint8_t *)s - page, len + 2 * page);
}

void secrets_erase_slot(struct key_slot *slot)
{
    /* Free the slot first so that a concurrent reader of session_id (the supervisor's
     * statistics) never sees a live id with half-erased keys. */
    __atomic_store_n(&slot->session_id, 0, __ATOMIC_RELEASE);
    sodium_memzero(slot, sizeof(*slot));
}
