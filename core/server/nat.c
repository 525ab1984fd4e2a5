/* NAT with iptables (the brief's firewall section), run without a shell. The rule carries a
 * comment naming us so that an operator can tell it from their own. */
#include "nat.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vpn/netaddr.h"
#include "vpn/run.h"
#include "vpn/server_config.h"

static const char FORWARD_PATH[] = "/proc/sys/net/ipv4/ip_forward";

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

static int rule(const struct server_config *cfg, const char *action, char *why, size_t why_len)
{
    char src[32], net[16];
    snprintf(src, sizeof(src), "%s/%u",
             format_ipv4(cfg->tun_ip & ipv4_mask(cfg->tun_prefix), net), cfg->tun_prefix);
    char *argv[] = { (char *)"iptables", (char *)"-w", (char *)"-t", (char *)"nat",
                     (char *)action, (char *)"POSTROUTING", (char *)"-s", src, (char *)"-o",
                     (char *)cfg->nat_interface, (char *)"-m", (char *)"comment",
                     (char *)"--comment", (char *)"vpn-server", (char *)"-j",
                     (char *)"MASQUERADE", NULL };
    return run_cmd(argv, why, why_len) == 0 ? 0 : -1;
}

int nat_enable(const struct server_config *cfg, char *why, size_t why_len)
{
    int fd = open(FORWARD_PATH, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1", 1) != 1) {
        snprintf(why, why_len, "cannot enable IPv4 forwarding");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return rule(cfg, "-A", why, why_len);
}

void nat_disable(const struct server_config *cfg)
{
    char why[256];
    (void)rule(cfg, "-D", why, sizeof(why));
}
