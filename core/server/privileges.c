/* Dropping the main process's privileges with libcap (see privileges.h). */
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "vpn/server_config.h"

static const cap_value_t KEEP[] = { CAP_NET_ADMIN, CAP_NET_RAW };
enum { N_KEEP = sizeof(KEEP) / sizeof(KEEP[0]) };

static bool kept(int cap)
{
    for (int i = 0; i < N_KEEP; i++)
        if (KEEP[i] == cap)
            return true;
    return false;
}

int privileges_drop(const struct server_config *cfg, char *why, size_t why_len)
{
    if (geteuid() != 0)
        return 0;   /* started with file capabilities: nothing more to give up here */
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (!kept(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            snprintf(why, why_len, "bounding set: %s", strerror(errno));
            return -1;
        }
    if (cfg->user[0]) {
        struct passwd *pw = getpwnam(cfg->user);
        if (!pw) {
            snprintf(why, why_len, "unknown user '%s'", cfg->user);
            return -1;
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || initgroups(pw->pw_name, pw->pw_gid) != 0 ||
            setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
            snprintf(why, why_len, "switching to user '%s': %s", cfg->user, strerror(errno));
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
    /* As an unprivileged user, tc and iptables run at exit need the two capabilities in
     * their ambient set to inherit them across exec. */
    if (cfg->user[0])
        for (int i = 0; i < N_KEEP; i++)
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, KEEP[i], 0, 0);
    return 0;
}
