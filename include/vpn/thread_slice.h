/* A short scheduler slice for the threads that carry packets.
 *
 * Linux's EEVDF scheduler (6.12 and later) takes sched_attr.sched_runtime of a SCHED_OTHER
 * thread as the length of its turns on a CPU. A thread with a short slice gets an earlier
 * deadline each time it wakes, so it preempts a CPU-bound neighbour sooner, and it runs in
 * shorter turns; its share of the CPU stays the same. That is a packet thread's pattern: a
 * short burst of work per wake-up, on which a ping through a loaded tunnel waits at every
 * hop (docs/PERFORMANCE.md, "Latency under load"). Earlier kernels ignore the value. */
#ifndef VPN_THREAD_SLICE_H
#define VPN_THREAD_SLICE_H

enum { THREAD_SLICE_US = 100 };     /* the shortest slice the kernel accepts */

/* The calling thread's slice becomes THREAD_SLICE_US, its nice value kept. Returns 0, or
 * -errno (a kernel or sandbox that refuses sched_setattr): the thread runs on as before. A
 * thread under another policy than SCHED_OTHER (chrt) keeps it. */
int thread_short_slice(void);

#endif
