/* vpn-unit-filter: the seccomp part of a systemd unit's sandbox, for the package test, which
 * runs the installed programs as their units would without a systemd to start them:
 *
 *   vpn-unit-filter SYSCALLS FAMILIES -- PROGRAM [ARGS...]
 *
 * SYSCALLS is a file of syscall names, one a line (SystemCallFilter=, expanded from its
 * @groups by `systemd-analyze syscall-filter`): any other call fails with EPERM
 * (SystemCallErrorNumber=EPERM). FAMILIES is a comma-separated list of numbers of address
 * families (RestrictAddressFamilies=): socket(2) and socketpair(2) for any other fail with
 * EAFNOSUPPORT, as systemd's filter answers. Only this architecture's calls are allowed
 * (SystemCallArchitectures=native): another's kill the process. The filter is installed and
 * PROGRAM executed; whatever PROGRAM installs of its own (the enclave's and the client's
 * allowlists) stacks on it, as under systemd. Names this architecture has no call for are
 * skipped. SYSCALLS may be /proc/self/fd/N (a descriptor the caller left open): it is closed
 * once read, so that PROGRAM does not inherit it. Exit status 2 for a usage error, 1 when
 * the filter cannot be set up. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vpn/seccomp_filter.h"

enum { MAX_FAMILIES = 16 };

static int parse_families(const char *list, int *out)
{
    int n = 0;
    char *copy = strdup(list), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (*end || v <= 0 || v >= AF_MAX || n == MAX_FAMILIES) {
            free(copy);
            return -1;
        }
        out[n++] = (int)v;
    }
    free(copy);
    return n;
}

/* socket() and socketpair() (when listed) for the families given, EAFNOSUPPORT for the others
 * (one rule per family number: libseccomp has no "not in set"). */
static int restrict_families(scmp_filter_ctx ctx, const char *call, const int *fam, int n)
{
    int nr = seccomp_filter_syscall(call);
    if (nr < 0)
        return 0;
    for (int v = 0; v < AF_MAX; v++) {
        bool allowed = false;
        for (int i = 0; i < n; i++)
            allowed |= fam[i] == v;
        if (seccomp_rule_add(ctx, allowed ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EAFNOSUPPORT), nr, 1,
                             SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)v)) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: vpn-unit-filter SYSCALLS FAMILIES -- PROGRAM [ARGS...]\n");
        return 2;
    }
    int fam[MAX_FAMILIES];
    int n_fam = parse_families(argv[2], fam);
    if (n_fam < 1) {
        fprintf(stderr, "vpn-unit-filter: FAMILIES: numbers from 1 to %d, comma-separated\n",
                AF_MAX - 1);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        fprintf(stderr, "vpn-unit-filter: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
        return 1;
    char line[128];
    int allowed = 0;
    bool sockets[2] = { false, false };     /* socket, socketpair listed */
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, " \t\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        if (strcmp(line, "socket") == 0 || strcmp(line, "socketpair") == 0) {
            sockets[line[6] != '\0'] = true;
            continue;
        }
        int nr = seccomp_filter_syscall(line);
        if (nr < 0)
            continue;
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
            fprintf(stderr, "vpn-unit-filter: cannot allow %s\n", line);
            return 1;
        }
        allowed++;
    }
    fclose(f);
    int inherited;
    char tail;
    if (sscanf(argv[1], "/proc/self/fd/%d%c", &inherited, &tail) == 1 && inherited > 2)
        close(inherited);
    if ((sockets[0] && restrict_families(ctx, "socket", fam, n_fam) != 0) ||
        (sockets[1] && restrict_families(ctx, "socketpair", fam, n_fam) != 0)) {
        fprintf(stderr, "vpn-unit-filter: cannot restrict address families\n");
        return 1;
    }
    if (allowed < 50) {
        fprintf(stderr, "vpn-unit-filter: only %d syscalls in %s: not a unit's filter\n",
                allowed, argv[1]);
        return 2;
    }
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        fprintf(stderr, "vpn-unit-filter: seccomp_load: %s\n", strerror(-rc));
        return 1;
    }
    execv(argv[4], argv + 4);
    fprintf(stderr, "vpn-unit-filter: cannot run %s: %s\n", argv[4], strerror(errno));
    return 127;
}
