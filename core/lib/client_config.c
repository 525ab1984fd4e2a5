/* client.conf (see client_config.h; REQUIREMENTS.md section 5). The file holds the user's
 * token, so no message here ever quotes the auth_token value, and the caller should erase the
 * structure with sodium_memzero once the token has been handed on. */
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
#include <sys/un.h>
#include <unistd.h>

#include "vpn/hex.h"
#include "vpn/keyfile.h"
#include "vpn/log.h"
#include "vpn/netaddr.h"
#include "vpn/units.h"
#include "vpn/username.h"

enum client_key {
    K_SERVER_IP,
    K_SERVER_PORT,
    K_USERNAME,
    K_AUTH_TOKEN,
    K_SERVER_PUBLIC_KEY,
    K_KNOWN_SERVERS_FILE,
    K_CONTROL_SOCKET,
    K_USER,
    K_TUN_DEVICE,
    K_PULL_ROUTES,
    K_ACCEPT_ROUTES,
    K_LOG_LEVEL,
    K_LOG_FILE,
    N_CLIENT_KEYS
};

static const struct {
    const char *section, *key;
    bool required;
} keys[N_CLIENT_KEYS] = {
    [K_SERVER_IP] = { "client", "server_ip", true },
    [K_SERVER_PORT] = { "client", "server_port", false },
    [K_USERNAME] = { "client", "username", true },
    [K_AUTH_TOKEN] = { "client", "auth_token", true },
    [K_SERVER_PUBLIC_KEY] = { "client", "server_public_key", false },
    [K_KNOWN_SERVERS_FILE] = { "client", "known_servers_file", false },
    [K_CONTROL_SOCKET] = { "client", "control_socket", false },
    [K_USER] = { "client", "user", false },
    [K_TUN_DEVICE] = { "network", "tun_device", false },
    [K_PULL_ROUTES] = { "network", "pull_routes", false },
    [K_ACCEPT_ROUTES] = { "network", "accept_routes", false },
    [K_LOG_LEVEL] = { "logging", "level", false },
    [K_LOG_FILE] = { "logging", "file", false },
};

static const char *const sections[] = { "client", "network", "logging" };
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

struct load_ctx {
    struct client_config *cfg;
    char dir[PATH_MAX];             /* client.conf's directory with a trailing '/', or "" */
    int key_line[N_CLIENT_KEYS];
    int section_line[N_SECTIONS];
};

/* Host name or address literal: checked only for what would break a message or a command
 * line; the resolver judges the rest when the client connects. */
static bool server_ip_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 255)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* The account the client switches to after set-up. Looked up now, so that a typo is reported
 * with its line before anything is set up, not after the TUN exists. */
static int set_user(struct client_config *cfg, const char *file, int line, const char *name,
                    struct config_error *err)
{
    size_t n = strlen(name);
    bool printable = n > 0 && n < sizeof(cfg->user);
    for (const char *p = name; printable && *p; p++)
        printable = (unsigned char)*p > 0x20 && *p != 0x7f;
    struct passwd *pw = printable ? getpwnam(name) : NULL;
    if (!pw) {
        config_errorf(err, file, line, "client", "user",
                      line ? "expected the name of a user of this system, got \"%.64s\""
                           : "the default user \"%.64s\" does not exist here; set user = NAME "
                             "(or user = root to keep root)", name);
        return -1;
    }
    snprintf(cfg->user, sizeof(cfg->user), "%s", name);
    cfg->uid = pw->pw_uid;
    cfg->gid = pw->pw_gid;
    return 0;
}

