/* Users' WireGuard devices in the users and classes files (see device_admin.h). */
#include "vpn/device_admin.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "vpn/ini_edit.h"
#include "vpn/keyfile.h"
#include "vpn/netaddr.h"

/* "wireguard:USER:DEVICE" (the key) or "device:USER:DEVICE" (the address). */
static void section_of(const char *kind, const char *user, const char *device, char *out,
                       size_t len)
{
    snprintf(out, len, "%s:%s:%s", kind, user, device);
}

const struct user_admin_device *device_admin_find(const struct user_admin *a, const char *user,
                                                  const char *device)
{
    for (int i = 0; i < a->n_devices; i++)
        if (strcmp(a->devices[i].user, user) == 0 && strcmp(a->devices[i].name, device) == 0)
            return &a->devices[i];
    return NULL;
}

void device_admin_default_name(const struct user_admin *a, const char *user,
                               char out[DEVICE_NAME_MAX + 1])
{
    /* USER_DEVICES_MAX + 1 names: at least one of them is free. */
    for (int n = 1; n <= USER_DEVICES_MAX + 1; n++) {
        snprintf(out, DEVICE_NAME_MAX + 1, "device%d", n);
        if (!device_admin_find(a, user, out))
            return;
    }
}

int device_admin_add(struct user_admin *a, const char *user, const char *device,
                     const uint8_t public_key[KEY_LEN], const uint8_t *preshared_key,
                     uint32_t vpn_ip, char *why, size_t why_len)
{
    char keys[USERNAME_MAX + DEVICE_NAME_MAX + 16], address[USERNAME_MAX + DEVICE_NAME_MAX + 16];
    if (!device_name_valid(device)) {
        snprintf(why, why_len, "the device name \"%.32s\" is not " DEVICE_NAME_RULE, device);
        return -1;
    }
    if (!user_admin_find(a, user)) {
        snprintf(why, why_len, "no user '%.63s' in %s (vpnctl user add %.63s --wireguard "
                 "makes one with its first device)", user, a->users_path, user);
        return -1;
    }
    section_of("wireguard", user, device, keys, sizeof(keys));
    section_of("device", user, device, address, sizeof(address));
    if (device_admin_find(a, user, device) || ini_edit_has_section(a->classes_text, address)) {
        snprintf(why, why_len, "user '%s' has a device '%s' already (vpnctl device list %s; "
                 "vpnctl device remove %s %s)", user, device, user, user, device);
        return -1;
    }
    int count = 0;
    for (int i = 0; i < a->n_devices; i++) {
        count += strcmp(a->devices[i].user, user) == 0;
        if (memcmp(a->devices[i].public_key, public_key, KEY_LEN) == 0) {
            snprintf(why, why_len, "that public key belongs to device '%s:%s' already",
                     a->devices[i].user, a->devices[i].name);
            return -1;
        }
    }
    if (count >= USER_DEVICES_MAX) {
        snprintf(why, why_len, "user '%s' has %d WireGuard devices, the most there may be",
                 user, count);
        return -1;
    }
    char pub[KEYFILE_B64_LEN + 1], psk[KEYFILE_B64_LEN + 1], ip[16];
    keyfile_encode(public_key, pub);
    int rc = ini_edit_set(&a->users_text, keys, "public_key", pub);
    if (rc == 0 && preshared_key) {
        keyfile_encode(preshared_key, psk);
        rc = ini_edit_set(&a->users_text, keys, "preshared_key", psk);
        sodium_memzero(psk, sizeof(psk));
    }
    if (rc == 0)
        rc = ini_edit_set(&a->classes_text, address, "vpn_ip", format_ipv4(vpn_ip, ip));
    if (rc != 0) {
        snprintf(why, why_len, "cannot edit the files: out of memory");
        return -1;
    }
    a->users_changed = a->classes_changed = true;
    return user_admin_reparse(a, why, why_len);
}

int device_admin_remove(struct user_admin *a, const char *user, const char *device, char *why,
                        size_t why_len)
{
    char keys[USERNAME_MAX + DEVICE_NAME_MAX + 16], address[USERNAME_MAX + DEVICE_NAME_MAX + 16];
    section_of("wireguard", user, device, keys, sizeof(keys));
    section_of("device", user, device, address, sizeof(address));
    int in_users = ini_edit_remove_section(&a->users_text, keys);
    int in_classes = ini_edit_remove_section(&a->classes_text, address);
    if (in_users < 0 || in_classes < 0) {
        snprintf(why, why_len, "cannot edit the files: out of memory or a name the files "
                 "cannot hold");
        return -1;
    }
    if (!in_users && !in_classes) {
        snprintf(why, why_len, "user '%.63s' has no device '%.15s' (vpnctl device list %.63s)",
                 user, device, user);
        return -1;
    }
    a->users_changed |= in_users > 0;
    a->classes_changed |= in_classes > 0;
    return user_admin_reparse(a, why, why_len);
}
