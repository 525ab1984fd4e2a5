/* vpn-server configuration: server.conf plus the QoS classes file it names (REQUIREMENTS.md
 * section 2 and 6). Loaded by the main process; the secrets files it names (private key,
 * users) are only paths here: the enclave alone opens them. */
#ifndef VPN_SERVER_CONFIG_H
#define VPN_SERVER_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "vpn/ini.h"
#include "vpn/ini_schema.h"
#include "vpn/limits.h"
#include "vpn/netaddr.h"

enum { QOS_CLASS_MAX = 64, QOS_USER_MAX = MAX_USERS, NAME_MAX_LEN = 64, QOS_DEVICE_MAX = 1024 };

/* The two system users (tools/create-users.sh creates both): the main process runs as
 * SERVER_USER_DEFAULT after set-up unless [security] user names another, and the enclave's
 * processes as ENCLAVE_USER, which the main process may never share. The control socket sits
 * in a directory the server creates for its user, so that it can remove the socket at exit. */
#define SERVER_USER_DEFAULT "vpnse"
#define ENCLAVE_USER "vpnse-enclave"
#define CONTROL_SOCKET_DEFAULT "/run/vpnse/server.sock"

struct qos_class {
    char name[NAME_MAX_LEN];    /* from "[class:NAME]" */
    uint16_t major, minor;      /* classid "1:10" -> 1, 0x10: tc reads the minor as hex */
    uint64_t rate_bps;
    uint64_t ceil_bps;
    int priority;               /* 0..7, tc's prio: lower is served first */
    /* Data quota of each of its users (usage.c): quota_bytes per quota_period (QUOTA_NONE:
     * none); at it, the user is moved to over_quota_class, or refused when that is -1. */
    uint64_t quota_bytes;
    int quota_period;           /* enum quota_period (units.h) */
    int over_quota_class;       /* index into server_config.classes, or -1 */
    int max_devices;            /* devices of one user of the class online at once; 0: unset */
};

/* A user's settings for the main process (the classes file's [user:NAME]); every key is
 * optional. The user's token lives in the users file, which only the enclave reads. */
struct qos_user {
    char name[NAME_MAX_LEN];    /* from "[user:NAME]" */
    uint32_t vpn_ip;            /* host order; the fixed address of the user's first device
                                   online, never anyone else's; 0: none */
    int class_index;            /* index into server_config.classes, or -1 (default class) */
    /* Its own quota, over the class's (QUOTA_NONE: the class's), and over_quota_class
     * (-1: the class's); expires_at: Unix time the account stops working (0: never), the end
     * of the day its "expires" names, UTC. */
    uint64_t quota_bytes;
    int quota_period;
    int over_quota_class;
    int64_t expires_at;
    int max_devices;            /* 0: the class's, else [security] max_devices */
};

/* A WireGuard device's address (the classes file's [device:USER:DEVICE]; docs/WIREGUARD.md):
 * fixed, since its client has it in its own configuration (WireGuard pushes nothing). */
struct qos_device {
    char user[USERNAME_MAX + 1];
    uint8_t id[DEVICE_ID_LEN];      /* device_id_of_name (device_name.h) */
    uint32_t vpn_ip;                /* host order */
};

struct server_config {
    char path[PATH_MAX];            /* server.conf itself; relative paths below resolve
                                       against its directory */
    char dir[PATH_MAX];             /* that directory, absolute, with a trailing '/' */
    /* [server] */
    uint16_t listen_port;           /* listen_port, default 51820 */
    char listen_address[64];        /* default "::" (dual-stack) */
    char tun_device[IFNAMSIZ];      /* default "tun0" */
    uint32_t tun_ip;                /* tun_ip, host order, required */
    uint8_t tun_prefix;             /* tun_netmask, prefix length 1..30, default 24 */
    uint16_t mtu;                   /* default MTU_DEFAULT */
    char public_endpoint[300];      /* "host[:port]" clients reach us at (vpnctl's bundles);
                                       "" when unset. The server itself never uses it. */

    /* [network] */
    uint32_t pool_start, pool_end;  /* client_ip_pool_start/_end, inside the tunnel network,
                                       not the server's own address, start <= end */
    struct ipv4_net push_routes[MAX_ROUTES];    /* push_routes = a/p, b/q (comma-separated) */
    int n_push_routes;
    char nat_interface[IFNAMSIZ];   /* "" when NAT is off */
    uint32_t dns[DNS_SERVERS_MAX];  /* dns = a, b: resolvers pushed to clients that ask */
    int n_dns;
    char dns_search[DNS_SEARCH_MAX + 1];    /* dns_search, as on the wire: "a b"; "" none */

