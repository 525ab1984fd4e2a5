/* Names of WireGuard devices (docs/WIREGUARD.md, "Phase 2"): a peer is the device DEVICE of
 * user USER, written "[wireguard:USER:DEVICE]" in the users file and "[device:USER:DEVICE]" in
 * the classes file. One rule for the enclave, the main process and vpnctl. */
#ifndef VPN_DEVICE_NAME_H
#define VPN_DEVICE_NAME_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/limits.h"

enum { DEVICE_NAME_MAX = DEVICE_ID_LEN - 1 };

#define DEVICE_NAME_RULE "1 to 15 letters, digits, '_', '.' or '-'"

/* Whether name follows DEVICE_NAME_RULE. */
bool device_name_valid(const char *name);

/* Splits "USER:DEVICE" (a section's name) at its last ':' (user names have none) into user
 * and device, checking both. NULL on success, else what is wrong. */
const char *device_section_split(const char *section, char user[USERNAME_MAX + 1],
                                 char device[DEVICE_NAME_MAX + 1]);

/* The device's 16-byte id (extension 5's records, the pool): its name, NUL-padded. */
void device_id_of_name(const char *name, uint8_t id[DEVICE_ID_LEN]);

/* The name in an id made by device_id_of_name into out, or false when id is not one (our own
 * clients' ids are random bytes). */
bool device_name_of_id(const uint8_t id[DEVICE_ID_LEN], char out[DEVICE_NAME_MAX + 1]);

#endif
