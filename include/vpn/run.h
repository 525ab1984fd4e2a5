/* Running system tools (tc, iptables) without a shell: fork + execvp of an argv array. */
#ifndef VPN_RUN_H
#define VPN_RUN_H

#include <stddef.h>

/* Runs argv[0] with argv, stdin from /dev/null, stdout discarded. Returns its exit status
 * (0 = success), or -1 if it could not be started or was killed. When err is given, the
 * first line of the program's stderr (or the reason it could not run) is copied there. */
int run_cmd(char *const argv[], char *err, size_t err_len);

#endif
