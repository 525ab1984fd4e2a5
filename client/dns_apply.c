/* The pushed resolvers on the machine (see dns_apply.h for the three ways and why). */
#include "dns_apply.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpn/netaddr.h"
#include "vpn/run.h"
#include "vpn/text.h"

enum { RESOLV_CONF_MAX = 16384 };   /* a resolv.conf is a few lines; more is not one we back up */

static const char RESOLVED_DIR[] = "/run/systemd/resolve";
static const char RESOLVCONF_DIR[] = "/run/resolvconf";
static const char MARK[] = "# vpn-client ";     /* our first line starts so */

void dns_init(struct dns_state *d, const char *tun, const char *state_dir)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->tun, sizeof(d->tun), "%s", tun);
    snprintf(d->resolv_conf, sizeof(d->resolv_conf), "/etc/resolv.conf");
    snprintf(d->state_dir, sizeof(d->state_dir), "%s", state_dir);
    snprintf(d->backup, sizeof(d->backup), "%s/resolv.conf.%s", state_dir, tun);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool have_tool(const char *name)
{
    char path[PATH_MAX];
    return run_find(name, path, sizeof(path)) == 0;
}

enum dns_method dns_method_detect(void)
{
    if (is_dir(RESOLVED_DIR) && have_tool("resolvectl"))
        return DNS_METHOD_RESOLVECTL;
    if (is_dir(RESOLVCONF_DIR) && have_tool("resolvconf"))
        return DNS_METHOD_RESOLVCONF;
    return DNS_METHOD_FILE;
}

const char *dns_method_name(enum dns_method m)
{
    switch (m) {
    case DNS_METHOD_RESOLVECTL: return "resolvectl";
    case DNS_METHOD_RESOLVCONF: return "resolvconf";
    case DNS_METHOD_FILE: return "/etc/resolv.conf";
    default: return "none";
    }
}

/* nameserver and search lines (the resolvconf input and the body of our resolv.conf). */
static bool resolver_lines(const uint32_t *servers, int n, const char *search, char *out,
                           size_t out_len, size_t *len)
{
    char a[16];
    for (int i = 0; i < n; i++)
        if (!text_append(out, out_len, len, "nameserver %s\n", format_ipv4(servers[i], a)))
            return false;
    return !*search || text_append(out, out_len, len, "search %s\n", search);
}

size_t dns_resolv_conf_text(const char *tun, const char *backup, const uint32_t *servers, int n,
                            const char *search, const char *original, char *out,
                            size_t out_len)
{
    size_t len = 0;
    out[0] = '\0';
    if (!text_append(out, out_len, &len,
                     "%s(%s): the resolvers the VPN server pushed. The file as "
             "it was is in %s and comes back when the client exits.\n", MARK, tun, backup) ||
        !resolver_lines(servers, n, search, out, out_len, &len))
        return 0;
    /* The machine's own resolver options (edns0, timeouts, ...) still hold. */
    for (const char *p = original; p && *p;) {
        size_t k = strcspn(p, "\n");
        if (k >= 7 && strncmp(p, "options", 7) == 0 && (p[7] == ' ' || p[7] == '\t') &&
            !text_append(out, out_len, &len, "%.*s\n", (int)k, p))
            return 0;
        p += k + (p[k] == '\n');
    }
    return len;
}

/* The whole file into buf (NUL-terminated). Returns its length, or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == cap - 1) {
            close(fd);
            errno = EFBIG;
            return -1;
        }
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* resolv.conf rewritten in place: the same inode, so links and bind mounts onto it hold. */
static int rewrite(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text));
    if (rc == 0)
        rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* The backup: written whole under a temporary name, then renamed, so that a crash leaves
 * either no backup or a complete one. */
static int save_backup(const struct dns_state *d, const char *text, size_t n)
{
    char tmp[PATH_MAX + 8];
    mkdir(d->state_dir, 0700);
    snprintf(tmp, sizeof(tmp), "%s.new", d->backup);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, n);
    if (rc == 0)
        rc = fsync(fd);
    close(fd);
    if (rc == 0)
        rc = rename(tmp, d->backup);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* The file before us into original: the backup once there is one (a second apply, for a new
 * session), else resolv.conf itself, backed up now. Returns 0, or -1 with why. */