    /* [qos] */
    bool qos_enabled;
    uint64_t total_bandwidth_bps;
    uint16_t default_major, default_minor;  /* default_class, default "1:20"... see config */
    uint64_t default_rate_bps, default_ceil_bps;
    char classes_file[PATH_MAX];    /* resolved path, "" when none */
    struct qos_class classes[QOS_CLASS_MAX];
    int n_classes;
    struct qos_user users[QOS_USER_MAX];
    int n_users;
    struct qos_device devices[QOS_DEVICE_MAX];
    int n_devices;

    /* [security] */
    int max_clients;                /* 1..MAX_CLIENTS_LIMIT, default 200 */
    int max_devices;                /* per user, 1..USER_DEVICES_MAX, default 4 */
    uint32_t session_timeout_s;     /* idle timeout, default 3600 */
    char private_key_file[PATH_MAX];/* resolved; default "server.key" beside server.conf */
    char users_file[PATH_MAX];      /* resolved; default "users.conf" beside server.conf */
    char control_socket[PATH_MAX];  /* default CONTROL_SOCKET_DEFAULT */
    char user[64];                  /* user to switch to after set-up, default
                                       SERVER_USER_DEFAULT; "root" keeps uid 0 (opt-out),
                                       never ENCLAVE_USER */
    uint32_t replay_window_ms;      /* default 5000 */
    uint32_t keepalive_s;           /* default 25 */
    uint32_t rekey_interval_s;      /* default 600 */
    bool enclave_socket_given;      /* brief's key: accepted, ignored with a notice */

    /* [usage] */
    char usage_db[PATH_MAX];        /* database: "" = no usage kept (nor quotas enforced) */
    uint32_t usage_flush_s;         /* flush_interval, default 60 */
    uint32_t usage_keep_days;       /* retention_days, default 400 */

    /* [hooks] */
    char hook_on_connect[512];      /* a command for /bin/sh -c, "" = none */
    char hook_on_disconnect[512];
    uint32_t hook_timeout_s;        /* default 10 */

    /* [logging] */
    int log_level;                  /* LOG_* from log.h, default INFO */
    char log_file[PATH_MAX];        /* "" = stderr; used for -d */

    /* [metrics]: read by vpn-metrics (tools/metrics), except the socket's group */
    char metrics_listen[64];        /* "ADDRESS:PORT", "" = off (the default) */
    struct sockaddr_in6 metrics_addr;   /* metrics_listen parsed (IPv4 as v4-mapped) */
    char control_socket_group[64];  /* "" = the control socket is root's alone (0600);
                                       else mode 0660 and this group's */

    /* [wireguard]: a second listener speaking the WireGuard protocol (docs/WIREGUARD.md) */
    bool wg_enabled;                /* enabled, default false */
    uint16_t wg_listen_port;        /* listen_port, default 51821, not [server]'s */
    char wg_private_key_file[PATH_MAX]; /* resolved; default "wireguard.key" beside
                                       server.conf; read by the enclave only */
};

/* Fills *cfg with defaults, then reads path and the classes file it names, then checks the
 * whole (pool inside the tunnel network, fixed addresses inside it and unique, QoS sums, ...).
 * Returns 0, or -1 with one message naming file, line and key in *err. */
int server_config_load(const char *path, struct server_config *cfg, struct config_error *err)
    __attribute__((warn_unused_result));

/* Reads only a QoS classes file into cfg->classes/users (used by load and by SIGHUP reload).
 * Checks against the rest of cfg as load does. Returns 0 or -1 with *err. */
int server_config_load_classes(const char *path, struct server_config *cfg,
                               struct config_error *err) __attribute__((warn_unused_result));

/* The key tables of server.conf and of the classes file (ini_schema.h), for the README
 * check (tests/unit/test_readme_keys.c). */
extern const struct ini_schema server_config_schema;
extern const struct ini_schema qos_classes_schema;

/* Fixed address of a user from the classes file, or 0 when none. */
uint32_t server_config_user_ip(const struct server_config *cfg, const char *username);

/* The classes file: [qos] classes_file, else qos_classes.conf beside server.conf (where the
 * server looks for it, and where vpnctl creates it when a user gets a class or an address).
 * Returns 0, or -1 when the path does not fit len. */
int server_config_classes_path(const struct server_config *cfg, char *out, size_t len);

/* Index of username in cfg->users, or -1. */
int server_config_user_index(const struct server_config *cfg, const char *username);

/* How many devices username may have online at once: its own max_devices, else its class's,
 * else [security] max_devices. */
/* Index of user's device id in cfg->devices, or -1. */
int server_config_device_index(const struct server_config *cfg, const char *username,
                               const uint8_t id[DEVICE_ID_LEN]);

int server_config_max_devices(const struct server_config *cfg, const char *username);

#endif
