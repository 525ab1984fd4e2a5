/* Who the main process and the enclave run as, and dropping the main process's privileges
 * with libcap (see privileges.h). */
#include "privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpn/server_config.h"

static const cap_value_t KEEP[] = { CAP_NET_ADMIN, CAP_NET_RAW };
enum { N_KEEP = sizeof(KEEP) / sizeof(KEEP[0]) };

#define USERADD "useradd --system --no-create-home --shell /usr/sbin/nologin"

static bool kept(int cap)
{
    for (int i = 0; i < N_KEEP; i++)
        if (KEEP[i] == cap)
            return true;
    return false;
}

/* getpwnam's answer copied out of its static buffer. Returns 0, or -1 with errno 0 when the
 * user does not exist (or errno from the lookup). */
static int lookup(const char *name, uid_t *uid, gid_t *gid)
{
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (!pw)
        return -1;
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

int privileges_resolve(const struct server_config *cfg, struct privileges *p, char *why,
                       size_t why_len)
{
    memset(p, 0, sizeof(*p));
    p->socket_gid = -1;
    snprintf(p->user, sizeof(p->user), "%s", cfg->user);
    /* With file capabilities instead of root the enclave could not switch to a uid of its
     * own and would share ours, and a main process running as a user could not give the
     * enclave its files. */
    if (geteuid() != 0) {
        snprintf(why, why_len, "vpn-server must be started as root (running as uid %u): it "
                 "sets up the TUN, then runs as user %s, and its enclave as %s",
                 (unsigned)geteuid(), p->user, ENCLAVE_USER);
        return PRIVILEGES_FAILED;
    }
    bool main_missing = lookup(p->user, &p->uid, &p->gid) != 0;
    int main_errno = errno;
    bool enclave_missing = lookup(ENCLAVE_USER, &p->enclave_uid, &p->enclave_gid) != 0;
    int enclave_errno = errno;
    if ((main_missing && main_errno) || (enclave_missing && enclave_errno)) {
        snprintf(why, why_len, "cannot look up system user %s: %s",
                 main_missing && main_errno ? p->user : ENCLAVE_USER,
                 strerror(main_missing && main_errno ? main_errno : enclave_errno));
        return PRIVILEGES_FAILED;
    }
    if (main_missing && enclave_missing) {
        snprintf(why, why_len, "system users %s and %s do not exist; create them with: "
                 USERADD " %s && " USERADD " %s", p->user, ENCLAVE_USER, p->user, ENCLAVE_USER);
        return PRIVILEGES_FAILED;
    }
    if (main_missing || enclave_missing) {
        const char *name = main_missing ? p->user : ENCLAVE_USER;
        snprintf(why, why_len, "system user %s does not exist; create it with: " USERADD " %s",
                 name, name);
        return PRIVILEGES_FAILED;
    }
    if (p->enclave_uid == 0 || p->enclave_gid == 0) {
        snprintf(why, why_len, "system user %s has uid %u, gid %u: the enclave needs an "
                 "unprivileged user and group of its own", ENCLAVE_USER,
                 (unsigned)p->enclave_uid, (unsigned)p->enclave_gid);
        return PRIVILEGES_FAILED;
    }
    if (cfg->control_socket_group[0]) {
        errno = 0;
        struct group *gr = getgrnam(cfg->control_socket_group);
        if (!gr) {
            if (errno)
                snprintf(why, why_len, "cannot look up group %s: %s",
                         cfg->control_socket_group, strerror(errno));
            else
                snprintf(why, why_len, "[metrics] control_socket_group: group %s does not "
                         "exist; create it with: groupadd --system %s (tools/create-users.sh "
                         "creates vpnse-metrics)", cfg->control_socket_group,
                         cfg->control_socket_group);
            return PRIVILEGES_FAILED;
        }
        if (gr->gr_gid == 0) {
            snprintf(why, why_len, "%s: [metrics] control_socket_group: %s is gid 0 (root); "
                     "name a group of the status readers' own", cfg->path,
                     cfg->control_socket_group);
            return PRIVILEGES_CONFLICT;
        }
        p->socket_gid = (int)gr->gr_gid;
    }
    p->stay_root = p->uid == 0;
    if (p->stay_root)
        return 0;
    if (p->uid == p->enclave_uid) {
        snprintf(why, why_len, "%s: [security] user: %s has uid %u, the enclave's (%s); the "
                 "main process must not share it", cfg->path, p->user, (unsigned)p->uid,
                 ENCLAVE_USER);
        return PRIVILEGES_CONFLICT;
    }
    if (p->gid == 0) {
        snprintf(why, why_len, "%s: [security] user: %s has primary group 0 (root), which "
                 "would let the main process read root's group files; give it a group of its "
                 "own", cfg->path, p->user);
        return PRIVILEGES_CONFLICT;
    }
    return 0;
}

int privileges_runtime_dir(const struct privileges *p, const char *socket_path, char *why,
                           size_t why_len)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s", socket_path) >= (int)sizeof(dir))
        return 0;   /* the socket itself will report the name */
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;   /* in the working directory or in "/": nothing of ours to create */
    *slash = '\0';
    if (mkdir(dir, 0755) != 0) {
        if (errno == EEXIST)
            return 0;
        int e = errno;
        snprintf(why, why_len, "cannot create %s for the control socket: %s", dir, strerror(e));
        return -e;
    }
    /* Through a descriptor, and not through a link: only the directory we just made. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchown(fd, p->uid, p->gid) != 0 || fchmod(fd, 0755) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        snprintf(why, why_len, "cannot give %s to user %s: %s", dir, p->user, strerror(e));
        return -e;
    }
    close(fd);
    return 0;
}

int privileges_drop(const struct privileges *p, char *why, size_t why_len)
{
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (!kept(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            snprintf(why, why_len, "bounding set: %s", strerror(errno));
            return -1;
        }
    if (!p->stay_root) {
        /* KEEPCAPS keeps the permitted set across the uid change; cap_set_proc below then
         * narrows it to the two we keep. */
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || initgroups(p->user, p->gid) != 0 ||
            setresgid(p->gid, p->gid, p->gid) != 0 || setresuid(p->uid, p->uid, p->uid) != 0) {
            snprintf(why, why_len, "switching to user %s: %s", p->user, strerror(errno));
            return -1;
        }
    }
    cap_t caps = cap_init();
    if (!caps || cap_set_flag(caps, CAP_PERMITTED, N_KEEP, KEEP, CAP_SET) != 0 ||
        cap_set_flag(caps, CAP_EFFECTIVE, N_KEEP, KEEP, CAP_SET) != 0 ||
        cap_set_flag(caps, CAP_INHERITABLE, N_KEEP, KEEP, CAP_SET) != 0 ||
        cap_set_proc(caps) != 0) {
        snprintf(why, why_len, "capabilities: %s", strerror(errno));
        if (caps)
            cap_free(caps);
        return -1;
    }
    cap_free(caps);
    if (p->stay_root)
        return 0;   /* uid 0 hands the bounding set's two to tc and iptables by itself */
    (void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    /* As an unprivileged user, tc and iptables run at exit need the two capabilities in
     * their ambient set to inherit them across exec. */
    for (int i = 0; i < N_KEEP; i++)
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, KEEP[i], 0, 0) != 0) {
            snprintf(why, why_len, "ambient capabilities: %s", strerror(errno));
            return -1;
        }
    /* No way back (as OpenSSH's permanently_set_uid checks): CAP_SETUID is gone. */
    if (setuid(0) != -1 || seteuid(0) != -1 || getuid() == 0 || geteuid() == 0) {
        snprintf(why, why_len, "uid 0 could still be regained after switching to user %s",
                 p->user);
        return -1;
    }
    return 0;
}