static int load_original(struct dns_state *d, char *original, size_t cap, char *why,
                         size_t why_len)
{
    if (access(d->backup, F_OK) == 0) {
        if (read_file(d->backup, original, cap) >= 0)
            return 0;
        snprintf(why, why_len, "cannot read the backup %s: %s", d->backup, strerror(errno));
        return -1;
    }
    ssize_t len = read_file(d->resolv_conf, original, cap);
    if (len < 0) {
        snprintf(why, why_len, "cannot read %s: %s", d->resolv_conf, strerror(errno));
        return -1;
    }
    if (strncmp(original, MARK, strlen(MARK)) == 0) {
        /* Another client's lines (or ours without a backup): never back those up as the
         * machine's own. */
        snprintf(why, why_len, "%s holds another vpn-client's resolvers", d->resolv_conf);
        return -1;
    }
    if (save_backup(d, original, (size_t)len) != 0) {
        snprintf(why, why_len, "cannot back up %s into %s: %s", d->resolv_conf, d->backup,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int apply_file(struct dns_state *d, const uint32_t *servers, int n, const char *search,
                      char *why, size_t why_len)
{
    static char original[RESOLV_CONF_MAX], text[RESOLV_CONF_MAX];
    if (load_original(d, original, sizeof(original), why, why_len) != 0)
        return -1;
    if (!dns_resolv_conf_text(d->tun, d->backup, servers, n, search, original, text,
                              sizeof(text))) {
        snprintf(why, why_len, "resolv.conf text too long");
        return -1;
    }
    if (rewrite(d->resolv_conf, text) != 0) {
        snprintf(why, why_len, "cannot write %s: %s", d->resolv_conf, strerror(errno));
        return -1;
    }
    return 0;
}

/* Our resolv.conf lines go, the original comes back (see dns_apply.h). Returns 1 when there
 * was a backup. */
static int restore_file(struct dns_state *d)
{
    static char backup[RESOLV_CONF_MAX], now[RESOLV_CONF_MAX];
    if (read_file(d->backup, backup, sizeof(backup)) < 0)
        return 0;
    if (read_file(d->resolv_conf, now, sizeof(now)) >= 0 &&
        strncmp(now, MARK, strlen(MARK)) == 0)
        rewrite(d->resolv_conf, backup);
    unlink(d->backup);
    return 1;
}

static int apply_resolvconf(struct dns_state *d, const uint32_t *servers, int n,
                            const char *search, char *why, size_t why_len)
{
    char text[512], name[IFNAMSIZ + 8];
    size_t len = 0;
    text[0] = '\0';
    if (!resolver_lines(servers, n, search, text, sizeof(text), &len)) {
        snprintf(why, why_len, "resolvconf input too long");
        return -1;
    }
    snprintf(name, sizeof(name), "tun.%s", d->tun);
    char *const argv[] = { "resolvconf", "-a", name, NULL };
    return run_cmd_input(argv, text, why, why_len) == 0 ? 0 : -1;
}

static void remove_resolvconf(struct dns_state *d)
{
    char name[IFNAMSIZ + 8], why[256];
    snprintf(name, sizeof(name), "tun.%s", d->tun);
    char *const argv[] = { "resolvconf", "-d", name, NULL };
    run_cmd(argv, why, sizeof(why));
}

/* One resolvectl call: resolvectl VERB TUN ARGS... (argc words in args). */
static int resolvectl(const struct dns_state *d, const char *verb, char **args, int argc,
                      char *why, size_t why_len)
{
    char *argv[4 + DNS_SERVERS_MAX + 8] = { "resolvectl", (char *)verb, (char *)d->tun };
    int k = 3;
    for (int i = 0; i < argc && k < (int)(sizeof(argv) / sizeof(argv[0])) - 1; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    return run_cmd(argv, why, why_len) == 0 ? 0 : -1;
}

static int apply_resolvectl(struct dns_state *d, const uint32_t *servers, int n,
                            const char *search, bool all_queries, char *why, size_t why_len)
{
    char addrs[DNS_SERVERS_MAX][16], words[DNS_SEARCH_MAX + 1], route_all[] = "~.";
    char *args[DNS_SERVERS_MAX + 8];
    int k = 0;
    for (int i = 0; i < n; i++)
        args[k++] = format_ipv4(servers[i], addrs[i]);
    if (resolvectl(d, "dns", args, k, why, why_len) != 0)
        return -1;
    /* The search list as separate words (dns.h: one space between names, none elsewhere). */
    snprintf(words, sizeof(words), "%s", search);
    k = 0;
    for (char *w = strtok(words, " "); w && k < DNS_SERVERS_MAX + 6; w = strtok(NULL, " "))
        args[k++] = w;
    if (all_queries)
        args[k++] = route_all;
    if (resolvectl(d, "domain", args, k, why, why_len) != 0)
        return -1;
    char yes[] = "yes", no[] = "no";
    args[0] = all_queries ? yes : no;
    return resolvectl(d, "default-route", args, 1, why, why_len);
}

int dns_apply(struct dns_state *d, const uint32_t *servers, int n, const char *search,
              bool all_queries, char *why, size_t why_len)
{
    enum dns_method m = d->applied != DNS_METHOD_NONE ? d->applied : dns_method_detect();
    int rc;
    switch (m) {
    case DNS_METHOD_RESOLVECTL:
        rc = apply_resolvectl(d, servers, n, search, all_queries, why, why_len);
        break;
    case DNS_METHOD_RESOLVCONF:
        rc = apply_resolvconf(d, servers, n, search, why, why_len);
        break;
    default:
        rc = apply_file(d, servers, n, search, why, why_len);
        break;
    }
    /* Even a failed apply may have changed something (resolvectl's first step): restore
     * takes back whatever this way can have put in place. */
    d->applied = m;
    return rc;
}

void dns_restore(struct dns_state *d)
{
    char why[256];
    char *none[1] = { NULL };
    switch (d->applied) {
    case DNS_METHOD_RESOLVECTL:
        resolvectl(d, "revert", none, 0, why, sizeof(why));
        break;
    case DNS_METHOD_RESOLVCONF:
        remove_resolvconf(d);
        break;
    case DNS_METHOD_FILE:
        restore_file(d);
        break;
    default:
        break;
    }
    d->applied = DNS_METHOD_NONE;
}

int dns_reset(struct dns_state *d)
{
    int left = restore_file(d);
    if (dns_method_detect() == DNS_METHOD_RESOLVCONF)
        remove_resolvconf(d);
    return left;
}
