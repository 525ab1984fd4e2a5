/* What every seccomp allowlist of the project shares (the enclave's, enclave/sandbox.c, and the
 * client's, client/sandbox.c); each keeps its own ordered rule table (STYLE.md). */
#ifndef VPN_SECCOMP_FILTER_H
#define VPN_SECCOMP_FILTER_H

#include <seccomp.h>

/* A new filter whose default action kills the process; in a -DSANDBOX_DEBUG build of the
 * caller's file it traps instead, and a SIGSYS handler names the forbidden call on stderr
 * before dying as the filter would. NULL when out of memory. */
scmp_filter_ctx seccomp_filter_new(int debug);
#ifdef SANDBOX_DEBUG
#define SECCOMP_FILTER_NEW() seccomp_filter_new(1)
#else
#define SECCOMP_FILTER_NEW() seccomp_filter_new(0)
#endif

/* The number of a syscall by name on this architecture, or -1 when it has none there: libseccomp
 * answers -1 (__NR_SCMP_ERROR) for unknown names and negative pseudo-numbers for names that are
 * syscalls only on other architectures (mmap2, recv on x86-64); a table names the 32-bit ARM
 * variants too, and those are skipped here. */
int seccomp_filter_syscall(const char *name);

#endif
