/* The server's name, looked up in a child without privileges (see resolver.h). */
#include "resolver.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void fill(struct resolver_result *out, const struct addrinfo *ai)
{
    memset(&out->addr, 0, sizeof(out->addr));
    memcpy(&out->addr, ai->ai_addr, ai->ai_addrlen);
    out->addr_len = (uint32_t)ai->ai_addrlen;
    out->status = 0;
    out->why[0] = '\0';
}

static int lookup(const char *host, uint16_t port, bool numeric, struct resolver_result *out)
{
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_family = AF_UNSPEC,
                              .ai_flags = numeric ? AI_NUMERICHOST : 0 };
    struct addrinfo *res = NULL;
    char p[8];
    snprintf(p, sizeof(p), "%u", port);
    int rc = getaddrinfo(host, p, &hints, &res);
    memset(out, 0, sizeof(*out));
    if (rc != 0) {
        out->status = rc;
        snprintf(out->why, sizeof(out->why), "%s", gai_strerror(rc));
        return -1;
    }
    /* As before: the first answer, in the order getaddrinfo sorts them (RFC 6724). */
    if (res->ai_addrlen > sizeof(out->addr) ||
        (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
        out->status = -1;
        snprintf(out->why, sizeof(out->why), "no IPv4 or IPv6 address");
        freeaddrinfo(res);
        return -1;
    }
    fill(out, res);
    freeaddrinfo(res);
    return 0;
}

bool resolver_numeric(const char *host, uint16_t port, struct resolver_result *out)
{
    return lookup(host, port, true, out) == 0;
}

/* The child: the client's user, no capability, then the lookup. Never returns. */
__attribute__((noreturn))
static void child(const struct client_config *cfg, int fd)
{
    struct resolver_result r;
    memset(&r, 0, sizeof(r));
    /* Nothing of the helper's but the pipe (stderr stays for glibc's rare complaints). */
    for (int i = 3; i < 1024; i++)
        if (i != fd)
            close(i);
    gid_t gid = cfg->gid;
    if (geteuid() == 0 && cfg->uid != 0 &&
        (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
         setresuid(cfg->uid, cfg->uid, cfg->uid) != 0)) {
        r.status = -1;
        snprintf(r.why, sizeof(r.why), "cannot switch to user %s: %s", cfg->user,
                 strerror(errno));
    } else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        r.status = -1;
        snprintf(r.why, sizeof(r.why), "no_new_privs: %s", strerror(errno));
    } else {
        lookup(cfg->server_ip, cfg->server_port, false, &r);
    }
    (void)!write(fd, &r, sizeof(r));
    _exit(0);
}

int resolver_start(const struct client_config *cfg, struct lookup *l,
                   struct resolver_result *out)
{
    int p[2];
    memset(out, 0, sizeof(*out));
    if (pipe2(p, O_CLOEXEC) != 0) {
        out->status = -1;
        snprintf(out->why, sizeof(out->why), "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(cfg, p[1]);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        out->status = -1;
        snprintf(out->why, sizeof(out->why), "fork: %s", strerror(errno));
        return -1;
    }
    l->pid = pid;
    l->fd = p[0];
    return 0;
}

static void reap(struct lookup *l)
{
    while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    close(l->fd);
    l->pid = 0;
    l->fd = -1;
}

void resolver_finish(struct lookup *l, struct resolver_result *out)
{
    ssize_t n;
    while ((n = read(l->fd, out, sizeof(*out))) < 0 && errno == EINTR)
        ;
    /* From a process of the client's user: an answer is one IPv4 or IPv6 address, whole. */
    bool addr_ok = (out->addr.ss_family == AF_INET &&
                    out->addr_len == sizeof(struct sockaddr_in)) ||
                   (out->addr.ss_family == AF_INET6 &&
                    out->addr_len == sizeof(struct sockaddr_in6));
    if (n != (ssize_t)sizeof(*out) || (out->status == 0 && !addr_ok)) {
        memset(out, 0, sizeof(*out));
        out->status = -1;
        snprintf(out->why, sizeof(out->why), "the lookup ended without an answer");
    }
    out->why[sizeof(out->why) - 1] = '\0';
    reap(l);
}

void resolver_cancel(struct lookup *l)
{
    if (l->pid <= 0)
        return;
    kill(l->pid, SIGKILL);
    reap(l);
}
