/* vpnctl device add|list|remove: users' WireGuard devices (device_admin.h, wg_onboard.h).
 *
 *   device add USER --wireguard [--name DEVICE] [--psk] [--address IP] [--endpoint H[:P]]
 *              [--out FILE] [--png FILE] [--full-tunnel] [--qr | --no-qr]
 *   device list [USER] [--json]
 *   device remove USER DEVICE */
#ifndef VPNCTL_DEVICE_CMD_H
#define VPNCTL_DEVICE_CMD_H

#include "opts.h"

/* Runs the command o->words name ("device", VERB, ...). Returns the exit status (0 done, 1
 * failed, 2 configuration error; the reason on stderr), or -1 for a command line that is
 * not one of them (the caller prints the usage). */
int device_cmd(const struct vpnctl_opts *o);

#endif
