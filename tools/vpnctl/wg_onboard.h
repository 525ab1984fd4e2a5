/* A new WireGuard device of a user (vpnctl device add USER --wireguard, vpnctl user add NAME
 * --wireguard; docs/WIREGUARD.md, phase 2): its key pair made here, the private key shown
 * once in the device's wg-quick configuration (as text, a QR code on the terminal, a PNG) and
 * never stored by the server; the public key, an optional preshared key and a fixed address
 * written to the users and classes files through device_admin.h.
 *
 * In four steps around the caller's user_admin: prepare (before anything is locked: what
 * would make the configuration useless is refused first), add (under the lock: the device
 * into the files' texts, its configuration made, --out and --png written), the caller's
 * commit and reload, finish (the configuration shown; or the files of a failed change
 * removed). Single-threaded. */
#ifndef VPNCTL_WG_ONBOARD_H
#define VPNCTL_WG_ONBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opts.h"
#include "vpn/device_name.h"
#include "vpn/keyfile.h"
#include "vpn/limits.h"

struct server_config;
struct user_admin;
struct wg_onboard_secrets;

struct wg_onboard {
    struct server_config *cfg;
    const char *socket_path;
    char server_key[KEYFILE_B64_LEN + 1];   /* the server's WireGuard public key */
    char host[256];                         /* the endpoint the device reaches */
    uint16_t port;
    uint32_t address;                       /* --address, then the device's */
    char user[USERNAME_MAX + 1], device[DEVICE_NAME_MAX + 1];
    struct wg_onboard_secrets *sec;         /* guarded memory (sodium_malloc) */
    bool wrote_out, wrote_png;
};

/* Checks what needs no change: WireGuard enabled, an endpoint, the server's WireGuard public
 * key (asked of the running server, else derived from [wireguard] private_key_file), the
 * options. Returns 0, or the exit status (2 configuration or usage, 1 no key yet) after
 * saying why on stderr. */
int wg_onboard_prepare(struct wg_onboard *w, const struct vpnctl_opts *o,
                       struct server_config *cfg, const char *socket_path);

/* Under a's lock (user_admin_open with the lock), before user_admin_add: reads the classes
 * file again into the configuration, so that a device another vpnctl added since it was
 * loaded is seen. Returns 0 or -1 with why. */
int wg_onboard_refresh(struct wg_onboard *w, const struct user_admin *a, char *why,
                       size_t why_len) __attribute__((warn_unused_result));

/* Still under the lock: the device of user (--name, else device_admin_default_name) with a
 * new key pair, --psk's preshared key and its address (--address, checked, else picked; the
 * running server's leased addresses and --ip's new user address avoided) into a's texts; its
 * configuration made and --out and --png written (mode 0600). Returns 0, or -1 with why. */
int wg_onboard_add(struct wg_onboard *w, struct user_admin *a, const struct vpnctl_opts *o,
                   const char *user, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* After the commit: committed, the configuration on stdout (unless --out) and its QR code
 * (when stdout is a terminal or --qr, never with --no-qr); not committed, --out and --png
 * removed. Returns 0, or 1 when writing failed. Then the secrets are erased. */
int wg_onboard_finish(struct wg_onboard *w, const struct vpnctl_opts *o, bool committed);

/* Erases and frees what is left (any exit path). */
void wg_onboard_close(struct wg_onboard *w);

#endif
