/* Shared parts of the seccomp allowlists (see seccomp_filter.h). */
#include "vpn/seccomp_filter.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* Debug builds: name the forbidden syscall on stderr, then die as the filter would. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char msg[96];
    int n = snprintf(msg, sizeof(msg), "[ERROR] seccomp: forbidden syscall %d (%s)\n",
                     si->si_syscall,
                     seccomp_syscall_resolve_num_arch(si->si_arch, si->si_syscall) ?: "?");
    (void)!write(2, msg, (size_t)n);
    _exit(31);
}

scmp_filter_ctx seccomp_filter_new(int debug)
{
    if (!debug)
        return seccomp_init(SCMP_ACT_KILL_PROCESS);
    struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
    sigaction(SIGSYS, &sa, NULL);
    return seccomp_init(SCMP_ACT_TRAP);
}

int seccomp_filter_syscall(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    return nr < 0 ? -1 : nr;
}
