/* vpn-client configuration (the brief's client.conf plus what the product needs). */
#ifndef VPN_CLIENT_CONFIG_H
#define VPN_CLIENT_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vpn/ini.h"
#include "vpn/ini_schema.h"
#include "vpn/limits.h"
#include "vpn/netaddr.h"

/* Networks in [network] allowed_routes: as many as a server may push. */
enum { ALLOWED_ROUTES_MAX = MAX_ROUTES };

/* The routing table of the pushed routes unless [network] route_table says otherwise
 * (README, "Full tunnel and DNS"): not wg-quick's 51820, so that both can run side by side. */
#define ROUTE_TABLE_DEFAULT "51830"

struct client_config {
    char path[PATH_MAX];
    /* [client] */
    char server_ip[256];            /* IPv4/IPv6 literal or host name, required */
    uint16_t server_port;           /* default 51820 */
    char username[USERNAME_MAX + 1];/* required, 1..63 bytes */
    uint8_t auth_token[TOKEN_LEN];  /* auth_token, 64 hex characters, required */
    bool have_server_key;
    uint8_t server_public_key[KEY_LEN]; /* base64, optional: pinned on first use when absent */
    char known_servers_file[PATH_MAX];  /* default /var/lib/vpn-client/known_servers */
    char device_file[PATH_MAX];     /* this machine's device id (extension 5), default
                                       /var/lib/vpn-client/device_id; created on first use */
    char control_socket[PATH_MAX];  /* default /run/vpn-client.sock (status/disconnect) */
    char user[64];                  /* default "nobody": who the client runs as after set-up */
    uid_t uid;                      /* user, looked up when the file is loaded */
    gid_t gid;
    char state_dir[PATH_MAX];       /* default /var/lib/vpn-client: resolv.conf's backup */
    /* [network] */
    char tun_device[IFNAMSIZ];      /* default "tun0" */
    bool pull_routes;               /* default true: install the routes the server pushes */
    struct ipv4_net allowed_routes[ALLOWED_ROUTES_MAX]; /* if any: only what of the pushed */
    int n_allowed_routes;                               /* routes lies inside these */
    bool pull_dns;                  /* default true: use the resolvers the server pushes */
    bool kill_switch;               /* default false: nothing leaves but through the tunnel */
    uint32_t route_table;           /* default ROUTE_TABLE_DEFAULT: the pushed routes' table */
    /* [logging] */
    int log_level;
    char log_file[PATH_MAX];
};

/* Defaults, then the file. The file holds the token, so it is refused unless it is a regular
 * file (not a symbolic link: opened with O_NOFOLLOW), owned by root or the effective uid, and
 * neither readable nor writable by group or others. Returns 0 or -1 with *err naming file,
 * line and key (line 0 for the file as a whole). */
int client_config_load(const char *path, struct client_config *cfg, struct config_error *err)
    __attribute__((warn_unused_result));

/* The key tables of client.conf (ini_schema.h), for the README check
 * (tests/unit/test_readme_keys.c). */
extern const struct ini_schema client_config_schema;

#endif
