/* The tunnel address pool (REQUIREMENTS.md section 2): dynamic addresses from
 * client_ip_pool_start..end, fixed addresses of users named in qos_classes.conf (never handed
 * to anyone else), and stickiness: a device that comes back gets the address it had, if free.
 * A user has one address per device online (docs/PROTOCOL.md, extension 5): its fixed address
 * goes to whichever of its devices asks while it is free, the others get dynamic ones.
 * Devices are named by their 16-byte id (all zero: the implicit device of an old client). A
 * WireGuard device with an address of its own ([device:USER:DEVICE]) gets that one or none.
 * Control thread only. */
#ifndef SERVER_POOL_H
#define SERVER_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/limits.h"

struct server_config;

enum { POOL_MAX_ADDRESSES = 65536 };

struct pool_entry {
    char last_user[USERNAME_MAX + 1];   /* who had it last ("" = nobody yet) */
    uint8_t last_device[DEVICE_ID_LEN]; /* and on which device */
    bool in_use;
    bool fixed;                         /* reserved for the user in last_user */
};

struct pool {
    uint32_t start;                     /* host order */
    uint32_t count;
    uint32_t next;                      /* round-robin cursor for fresh addresses */
    struct pool_entry *entries;
    bool *fixed_outside_in_use;         /* per configured user whose fixed address lies
                                           outside the dynamic range */
    const struct server_config *cfg;
};

/* Returns 0 or -ENOMEM. */
int pool_init(struct pool *p, const struct server_config *cfg);
void pool_uninit(struct pool *p);

/* An address for username's device: the user's fixed one if free, else the one this device
 * had last if free, else a fresh one (never used, then least recently released). 0 when none
 * is free. */
uint32_t pool_acquire(struct pool *p, const char *username, const uint8_t device[DEVICE_ID_LEN]);
/* Marks addr as held by username's device, as a running session holds it (a reload builds a
 * new pool and moves the sessions in): true when the new configuration lets that user have it:
 * its fixed address, or a free address of the range that is nobody's fixed one (for a user
 * with a fixed address, only while that one is held: reserve the sessions that hold fixed
 * addresses first, so that a user given one moves onto it). */
bool pool_reserve(struct pool *p, uint32_t addr, const char *username,
                  const uint8_t device[DEVICE_ID_LEN]);
/* Whether addr is username's fixed address. */
bool pool_is_fixed_of(const struct pool *p, uint32_t addr, const char *username);
/* Gives addr back (it stays remembered for its last user). */
void pool_release(struct pool *p, uint32_t addr);
/* Addresses in use. */
uint32_t pool_in_use(const struct pool *p);

#endif