static int resolve_path(const char *dir, const char *value, char *out, size_t len)
{
    int n;
    if (value[0] == '/' || value[0] == '\0')
        n = snprintf(out, len, "%s", value);
    else
        n = snprintf(out, len, "%s%s", dir, value);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int set_value(struct load_ctx *c, enum client_key k, const char *file, int line,
                     const char *v, struct config_error *err)
{
    struct client_config *cfg = c->cfg;
    const char *sec = keys[k].section, *key = keys[k].key;
    uint64_t n;

    if (*v == '\0' && k != K_LOG_FILE) {
        config_errorf(err, file, line, sec, key, k == K_SERVER_PUBLIC_KEY ?
                      "empty value; remove the line to pin the server's key on first use" :
                      k == K_ACCEPT_ROUTES ?
                      "empty value; remove the line to accept any pushed route, or set "
                      "pull_routes = false to install none" : "empty value");
        return -1;
    }

    switch (k) {
    case K_SERVER_IP:
        if (!server_ip_valid(v)) {
            config_errorf(err, file, line, sec, key,
                          "expected an IP address or host name of at most 255 characters "
                          "without blanks, got \"%.64s\"", v);
            return -1;
        }
        snprintf(cfg->server_ip, sizeof(cfg->server_ip), "%s", v);
        return 0;
    case K_SERVER_PORT:
        if (parse_uint(v, 1, 65535, &n) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a port from 1 to 65535, got \"%.64s\"", v);
            return -1;
        }
        cfg->server_port = (uint16_t)n;
        return 0;
    case K_USERNAME: {
        const char *why = username_check(v, strlen(v));
        if (why) {
            config_errorf(err, file, line, sec, key, "the name %s; expected " USERNAME_RULE,
                          why);
            return -1;
        }
        snprintf(cfg->username, sizeof(cfg->username), "%s", v);
        return 0;
    }
    case K_AUTH_TOKEN:
        /* Never quote the value: it is the user's credential. */
        if (hex_decode(v, cfg->auth_token, TOKEN_LEN) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected 64 hex characters (the SHA-256 of \"username:password\", "
                          "see vpn-token)");
            return -1;
        }
        return 0;
    case K_SERVER_PUBLIC_KEY:
        if (keyfile_decode(v, cfg->server_public_key) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a base64 key of 44 characters as vpn-keygen or wg pubkey "
                          "print it, got \"%.64s\"", v);
            return -1;
        }
        cfg->have_server_key = true;
        return 0;
    case K_KNOWN_SERVERS_FILE:
    case K_CONTROL_SOCKET:
    case K_LOG_FILE: {
        char *dst = k == K_KNOWN_SERVERS_FILE ? cfg->known_servers_file :
                    k == K_CONTROL_SOCKET ? cfg->control_socket : cfg->log_file;
        if (resolve_path(c->dir, v, dst, PATH_MAX) < 0) {
            config_errorf(err, file, line, sec, key, "path longer than %d bytes", PATH_MAX - 1);
            return -1;
        }
        if (k == K_CONTROL_SOCKET && strlen(dst) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            config_errorf(err, file, line, sec, key,
                          "socket path \"%.64s\" longer than %zu bytes, the limit of a Unix "
                          "socket", dst, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return -1;
        }
        return 0;
    }
    case K_USER:
        return set_user(cfg, file, line, v, err);
    case K_PULL_ROUTES:
        if (parse_bool(v, &cfg->pull_routes) < 0) {
            config_errorf(err, file, line, sec, key, "expected true or false, got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case K_ACCEPT_ROUTES: {
        char bad[64];
        int count = parse_ipv4_net_list(v, cfg->accept_routes, ACCEPT_ROUTES_MAX, bad,
                                        sizeof(bad));
        if (count == -2) {
            config_errorf(err, file, line, sec, key, "at most %d networks", ACCEPT_ROUTES_MAX);
            return -1;
        }
        if (count < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected a comma-separated list of networks like 192.168.100.0/24 "
                          "(host bits zero), got \"%.64s\"", bad);
            return -1;
        }
        cfg->n_accept_routes = count;
        return 0;
    }
    case K_TUN_DEVICE:
        if (!ifname_valid(v)) {
            config_errorf(err, file, line, sec, key,
                          "expected an interface name of 1 to %d characters from "
                          "[A-Za-z0-9_.-], got \"%.64s\"", IFNAMSIZ - 1, v);
            return -1;
        }
        snprintf(cfg->tun_device, sizeof(cfg->tun_device), "%s", v);
        return 0;
    case K_LOG_LEVEL:
        if (parse_log_level(v, &cfg->log_level) < 0) {
            config_errorf(err, file, line, sec, key,
                          "expected DEBUG, INFO, WARN or ERROR, got \"%.64s\"", v);
            return -1;
        }
        return 0;
    case N_CLIENT_KEYS:
        break;
    }
    return 0;
}

static int on_entry(void *arg, const char *file, int line, const char *section, const char *key,
                    const char *value, struct config_error *err)
{
    struct load_ctx *c = arg;

    if (!key) {
        for (unsigned i = 0; i < N_SECTIONS; i++) {
            if (strcmp(section, sections[i]) != 0)
                continue;
            if (c->section_line[i]) {
                config_errorf(err, file, line, section, NULL,
                              "section repeated (first at line %d)", c->section_line[i]);
                return -1;
            }
            c->section_line[i] = line;
            return 0;
        }
        config_errorf(err, file, line, section, NULL,
                      "unknown section; expected [client], [network] or [logging]");
        return -1;
    }
    if (!*section) {
        config_errorf(err, file, line, NULL, key, "key outside any [section]");
        return -1;
    }
    for (int k = 0; k < N_CLIENT_KEYS; k++) {
        if (strcmp(section, keys[k].section) != 0 || strcmp(key, keys[k].key) != 0)
            continue;
        if (c->key_line[k]) {
            config_errorf(err, file, line, section, key, "duplicate key (first at line %d)",
                          c->key_line[k]);
            return -1;
        }
        c->key_line[k] = line;
        return set_value(c, (enum client_key)k, file, line, value, err);
    }
    config_errorf(err, file, line, section, key, "unknown key");
    return -1;
}

