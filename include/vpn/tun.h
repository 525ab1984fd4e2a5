/* TUN devices (kernel Documentation/networking/tuntap.rst), set up with ioctls so that the
 * server needs no ip(8) and the sandboxed client can readdress its device by itself. The
 * client's routes are its helper's (client/routes.h). */
#ifndef VPN_TUN_H
#define VPN_TUN_H

#include <stdbool.h>
#include <stdint.h>

/* Creates (or attaches to) TUN device name without packet information headers; the
 * descriptor is non-blocking and close-on-exec, and the device goes away when it closes.
 * The actual name (the kernel may pick one for "tun%d") is written back into name
 * (IFNAMSIZ bytes). With want_offload, asks for IFF_VNET_HDR and TSO (vpn/offload.h) and
 * falls back to a plain device when the kernel refuses; *offload says which one it is.
 * Returns the fd, or -errno. */
int tun_open(char *name, bool want_offload, bool *offload);

/* Switches IPv6 off on the device (the tunnel carries IPv4: no router solicitations or MLD
 * reports into it). Best effort: writes /proc/sys/net/ipv6/conf/NAME/disable_ipv6, which a
 * kernel without IPv6 lacks. tun_configure does it too. */
void tun_disable_ipv6(const char *name);

/* Sets IPv4 address/prefix and MTU on the device and brings it up. Returns 0 or -errno;
 * *step names what failed ("address", "netmask", "mtu", "up"). */
int tun_configure(const char *name, uint32_t addr, uint8_t prefix, uint16_t mtu,
                  const char **step);

#endif
