/* vpnctl's command line, as tools/vpnctl.c parses it, for the commands in this folder. */
#ifndef VPNCTL_OPTS_H
#define VPNCTL_OPTS_H

#include <stdbool.h>

struct vpnctl_opts {
    const char *config, *socket;
    const char *class_name, *ip, *endpoint, *out;
    int devices;
    bool json;
    /* WireGuard devices: device add, user add --wireguard */
    bool wireguard, psk, full_tunnel, no_qr, qr;
    const char *name, *address, *png;
    const char *words[4];       /* "user", "add", NAME ... */
    int n_words;
};

#endif
