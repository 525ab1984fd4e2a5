/* TUN creation and IPv4 configuration with ioctls (tuntap.rst, netdevice(7), route(7)). */
#include "vpn/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vpn/netaddr.h"
#include "vpn/offload.h"

static int open_device(char *name, short flags)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = flags;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = '\0';
    return fd;
}

int tun_open(char *name, bool want_offload, bool *offload)
{
    *offload = false;
    if (want_offload) {
        char try_name[IFNAMSIZ];
        memcpy(try_name, name, IFNAMSIZ);
        int fd = open_device(try_name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
        if (fd >= 0 && offload_enable(fd) == 0) {
            memcpy(name, try_name, IFNAMSIZ);
            *offload = true;
            return fd;
        }
        if (fd >= 0)
            close(fd);
    }
    return open_device(name, IFF_TUN | IFF_NO_PI);
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)sa;
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(addr);
}

/* The tunnel carries IPv4 only: without IPv6 on the device the kernel sends no router
 * solicitations or MLD reports into it (they would only be dropped). Best effort: a kernel
 * without IPv6 has no such file. */
void tun_disable_ipv6(const char *name)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!write(fd, "1", 1);
        close(fd);
    }
}

int tun_configure(const char *name, uint32_t addr, uint8_t prefix, uint16_t mtu,
                  const char **step)
{
    tun_disable_ipv6(name);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        *step = "socket";
        return -errno;
    }
    struct ifreq ifr;
    int rc = 0;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);

    set_sin(&ifr.ifr_addr, addr);
    *step = "address";
    if (ioctl(s, SIOCSIFADDR, &ifr) != 0)
        goto fail;
    set_sin(&ifr.ifr_netmask, ipv4_mask(prefix));
    *step = "netmask";
    if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0)
        goto fail;
    ifr.ifr_mtu = mtu;
    *step = "mtu";
    if (ioctl(s, SIOCSIFMTU, &ifr) != 0)
        goto fail;
    *step = "up";
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        goto fail;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        goto fail;
    close(s);
    return 0;
fail:
    rc = -errno;
    close(s);
    return rc;
}
