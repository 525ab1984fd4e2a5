/* A short scheduler slice for the calling thread (see vpn/thread_slice.h). */
#include "vpn/thread_slice.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct sched_attr (sched_setattr(2)); glibc 2.36 has no wrapper. */
struct slice_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

int thread_short_slice(void)
{
    if (sched_getscheduler(0) != SCHED_OTHER)
        return 0;   /* an operator's real-time or batch policy stays as it is */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);    /* this thread's: Linux's threads are tasks */
    if (nice == -1 && errno)
        return -errno;
    struct slice_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.sched_policy = SCHED_OTHER;
    a.sched_nice = nice;
    a.sched_runtime = (uint64_t)THREAD_SLICE_US * 1000u;
    return syscall(SYS_sched_setattr, 0, &a, 0) == 0 ? 0 : -errno;
}
