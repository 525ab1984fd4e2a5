/* Running system tools (tc, iptables) without a shell: fork + exec of an argv array, with
 * nothing of ours inherited (no TUN, no sockets, no environment, the default signal mask),
 * from fixed system directories only. One implementation for every caller. */
#ifndef VPN_RUN_H
#define VPN_RUN_H

#include <stddef.h>
#include <sys/types.h>

/* Finds the tool name (a bare name, no '/') in /usr/sbin, /sbin, /usr/bin, /bin, in that
 * order, never in the environment's PATH; writes the path of the first executable regular
 * file there into path. Returns 0, -ENOENT, or -EINVAL for a name with a '/'. */
int run_find(const char *name, char *path, size_t len);

/* Starts the tool argv[0] (found by run_find; when there is none the child exits 127) with
 * in_fd, out_fd and err_fd as its stdin, stdout and stderr (-1: /dev/null) and a fixed
 * environment (PATH=/usr/sbin:/sbin:/usr/bin:/bin, LC_ALL=C; nothing inherited). Returns
 * the pid, or -1. */
pid_t run_spawn(char *const argv[], int in_fd, int out_fd, int err_fd);

/* Waits for pid: its exit status, 128 + the signal that killed it, or -1. */
int run_wait(pid_t pid);

/* Reads fd to EOF, keeping the first cap - 1 bytes NUL-terminated in buf. */
void run_drain(int fd, char *buf, size_t cap);

/* run_spawn with stdin and stdout on /dev/null; returns the exit status (0 = success), or -1
 * if it could not be started. When err is given, the first line of the program's stderr (or
 * why it could not run) is copied there. */
int run_cmd(char *const argv[], char *err, size_t err_len);

#endif
