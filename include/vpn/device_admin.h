/* The operator's changes to users' WireGuard devices (vpnctl device ..., vpnctl user add
 * --wireguard), made through a user_admin (user_admin.h: the same lock, the same checks by the
 * server's own readers, both files or neither): the device's key in the users file,
 *
 *     [wireguard:USER:DEVICE]
 *     public_key = <base64>
 *     preshared_key = <base64>        (optional)
 *
 * and its fixed address in the classes file, [device:USER:DEVICE] vpn_ip = A.B.C.D
 * (docs/WIREGUARD.md, phase 2). The device's private key is never given here: the server
 * does not keep it. */
#ifndef VPN_DEVICE_ADMIN_H
#define VPN_DEVICE_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "vpn/device_name.h"
#include "vpn/limits.h"
#include "vpn/user_admin.h"

/* The device of the users file, or NULL. */
const struct user_admin_device *device_admin_find(const struct user_admin *a, const char *user,
                                                  const char *device);

/* The name a new device of user gets when none is given: "device1", else the first of
 * "device2", "device3"... that it does not have. */
void device_admin_default_name(const struct user_admin *a, const char *user,
                               char out[DEVICE_NAME_MAX + 1]);

/* A new device of an existing user: public_key, preshared_key (NULL: none) and vpn_ip (host
 * order; device_address.h says which are fit) go to the files' texts. Refuses an unknown
 * user, a name outside device_name.h's rule, a device the user has in either file, more than
 * USER_DEVICES_MAX of them, a public key another device has. Returns 0, or -1 with why;
 * nothing is written before user_admin_commit. */
int device_admin_add(struct user_admin *a, const char *user, const char *device,
                     const uint8_t public_key[KEY_LEN], const uint8_t *preshared_key,
                     uint32_t vpn_ip, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* Removes the device's sections from both files (from the one that has it, if only one
 * does). Returns 0, or -1 with why (no such device). */
int device_admin_remove(struct user_admin *a, const char *user, const char *device, char *why,
                        size_t why_len) __attribute__((warn_unused_result));

#endif
