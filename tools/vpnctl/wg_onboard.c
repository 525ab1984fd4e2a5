/* A new WireGuard device and its configuration (see wg_onboard.h). */
#include "wg_onboard.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qr_code.h"
#include "server_link.h"
#include "wg_quick.h"
#include "vpn/atomic_file.h"
#include "vpn/device_address.h"
#include "vpn/device_admin.h"
#include "vpn/netaddr.h"
#include "vpn/server_config.h"
#include "vpn/user_admin.h"

enum {
    /* Two keys, a 255-byte host, 17 networks, 3 resolvers and 64 bytes of search domains
     * come to under 1.5 KB. */
    CONFIG_TEXT_MAX = 4096,
    /* PersistentKeepalive: a phone behind a NAT stays reachable (wg-quick(8)'s usual 25). */
    KEEPALIVE_S = 25,
    LEASED_MAX = MAX_CLIENTS_LIMIT,
};

/* In guarded, locked memory (sodium_malloc), erased by sodium_free. */
struct wg_onboard_secrets {
    uint8_t private_key[KEY_LEN];
    uint8_t preshared_key[KEY_LEN];
    char text[CONFIG_TEXT_MAX];         /* the configuration: it holds both */
    size_t text_len;
};

int wg_onboard_prepare(struct wg_onboard *w, const struct vpnctl_opts *o,
                       struct server_config *cfg, const char *socket_path)
{
    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    w->socket_path = socket_path;
    if (!cfg->wg_enabled) {
        fprintf(stderr, "vpnctl: WireGuard is not enabled in %s: set [wireguard] enabled = "
                        "true there (the server then listens on [wireguard] listen_port, %u) "
                        "before adding WireGuard devices\n", cfg->path,
                (unsigned)cfg->wg_listen_port);
        return 2;
    }
    if (o->name && !device_name_valid(o->name)) {
        fprintf(stderr, "vpnctl: --name: the device name \"%s\" is not " DEVICE_NAME_RULE
                        "\n", o->name);
        return 2;
    }
    if (o->address && parse_ipv4(o->address, &w->address) != 0) {
        fprintf(stderr, "vpnctl: --address: expected a dotted IPv4 address like 10.8.0.31, "
                        "got \"%s\"\n", o->address);
        return 2;
    }
    const char *ep = o->endpoint ? o->endpoint : cfg->public_endpoint;
    uint16_t port = 0;
    if (!ep[0]) {
        fprintf(stderr, "vpnctl: no endpoint for the WireGuard configuration: set [server] "
                        "public_endpoint = HOST in %s (the address or name devices reach this "
                        "server at), or give --endpoint HOST[:PORT]\n", cfg->path);
        return 2;
    }
    if (split_host_port(ep, w->host, sizeof(w->host), &port) != 0) {
        fprintf(stderr, "vpnctl: --endpoint: expected HOST, HOST:PORT or [IPv6]:PORT, got "
                        "\"%s\"\n", ep);
        return 2;
    }
    /* public_endpoint's port is our protocol's; WireGuard has its own listen_port. A port
     * given with --endpoint is taken as it is: a router may forward another one. */
    w->port = o->endpoint && port ? port : cfg->wg_listen_port;
    char why[600];
    if (server_public_key(socket_path, "wireguard_public_key", cfg->wg_private_key_file,
                          w->server_key, why, sizeof(why)) != 0) {
        fprintf(stderr, "vpnctl: no WireGuard public key of the server (%s): the server "
                        "creates %s at its first start with [wireguard] enabled = true; start "
                        "it, then add the device\n", why, cfg->wg_private_key_file);
        return 1;
    }
    return 0;
}

