/* Who runs what (README, "Security model"). vpn-server must start as root; after set-up the
 * main process keeps CAP_NET_ADMIN and CAP_NET_RAW only (to remove its qdisc and NAT rule at
 * exit) as the system user [security] user (default SERVER_USER_DEFAULT), and the enclave
 * runs as ENCLAVE_USER. Staying uid 0 takes an explicit user = root and is warned about.
 *
 * Order in main(): privileges_resolve before anything is set up (a missing user leaves
 * nothing behind), privileges_runtime_dir before the pid file and control socket are made,
 * privileges_drop after the last step that needs root and before any thread starts. */
#ifndef SERVER_PRIVILEGES_H
#define SERVER_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct server_config;

struct privileges {
    char user[64];              /* the main process's, after set-up */
    uid_t uid;
    gid_t gid;
    bool stay_root;             /* user has uid 0: the opt-out, to be warned about */
    uid_t enclave_uid;          /* ENCLAVE_USER's, given to vpn-enclave */
    gid_t enclave_gid;
    int socket_gid;             /* [metrics] control_socket_group's gid, or -1 (none) */
};

enum privileges_error {
    PRIVILEGES_FAILED = -1,     /* not root, or a user is missing: exit 1 */
    PRIVILEGES_CONFLICT = -2,   /* user shares the enclave's uid: a config error, exit 2 */
};

/* Checks that we run as root and looks up both users (and the control socket's group, when
 * one is configured). Returns 0, or a privileges_error with
 * one line in why (for a missing user, the useradd command that creates it). */
int privileges_resolve(const struct server_config *cfg, struct privileges *p, char *why,
                       size_t why_len) __attribute__((warn_unused_result));

/* Creates the directory of the control socket when it does not exist, owned by p's user with
 * mode 0755, so that the main process can remove the socket (and a pid file put there) at
 * exit. An existing directory is left as it is. Returns 0, or -errno with why. */
int privileges_runtime_dir(const struct privileges *p, const char *socket_path, char *why,
                           size_t why_len);

/* Empties the bounding set but for the two kept capabilities, switches to p's user (unless
 * stay_root) and keeps the two in the ambient set for tc and iptables. Returns 0 or -1 with
 * why. Must run before any thread starts: capabilities and the bounding set are per thread,
 * and a thread started earlier as root would keep all of them. */
int privileges_drop(const struct privileges *p, char *why, size_t why_len)
    __attribute__((warn_unused_result));

#endif
