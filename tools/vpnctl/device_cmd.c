/* vpnctl device add|list|remove (see device_cmd.h). */
#include "device_cmd.h"

#include <stdio.h>
#include <string.h>

#include "server_link.h"
#include "wg_onboard.h"
#include "vpn/device_admin.h"
#include "vpn/device_name.h"
#include "vpn/json.h"
#include "vpn/netaddr.h"
#include "vpn/server_config.h"
#include "vpn/user_admin.h"

/* The classes file's address of the device, or 0. */
static uint32_t device_address_of(const struct server_config *cfg, const char *user,
                                  const char *device)
{
    uint8_t id[DEVICE_ID_LEN];
    device_id_of_name(device, id);
    int k = server_config_device_index(cfg, user, id);
    return k >= 0 ? cfg->devices[k].vpn_ip : 0;
}

static int device_add(const struct vpnctl_opts *o, struct server_config *cfg,
                      const char *socket_path, const char *user)
{
    if (!o->wireguard) {
        fprintf(stderr, "vpnctl: device add: the devices added by name are WireGuard peers: "
                        "give --wireguard (our own clients register themselves: vpnctl user "
                        "config %s prints their client.conf)\n", user);
        return 2;
    }
    static struct wg_onboard w;
    static struct user_admin a;
    int status = wg_onboard_prepare(&w, o, cfg, socket_path);
    if (status != 0)
        return status;
    char why[1024];
    int rc = user_admin_open(&a, cfg, true, why, sizeof(why));
    if (rc == 0)
        rc = wg_onboard_refresh(&w, &a, why, sizeof(why));
    if (rc == 0)
        rc = wg_onboard_add(&w, &a, o, user, why, sizeof(why));
    if (rc == 0)
        rc = user_admin_commit(&a, why, sizeof(why));
    if (rc != 0) {
        fprintf(stderr, "vpnctl: %s; nothing changed\n", why);
        wg_onboard_finish(&w, o, false);
        user_admin_close(&a);
        return 1;
    }
    /* Still under the lock: the server reloads what this run wrote. */
    status = server_reload(socket_path) ? 1 : 0;
    user_admin_close(&a);
    /* Shown even when the server refused the reload: the device is in the files, and its
     * private key nowhere else. */
    if (wg_onboard_finish(&w, o, true) != 0)
        status = 1;
    return status;
}

static void list_json(const struct user_admin *a, const struct server_config *cfg,
                      const char *user)
{
    char ip[16], key[KEYFILE_B64_LEN + 1];
    int n = 0;
    printf("{\"devices\":[");
    for (int i = 0; i < a->n_devices; i++) {
        const struct user_admin_device *d = &a->devices[i];
        if (user && strcmp(d->user, user) != 0)
            continue;
        uint32_t addr = device_address_of(cfg, d->user, d->name);
        keyfile_encode(d->public_key, key);
        printf("%s{\"user\":", n++ ? "," : "");
        json_write_string(stdout, d->user);
        printf(",\"device\":");
        json_write_string(stdout, d->name);
        printf(",\"protocol\":\"wireguard\",\"vpn_ip\":");
        if (addr)
            json_write_string(stdout, format_ipv4(addr, ip));
        else
            printf("null");
        printf(",\"public_key\":\"%s\",\"preshared_key\":%s}", key,
               d->has_preshared_key ? "true" : "false");
    }
    printf("]}\n");
}

static int device_list(const struct vpnctl_opts *o, const struct server_config *cfg,
                       const char *user)
{
    static struct user_admin a;
    char why[1024];
    int status = 0;
    if (user_admin_open(&a, cfg, false, why, sizeof(why)) != 0) {
        fprintf(stderr, "vpnctl: %s\n", why);
        status = 1;
    } else if (user && !user_admin_find(&a, user)) {
        fprintf(stderr, "vpnctl: no user '%s' in %s\n", user, a.users_path);
        status = 1;
    } else if (o->json) {
        list_json(&a, cfg, user);
    } else {
        char ip[16] = "-", key[KEYFILE_B64_LEN + 1];
        printf("%-20s %-15s %-10s %-15s %-4s %s\n", "USER", "DEVICE", "PROTOCOL", "ADDRESS",
               "PSK", "PUBLIC KEY");
        for (int i = 0; i < a.n_devices; i++) {
            const struct user_admin_device *d = &a.devices[i];
            if (user && strcmp(d->user, user) != 0)
                continue;
            uint32_t addr = device_address_of(cfg, d->user, d->name);
            snprintf(ip, sizeof(ip), "-");
            if (addr)
                format_ipv4(addr, ip);
            keyfile_encode(d->public_key, key);
            printf("%-20s %-15s %-10s %-15s %-4s %s\n", d->user, d->name, "wireguard", ip,
                   d->has_preshared_key ? "yes" : "no", key);
        }
    }
    user_admin_close(&a);
    return status;
}

static int device_remove(const struct server_config *cfg, const char *socket_path,
                         const char *user, const char *device)
{
    static struct user_admin a;
    char why[1024];
    int rc = user_admin_open(&a, cfg, true, why, sizeof(why));
    if (rc == 0)
        rc = device_admin_remove(&a, user, device, why, sizeof(why));
    if (rc == 0)
        rc = user_admin_commit(&a, why, sizeof(why));
    if (rc != 0) {
        fprintf(stderr, "vpnctl: %s; nothing changed\n", why);
        user_admin_close(&a);
        return 1;
    }
    /* Still under the lock: the server reloads what this run wrote (the enclave ends the
     * device's sessions when its key is gone). */
    int status = server_reload(socket_path) ? 1 : 0;
    user_admin_close(&a);
    fprintf(stderr, "vpnctl: device %s:%s removed\n", user, device);
    return status;
}

int device_cmd(const struct vpnctl_opts *o)
{
    const char *verb = o->n_words > 1 ? o->words[1] : "";
    const char *user = o->n_words > 2 ? o->words[2] : NULL;
    bool add = strcmp(verb, "add") == 0, list = strcmp(verb, "list") == 0,
         remove = strcmp(verb, "remove") == 0;
    if (!(add && o->n_words == 3) && !(list && o->n_words <= 3) &&
        !(remove && o->n_words == 4))
        return -1;

    static struct server_config cfg;
    struct config_error err;
    if (server_config_load(o->config, &cfg, &err) != 0) {
        fprintf(stderr, "vpnctl: %s\n", err.msg);
        return 2;
    }
    const char *socket_path = o->socket ? o->socket : cfg.control_socket;
    if (add)
        return device_add(o, &cfg, socket_path, user);
    if (list)
        return device_list(o, &cfg, user);
    return device_remove(&cfg, socket_path, user, o->words[3]);
}
