/* client.conf (see client_config.h; REQUIREMENTS.md section 5). The file holds the user's
 * token, so no message here ever quotes the auth_token value, and the caller should erase the
 * structure with sodium_memzero once the token has been handed on. */
#include "vpn/secret_file.h"
#include "vpn/client_config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpn/ini_schema.h"
#include "vpn/username.h"

/* [client] server_ip: a host name or address literal, checked only for what would break a
 * message or a command line; the resolver judges the rest when the client connects. */
static int set_server_ip(const struct ini_at *at, void *dst, const char *v,
                         struct config_error *err)
{
    size_t n = strlen(v);
    bool ok = n >= 1 && n <= 255 && n < at->key->size;
    for (const char *p = v; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && *p != 0x7f;
    if (!ok) {
        ini_schema_errorf(err, at, "expected an IP address or host name of at most 255 "
                          "characters without blanks, got \"%.64s\"", v);
        return -1;
    }
    memcpy(dst, v, n + 1);
    return 0;
}

/* [client] username: the rule of every door (username.h). */
static int set_username(const struct ini_at *at, void *dst, const char *v,
                        struct config_error *err)
{
    const char *why = username_check(v, strlen(v));
    if (why) {
        ini_schema_errorf(err, at, "the name %s; expected " USERNAME_RULE, why);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* [client] user: the account the client switches to after set-up. Looked up now, so that a
 * typo is reported with its line before anything is set up, not after the TUN exists. */
static int set_user(const struct ini_at *at, void *dst, const char *name,
                    struct config_error *err)
{
    struct client_config *cfg = at->obj;
    size_t n = strlen(name);
    bool printable = n > 0 && n < sizeof(cfg->user);
    for (const char *p = name; printable && *p; p++)
        printable = (unsigned char)*p > 0x20 && *p != 0x7f;
    struct passwd *pw = printable ? getpwnam(name) : NULL;
    if (!pw) {
        if (at->line)
            ini_schema_errorf(err, at, "expected the name of a user of this system, got "
                              "\"%.64s\"", name);
        else
            ini_schema_errorf(err, at, "the default user \"%.64s\" does not exist here; set "
                              "user = NAME (or user = root to keep root)", name);
        return -1;
    }
    memcpy(dst, name, n + 1);
    cfg->uid = pw->pw_uid;
    cfg->gid = pw->pw_gid;
    return 0;
}

/* A key stored in struct client_config. */
#define KEY(n, t, f)                                                                         \
    .name = n, .type = t, .off = offsetof(struct client_config, f),                          \
    .size = sizeof(((struct client_config *)0)->f)

static const struct key_spec client_keys[] = {
    { KEY("server_ip", KEY_CUSTOM, server_ip), .flags = KEY_REQUIRED, .set = set_server_ip },
    { KEY("server_port", KEY_UINT, server_port), .min = 1, .max = 65535, .def = "51820",
      .expected = "a port from 1 to 65535" },
    { KEY("username", KEY_CUSTOM, username), .flags = KEY_REQUIRED, .set = set_username },
    /* a secret: the engine never quotes it */
    { KEY("auth_token", KEY_TOKEN, auth_token), .flags = KEY_REQUIRED },
    /* absent: pinned on first use (have_server_key says which) */
    { KEY("server_public_key", KEY_KEY, server_public_key),
      .if_empty = "remove the line to pin the server's key on first use" },
    { KEY("known_servers_file", KEY_PATH, known_servers_file),
      .def = "/var/lib/vpn-client/known_servers" },
    { KEY("device_file", KEY_PATH, device_file), .def = "/var/lib/vpn-client/device_id" },
    { KEY("control_socket", KEY_SOCKET_PATH, control_socket), .def = "/run/vpn-client.sock" },
    { KEY("user", KEY_CUSTOM, user), .set = set_user, .def = "nobody" },
    { KEY("state_dir", KEY_PATH, state_dir), .def = "/var/lib/vpn-client" },
};

static const struct key_spec network_keys[] = {
    { KEY("tun_device", KEY_IFNAME, tun_device), .def = "tun0" },
    { KEY("pull_routes", KEY_BOOL, pull_routes), .def = "true" },
    { KEY("allowed_routes", KEY_CIDR_LIST, allowed_routes),
      .aux = offsetof(struct client_config, n_allowed_routes), .max = ALLOWED_ROUTES_MAX,
      .if_empty = "remove the line to accept any pushed route, or set pull_routes = false to "
                  "install none" },
    /* allowed_routes' name before its parts-of-a-route rule (client/push_policy.h); the
     * same list, so a file that still says accept_routes keeps working */
    { KEY("accept_routes", KEY_CIDR_LIST, allowed_routes),
      .aux = offsetof(struct client_config, n_allowed_routes), .max = ALLOWED_ROUTES_MAX,
      .if_empty = "remove the line to accept any pushed route, or set pull_routes = false to "
                  "install none" },
    { KEY("pull_dns", KEY_BOOL, pull_dns), .def = "true" },
    { KEY("kill_switch", KEY_BOOL, kill_switch), .def = "false" },
    /* not 0 (unspec), 253 (default), 254 (main) or 255 (local): the kernel's own */
    { KEY("route_table", KEY_UINT, route_table), .min = 256, .max = 2147483647,
      .def = ROUTE_TABLE_DEFAULT, .expected = "a routing table number from 256 to 2147483647 "
      "(not the kernel's main, local or default)" },
};

static const struct key_spec logging_keys[] = {
    { KEY("level", KEY_LOG_LEVEL, log_level), .def = "INFO" },
    { KEY("file", KEY_PATH, log_file), .flags = KEY_EMPTY_OK },    /* none: stderr */
};

#define SECTION(n, k) { .name = n, .keys = k, .n_keys = sizeof(k) / sizeof(k[0]) }
static const struct section_spec client_sections[] = {
    SECTION("client", client_keys),
    SECTION("network", network_keys),
    SECTION("logging", logging_keys),
};

const struct ini_schema client_config_schema = {
    .sections = client_sections,
    .n_sections = sizeof(client_sections) / sizeof(client_sections[0]),
};

/* client.conf holds the user's token: like ssh with a private key, refuse a file that others
 * could read (the token leaks) or write (they choose the server, the routes, the user we run
 * as), and a symbolic link (whoever controls the link chooses the file). O_NOFOLLOW covers
 * the last path component only; the directories above are the administrator's. Returns the
 * open descriptor, or -1 with *err. */
static int open_private(const char *path, struct config_error *err)
{
    char why[400];
    int fd = secret_file_open(path, "auth_token", why, sizeof(why));
    if (fd < 0)
        config_errorf(err, path, 0, NULL, NULL, "%s", why);
    return fd;
}

int client_config_load(const char *path, struct client_config *cfg, struct config_error *err)
{
    struct ini_schema_state st;

    memset(cfg, 0, sizeof(*cfg));
    if ((size_t)snprintf(cfg->path, sizeof(cfg->path), "%s", path) >= sizeof(cfg->path)) {
        config_errorf(err, path, 0, NULL, NULL, "path too long");
        return -1;
    }

    int fd = open_private(path, err);
    if (fd < 0)
        goto fail;
    int rc = ini_schema_load_fd(&client_config_schema, fd, path, cfg, NULL, &st, err);
    close(fd);
    if (rc)
        goto fail;
    cfg->have_server_key = ini_schema_line(&st, "client", "server_public_key") != 0;
    int old_name = ini_schema_line(&st, "network", "accept_routes");
    if (old_name && ini_schema_line(&st, "network", "allowed_routes")) {
        config_errorf(err, path, old_name, "network", "accept_routes",
                      "allowed_routes is given too; accept_routes is its older name: keep one");
        goto fail;
    }
    return 0;

fail:
    sodium_memzero(cfg->auth_token, sizeof(cfg->auth_token));
    return -1;
}
