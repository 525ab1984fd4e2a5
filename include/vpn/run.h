/* Starting programs, in one place: vpn-server's system tools (tc, iptables) and the
 * launcher's vpn-enclave. A program gets exactly the descriptors it is given, at the numbers
 * it expects, and nothing else of ours (no TUN, no sockets, no rings), an empty signal mask
 * with every signal at its default (but glibc's own two, which it manages itself), and the
 * environment it is given; no shell. System tools come from fixed system directories only,
 * with a fixed environment. */
#ifndef VPN_RUN_H
#define VPN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Descriptor numbers a started program may be given are below this (vpn-enclave takes 6 +
 * MAX_WORKERS of them, enclave_proto.h). */
enum { RUN_FDS_MAX = 64 };

/* One descriptor a program gets: our from as its number to. from == to keeps it in place
 * (only close-on-exec is cleared; a closed one stays closed). */
struct run_fd {
    int from, to;
};

struct run_child {
    const char *path;           /* the program; NULL or "": the child exits 127 at once */
    char *const *argv;
    char *const *envp;          /* its whole environment */
    const struct run_fd *fds;   /* its descriptors: every other one is closed, 0-2 included */
    int n_fds;                  /* at most RUN_FDS_MAX, each to unique and < RUN_FDS_MAX */
    bool say_exec_error;        /* when the exec fails, "[ERROR] cannot run PATH: why" on the
                                   child's descriptor 2 before it exits 127 */
    bool unprivileged;          /* no capabilities (the ambient set emptied), no way to gain
                                   any (no_new_privs: setuid and file capabilities do
                                   nothing), and a process group of its own, which a timeout
                                   can kill whole: for operators' hook commands */
};

/* Forks and execs c->path as described above; a child that cannot set up or exec exits
 * with status 127. Safe to call from any thread of a multithreaded process (the child uses
 * async-signal-safe calls only). Returns the pid, or -errno (-EINVAL for a bad map). */
pid_t run_start(const struct run_child *c) __attribute__((warn_unused_result));

/* Finds the tool name (a bare name, no '/') in /usr/sbin, /sbin, /usr/bin, /bin, in that
 * order, never in the environment's PATH; writes the path of the first executable regular
 * file there into path. Returns 0, -ENOENT, or -EINVAL for a name with a '/'. */
int run_find(const char *name, char *path, size_t len);

/* Starts the tool argv[0] (found by run_find; when there is none the child exits 127) with
 * in_fd, out_fd and err_fd as its stdin, stdout and stderr (-1: /dev/null) and a fixed
 * environment (PATH=/usr/sbin:/sbin:/usr/bin:/bin, LC_ALL=C; nothing inherited), through
 * run_start. Returns the pid, or -1. */
pid_t run_spawn(char *const argv[], int in_fd, int out_fd, int err_fd);

/* Waits for pid: its exit status, 128 + the signal that killed it, or -1. */
int run_wait(pid_t pid);

/* Reads fd to EOF, keeping the first cap - 1 bytes NUL-terminated in buf. */
void run_drain(int fd, char *buf, size_t cap);

/* run_spawn with stdin and stdout on /dev/null; returns the exit status (0 = success), or -1
 * if it could not be started. When err is given, the first line of the program's stderr (or
 * why it could not run) is copied there. */
int run_cmd(char *const argv[], char *err, size_t err_len);

/* Starts argv[0] as run_spawn does (stdin and stderr on /dev/null) and keeps the first
 * out_len - 1 bytes of its stdout in out, NUL-terminated; returns its exit status, or -1. */
int run_capture(char *const argv[], char *out, size_t out_len);

/* run_cmd with input (NUL-terminated, at most a pipe's 64 KiB) written to the program's
 * stdin, which is then closed: for batch modes such as `ip -batch -` and `nft -f -`, so that
 * one program applies many changes, and `resolvconf -a`. input NULL: stdin on /dev/null. */
int run_cmd_input(char *const argv[], const char *input, char *err, size_t err_len);

#endif
