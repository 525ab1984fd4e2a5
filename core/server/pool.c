/* Address pool (see pool.h). Fixed addresses may lie outside the dynamic range (anywhere in
 * the tunnel network); they are tracked apart from the range's bitmap. */
#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/log.h"
#include "vpn/server_config.h"

int pool_init(struct pool *p, const struct server_config *cfg)
{
    memset(p, 0, sizeof(*p));
    p->cfg = cfg;
    p->start = cfg->pool_start;
    uint64_t count = (uint64_t)cfg->pool_end - cfg->pool_start + 1;
    if (count > POOL_MAX_ADDRESSES) {
        log_warn("address pool of %llu addresses truncated to %d", (unsigned long long)count,
                 POOL_MAX_ADDRESSES);
        count = POOL_MAX_ADDRESSES;
    }
    p->count = (uint32_t)count;
    p->entries = calloc(p->count, sizeof(*p->entries));
    p->fixed_outside_in_use = calloc((size_t)cfg->n_users + (size_t)cfg->n_devices + 1,
                                     sizeof(bool));
    if (!p->entries || !p->fixed_outside_in_use) {
        pool_uninit(p);
        return -ENOMEM;
    }
    for (int i = 0; i < cfg->n_users; i++) {
        uint32_t a = cfg->users[i].vpn_ip;
        if (a >= p->start && a - p->start < p->count) {
            struct pool_entry *e = &p->entries[a - p->start];
            e->fixed = true;
            strncpy(e->last_user, cfg->users[i].name, USERNAME_MAX);
        }
    }
    for (int i = 0; i < cfg->n_devices; i++) {
        uint32_t a = cfg->devices[i].vpn_ip;
        if (a >= p->start && a - p->start < p->count) {
            struct pool_entry *e = &p->entries[a - p->start];
            e->fixed = true;
            strncpy(e->last_user, cfg->devices[i].user, USERNAME_MAX);
            memcpy(e->last_device, cfg->devices[i].id, DEVICE_ID_LEN);
        }
    }
    return 0;
}

void pool_uninit(struct pool *p)
{
    free(p->entries);
    free(p->fixed_outside_in_use);
    p->entries = NULL;
    p->fixed_outside_in_use = NULL;
}

/* The index of username in the configuration if it has a fixed address, else -1. */
static int fixed_index(const struct pool *p, const char *username)
{
    int i = server_config_user_index(p->cfg, username);
    return i >= 0 && p->cfg->users[i].vpn_ip ? i : -1;
}

/* The in-use flag of fixed address a, whose flag outside the range is at outside (users
 * first, then WireGuard devices). */
static bool *in_use_of(struct pool *p, uint32_t a, int outside)
{
    if (a >= p->start && a - p->start < p->count)
        return &p->entries[a - p->start].in_use;
    return &p->fixed_outside_in_use[outside];
}

/* The in-use flag of user fi's fixed address. */
static bool *fixed_in_use(struct pool *p, int fi)
{
    return in_use_of(p, p->cfg->users[fi].vpn_ip, fi);
}

/* The in-use flag of WireGuard device di's address. */
static bool *device_in_use(struct pool *p, int di)
{
    return in_use_of(p, p->cfg->devices[di].vpn_ip, p->cfg->n_users + di);
}

static void remember(struct pool_entry *e, const char *username,
                     const uint8_t device[DEVICE_ID_LEN])
{
    strncpy(e->last_user, username, USERNAME_MAX);
    e->last_user[USERNAME_MAX] = '\0';
    memcpy(e->last_device, device, DEVICE_ID_LEN);
}

uint32_t pool_acquire(struct pool *p, const char *username, const uint8_t device[DEVICE_ID_LEN])
{
    /* A device with an address of its own has that one or none: its client is configured
     * with it. */
    int di = server_config_device_index(p->cfg, username, device);
    if (di >= 0) {
        bool *used = device_in_use(p, di);
        if (*used)
            return 0;
        *used = true;
        return p->cfg->devices[di].vpn_ip;
    }
    int fi = fixed_index(p, username);
    if (fi >= 0) {
        bool *used = fixed_in_use(p, fi);
        if (!*used) {
            *used = true;
            return p->cfg->users[fi].vpn_ip;
        }
        /* Another device of the user holds it: this one gets a dynamic address. */
    }
    /* The address this device had last, if nobody took it since. */
    for (uint32_t i = 0; i < p->count; i++) {
        struct pool_entry *e = &p->entries[i];
        if (!e->in_use && !e->fixed && strcmp(e->last_user, username) == 0 &&
            memcmp(e->last_device, device, DEVICE_ID_LEN) == 0) {
            e->in_use = true;
            return p->start + i;
        }
    }
    /* Fresh addresses first, then those others had (their owners' stickiness is lost). */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t n = 0; n < p->count; n++) {
            uint32_t i = (p->next + n) % p->count;
            struct pool_entry *e = &p->entries[i];
            if (e->in_use || e->fixed || (pass == 0 && e->last_user[0]))
                continue;
            e->in_use = true;
            remember(e, username, device);
            p->next = (i + 1) % p->count;
            return p->start + i;
        }
    }
    return 0;
}

bool pool_reserve(struct pool *p, uint32_t addr, const char *username,
                  const uint8_t device[DEVICE_ID_LEN])
{
    int di = server_config_device_index(p->cfg, username, device);
    if (di >= 0) {
        bool *used = device_in_use(p, di);
        if (p->cfg->devices[di].vpn_ip != addr || *used)
            return false;
        *used = true;
        return true;
    }
    int fi = fixed_index(p, username);
    bool inside = addr >= p->start && addr - p->start < p->count;
    if (fi >= 0 && p->cfg->users[fi].vpn_ip == addr) {
        bool *used = fixed_in_use(p, fi);
        if (*used)
            return false;
        *used = true;
        if (inside)
            remember(&p->entries[addr - p->start], username, device);
        return true;
    }
    /* A user with a fixed address holds a dynamic one only beside it (a second device);
     * otherwise the session must move to its fixed address. */
    if (fi >= 0 && !*fixed_in_use(p, fi))
        return false;
    if (!inside)
        return false;   /* outside the range, and not this user's fixed address */
    struct pool_entry *e = &p->entries[addr - p->start];
    if (e->in_use || e->fixed)
        return false;
    e->in_use = true;
    remember(e, username, device);
    return true;
}

bool pool_is_fixed_of(const struct pool *p, uint32_t addr, const char *username)
{
    int fi = fixed_index(p, username);
    if (fi >= 0 && p->cfg->users[fi].vpn_ip == addr)
        return true;
    for (int i = 0; i < p->cfg->n_devices; i++)
        if (p->cfg->devices[i].vpn_ip == addr && strcmp(p->cfg->devices[i].user, username) == 0)
            return true;
    return false;
}

void pool_release(struct pool *p, uint32_t addr)
{
    if (addr >= p->start && addr - p->start < p->count) {
        p->entries[addr - p->start].in_use = false;
        return;
    }
    for (int i = 0; i < p->cfg->n_users; i++)
        if (p->cfg->users[i].vpn_ip == addr)
            p->fixed_outside_in_use[i] = false;
    for (int i = 0; i < p->cfg->n_devices; i++)
        if (p->cfg->devices[i].vpn_ip == addr)
            p->fixed_outside_in_use[p->cfg->n_users + i] = false;
}

uint32_t pool_in_use(const struct pool *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->count; i++)
        n += p->entries[i].in_use;
    for (int i = 0; i < p->cfg->n_users + p->cfg->n_devices; i++)
        n += p->fixed_outside_in_use[i];
    return n;
}
