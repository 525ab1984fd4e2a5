/* NAT and forwarding with iptables (the brief's firewall section), run without a shell
 * (run.h). Every rule carries the comment "vpn-server" so that an operator can tell it from
 * their own, and everything is removed again at exit.
 *
 * Forwarding has rules of its own: a host whose FORWARD policy is DROP (Docker sets it, so do
 * many firewalls) would otherwise drop the tunnel's packets after the MASQUERADE rule was
 * added, and the operator would see a server that "works" but forwards nothing. The rules sit
 * in a chain of ours, reached by one jump at the top of FORWARD, so that they act whatever
 * the policy and whatever else FORWARD holds, and so that removing them is removing one jump
 * and one chain, never guessing which of the operator's rules were ours. */
#include "nat.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vpn/netaddr.h"
#include "vpn/run.h"
#include "vpn/server_config.h"

static const char FORWARD_PATH[] = "/proc/sys/net/ipv4/ip_forward";
static const char COMMENT[] = "vpn-server";

/* Rules a killed run may have left (its exit never removed them): removed before ours are
 * added, up to this many of each, so that restarts never pile them up. */
enum { STALE_RULES_MAX = 16, ARGS_MAX = 24 };

bool nat_forwarding_enabled(void)
{
    char c = '0';
    int fd = open(FORWARD_PATH, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &c, 1) != 1)
            c = '0';
        close(fd);
    }
    return c == '1';
}

/* iptables -w ARGS... (NULL-terminated). Returns 0 when it succeeded; why gets its first
 * line of errors otherwise. */
static int iptables(char *why, size_t why_len, ...)
{
    char *argv[ARGS_MAX] = { (char *)"iptables", (char *)"-w" };
    int n = 2;
    va_list ap;
    va_start(ap, why_len);
    for (char *a; n < ARGS_MAX - 1 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run_cmd(argv, why, why_len) == 0 ? 0 : -1;
}

void nat_chain_name(const struct server_config *cfg, char *out, size_t len)
{
    /* At most 10 + 15 bytes: within iptables' 28 for a chain name. One chain per TUN, so
     * that two servers on one host keep their rules apart. */
    snprintf(out, len, "vpnse-fwd-%s", cfg->tun_device);
}

static int masquerade(const struct server_config *cfg, const char *action, char *why,
                      size_t why_len)
{
    char src[32], net[16];
    snprintf(src, sizeof(src), "%s/%u",
             format_ipv4(cfg->tun_ip & ipv4_mask(cfg->tun_prefix), net), cfg->tun_prefix);
    return iptables(why, why_len, "-t", "nat", action, "POSTROUTING", "-s", src, "-o",
                    cfg->nat_interface, "-m", "comment", "--comment", COMMENT, "-j",
                    "MASQUERADE", NULL);
}

static int jump(const char *chain, const char *action, char *why, size_t why_len)
{
    if (strcmp(action, "-I") == 0)
        return iptables(why, why_len, "-I", "FORWARD", "1", "-m", "comment", "--comment",
                        COMMENT, "-j", chain, NULL);
    return iptables(why, why_len, action, "FORWARD", "-m", "comment", "--comment", COMMENT,
                    "-j", chain, NULL);
}

/* Our MASQUERADE rule, as often as a crashed run may have left it. */
static void masquerade_remove(const struct server_config *cfg)
{
    char why[256];
    for (int i = 0; i < STALE_RULES_MAX && masquerade(cfg, "-D", why, sizeof(why)) == 0; i++)
        ;
}

/* Our jumps and chain, as a crashed run may have left them; errors mean "not there". */
static void forward_remove(const char *chain)
{
    char why[256];
    for (int i = 0; i < STALE_RULES_MAX && jump(chain, "-D", why, sizeof(why)) == 0; i++)
        ;
    (void)iptables(why, sizeof(why), "-F", chain, NULL);
    (void)iptables(why, sizeof(why), "-X", chain, NULL);
}

/* Out of the tunnel to nat_interface, and back for connections that went out that way: what
 * NAT needs, and nothing more (traffic to other interfaces follows the host's own rules). */
static int forward_add(const struct server_config *cfg, const char *chain, char *why,
                       size_t why_len)
{
    const char *tun = cfg->tun_device, *out = cfg->nat_interface;
    if (iptables(why, why_len, "-N", chain, NULL) != 0 ||
        iptables(why, why_len, "-A", chain, "-i", tun, "-o", out, "-m", "comment",
                 "--comment", COMMENT, "-j", "ACCEPT", NULL) != 0 ||
        iptables(why, why_len, "-A", chain, "-i", out, "-o", tun, "-m", "conntrack",
                 "--ctstate", "RELATED,ESTABLISHED", "-m", "comment", "--comment", COMMENT,
                 "-j", "ACCEPT", NULL) != 0 ||
        jump(chain, "-I", why, why_len) != 0)
        return -1;
    return 0;
}

int nat_enable(const struct server_config *cfg, char *why, size_t why_len)
{
    char chain[32];
    nat_chain_name(cfg, chain, sizeof(chain));
    int fd = open(FORWARD_PATH, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1", 1) != 1) {
        snprintf(why, why_len, "cannot enable IPv4 forwarding");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    forward_remove(chain);
    masquerade_remove(cfg);
    if (forward_add(cfg, chain, why, why_len) != 0) {
        forward_remove(chain);
        return -1;
    }
    if (masquerade(cfg, "-A", why, why_len) != 0) {
        forward_remove(chain);
        return -1;
    }
    return 0;
}

void nat_disable(const struct server_config *cfg)
{
    char chain[32];
    nat_chain_name(cfg, chain, sizeof(chain));
    masquerade_remove(cfg);
    forward_remove(chain);
}