int wg_onboard_refresh(struct wg_onboard *w, const struct user_admin *a, char *why,
                       size_t why_len)
{
    struct config_error err;
    if (access(a->classes_path, F_OK) != 0) {
        /* No classes file (any more): nobody has a fixed address. */
        w->cfg->n_users = w->cfg->n_devices = 0;
        return 0;
    }
    if (server_config_load_classes(a->classes_path, w->cfg, &err) != 0) {
        snprintf(why, why_len, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* The device's address into w->address: --address checked, else picked. */
static int choose_address(struct wg_onboard *w, const struct vpnctl_opts *o, char *why,
                          size_t why_len)
{
    uint32_t *leased = calloc(LEASED_MAX + 1, sizeof(*leased));
    if (!leased) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    int n = server_leased_addresses(w->socket_path, leased, LEASED_MAX);
    uint32_t ip;
    /* user add --ip: the new user's fixed address is in the classes text, not yet in cfg. */
    if (o->ip && parse_ipv4(o->ip, &ip) == 0)
        leased[n++] = ip;
    int rc;
    char what[256];
    if (o->address) {
        rc = device_address_check(w->cfg, w->address, leased, n, what, sizeof(what));
        if (rc)
            snprintf(why, why_len, "--address: %s", what);
    } else {
        rc = device_address_pick(w->cfg, leased, n, &w->address);
        if (rc)
            snprintf(why, why_len, "no address left for a device in the tunnel network: each "
                     "is the server's, someone's fixed address or in use (give --address, or "
                     "widen [server] tun_netmask)");
    }
    free(leased);
    return rc;
}

/* The configuration into w->sec->text. */
static int make_text(struct wg_onboard *w, const struct vpnctl_opts *o, char *why,
                     size_t why_len)
{
    const struct server_config *cfg = w->cfg;
    struct wg_quick q = {
        .private_key = w->sec->private_key,
        .address = w->address,
        .dns = cfg->dns,
        .n_dns = cfg->n_dns,
        .dns_search = cfg->dns_search,
        /* The server's tunnel MTU: what its side of the tunnel carries. */
        .mtu = cfg->mtu,
        .server_public_key = w->server_key,
        .preshared_key = o->psk ? w->sec->preshared_key : NULL,
        .endpoint_host = w->host,
        .endpoint_port = w->port,
        .keepalive_s = KEEPALIVE_S,
    };
    wg_quick_allowed_ips(&q, cfg, o->full_tunnel);
    int len = wg_quick_text(&q, w->sec->text, sizeof(w->sec->text));
    if (len < 0) {
        snprintf(why, why_len, "the configuration is longer than %d bytes", CONFIG_TEXT_MAX);
        return -1;
    }
    w->sec->text_len = (size_t)len;
    return 0;
}

static int write_png(const char *path, const char *text, char *why, size_t why_len)
{
    struct qr_modules m;
    uint8_t *png;
    size_t len;
    if (qr_encode(text, &m) != 0) {
        snprintf(why, why_len, "--png: the configuration does not fit a QR code");
        return -1;
    }
    int rc = qr_png_render(&m, QR_PNG_SCALE, &png, &len);
    qr_release(&m);
    if (rc != 0) {
        snprintf(why, why_len, "--png: cannot make the image (out of memory)");
        return -1;
    }
    rc = atomic_file_write(path, png, len, 0600, why, why_len);
    sodium_memzero(png, len);
    free(png);
    return rc;
}

int wg_onboard_add(struct wg_onboard *w, struct user_admin *a, const struct vpnctl_opts *o,
                   const char *user, char *why, size_t why_len)
{
    uint8_t pub[KEY_LEN];
    snprintf(w->user, sizeof(w->user), "%s", user);
    if (o->name)
        snprintf(w->device, sizeof(w->device), "%s", o->name);
    else
        device_admin_default_name(a, user, w->device);
    if (choose_address(w, o, why, why_len) != 0)
        return -1;

    w->sec = sodium_malloc(sizeof(*w->sec));
    if (!w->sec) {
        snprintf(why, why_len, "out of memory (locked memory for the keys)");
        return -1;
    }
    memset(w->sec, 0, sizeof(*w->sec));
    keyfile_generate(w->sec->private_key);
    if (crypto_scalarmult_base(pub, w->sec->private_key) != 0) {
        /* Cannot happen for a clamped scalar; checked because the API can fail. */
        snprintf(why, why_len, "cannot derive the device's public key");
        return -1;
    }
    if (o->psk)
        randombytes_buf(w->sec->preshared_key, KEY_LEN);
    if (device_admin_add(a, user, w->device, pub, o->psk ? w->sec->preshared_key : NULL,
                         w->address, why, why_len) != 0 ||
        make_text(w, o, why, why_len) != 0)
        return -1;
    /* Before the commit, so that a file that cannot be written changes nothing. */
    if (o->out) {
        if (atomic_file_write(o->out, w->sec->text, w->sec->text_len, 0600, why, why_len))
            return -1;
        w->wrote_out = true;
    }
    if (o->png) {
        if (write_png(o->png, w->sec->text, why, why_len) != 0)
            return -1;
        w->wrote_png = true;
    }
    return 0;
}

/* The QR code on stdout. */
static int show_qr(const char *text)
{
    struct qr_modules m;
    if (qr_encode(text, &m) != 0) {
        fprintf(stderr, "vpnctl: the configuration does not fit a QR code\n");
        return -1;
    }
    size_t cap = qr_terminal_size(&m);
    char *buf = sodium_malloc(cap);
    int rc = -1;
    if (buf) {
        size_t n = qr_terminal_render(&m, buf, cap);
        rc = n && atomic_file_write_fd(STDOUT_FILENO, buf, n) == 0 ? 0 : -1;
        sodium_free(buf);
    }
    qr_release(&m);
    return rc;
}

int wg_onboard_finish(struct wg_onboard *w, const struct vpnctl_opts *o, bool committed)
{
    int status = 0;
    if (!committed) {
        if (w->wrote_out)
            unlink(o->out);
        if (w->wrote_png)
            unlink(o->png);
        wg_onboard_close(w);
        return 0;
    }
    char a[16];
    fprintf(stderr, "vpnctl: WireGuard device %s:%s added with address %s; its private key "
                    "is in this configuration only (the server does not keep it)\n", w->user,
            w->device, format_ipv4(w->address, a));
    /* write(2) rather than stdio: no copy of the key is left in a stdio buffer. */
    if (o->out)
        fprintf(stderr, "vpnctl: configuration written to %s (mode 0600)\n", o->out);
    else if (atomic_file_write_fd(STDOUT_FILENO, w->sec->text, w->sec->text_len) != 0)
        status = 1;
    if (o->png)
        fprintf(stderr, "vpnctl: QR code written to %s (mode 0600)\n", o->png);
    if (!o->no_qr && (o->qr || isatty(STDOUT_FILENO))) {
        fprintf(stderr, "vpnctl: scan this with the WireGuard app (\"+\", then \"Scan from "
                        "QR code\"):\n");
        if ((!o->out && atomic_file_write_fd(STDOUT_FILENO, "\n", 1) != 0) ||
            show_qr(w->sec->text) != 0)
            status = 1;
    }
    if (status)
        fprintf(stderr, "vpnctl: cannot write the configuration to stdout\n");
    wg_onboard_close(w);
    return status;
}

void wg_onboard_close(struct wg_onboard *w)
{
    if (w->sec)
        sodium_free(w->sec);
    w->sec = NULL;
}