/* As for server.conf: relative paths resolve against the file's directory, made absolute. */
static void base_dir(const char *path, char *dir, size_t len)
{
    char given[PATH_MAX];
    char real[PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(given, sizeof(given), ".");
    else if (slash == path)
        snprintf(given, sizeof(given), "/");
    else
        snprintf(given, sizeof(given), "%.*s", (int)(slash - path), path);

    const char *d = realpath(given, real) ? real : given;
    if (strcmp(d, "/") == 0)
        snprintf(dir, len, "/");
    else if (snprintf(dir, len, "%s/", d) >= (int)len)
        dir[0] = '\0';
}

/* client.conf holds the user's token: like ssh with a private key, refuse a file that others
 * could read (the token leaks) or write (they choose the server, the routes, the user we run
 * as), and a symbolic link (whoever controls the link chooses the file). O_NOFOLLOW covers
 * the last path component only; the directories above are the administrator's. Returns the
 * open descriptor, or -1 with *err. */
static int open_private(const char *path, struct config_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP)
            config_errorf(err, path, 0, NULL, NULL,
                          "is a symbolic link; the file holds auth_token, so give the path of "
                          "the file itself (mode 0600)");
        else
            config_errorf(err, path, 0, NULL, NULL, "cannot read file: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        config_errorf(err, path, 0, NULL, NULL, "cannot read file: %s", strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        config_errorf(err, path, 0, NULL, NULL, "cannot read file: not a regular file");
        goto fail;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        config_errorf(err, path, 0, NULL, NULL,
                      "is owned by uid %u, neither root nor us (uid %u); the file holds "
                      "auth_token: chown it, then chmod 600 %s",
                      (unsigned)st.st_uid, (unsigned)geteuid(), path);
        goto fail;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        config_errorf(err, path, 0, NULL, NULL,
                      "is %s by group or others (mode %04o); the file holds auth_token: "
                      "chmod 600 %s",
                      st.st_mode & (S_IRGRP | S_IROTH) ? "readable" :
                      st.st_mode & (S_IWGRP | S_IWOTH) ? "writable" : "usable",
                      (unsigned)(st.st_mode & 07777), path);
        goto fail;
    }
    /* Back to blocking reads for ini_parse_fd (a regular file never blocks anyway). */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
fail:
    close(fd);
    return -1;
}

int client_config_load(const char *path, struct client_config *cfg, struct config_error *err)
{
    struct load_ctx c;

    memset(&c, 0, sizeof(c));
    memset(cfg, 0, sizeof(*cfg));
    c.cfg = cfg;
    base_dir(path, c.dir, sizeof(c.dir));
    cfg->server_port = 51820;
    snprintf(cfg->known_servers_file, sizeof(cfg->known_servers_file),
             "/var/lib/vpn-client/known_servers");
    snprintf(cfg->control_socket, sizeof(cfg->control_socket), "/run/vpn-client.sock");
    snprintf(cfg->tun_device, sizeof(cfg->tun_device), "tun0");
    cfg->pull_routes = true;
    cfg->log_level = LOG_INFO;
    if ((size_t)snprintf(cfg->path, sizeof(cfg->path), "%s", path) >= sizeof(cfg->path)) {
        config_errorf(err, path, 0, NULL, NULL, "path too long");
        return -1;
    }

    int fd = open_private(path, err);
    if (fd < 0)
        goto fail;
    int rc = ini_parse_fd(fd, path, on_entry, &c, err);
    close(fd);
    if (rc)
        goto fail;
    if (!c.key_line[K_USER] && set_user(cfg, path, 0, "nobody", err) < 0)
        goto fail;
    for (int k = 0; k < N_CLIENT_KEYS; k++) {
        if (keys[k].required && !c.key_line[k]) {
            int sec = 0;
            while (strcmp(sections[sec], keys[k].section) != 0)
                sec++;
            config_errorf(err, path, c.section_line[sec], keys[k].section, keys[k].key,
                          "required key is missing");
            goto fail;
        }
    }
    return 0;

fail:
    sodium_memzero(cfg->auth_token, sizeof(cfg->auth_token));
    return -1;
}
