/* Fuzzes the QoS classes file (server_config_load_classes, core/lib/server_config.c) against a
 * fixed server configuration with QoS on (tunnel 10.8.0.0/24, 50 Mbps), as SIGHUP reload
 * does. A refused file must leave the running classes untouched. */
#include "fuzz_util.h"

#include "vpn/device_name.h"
#include "vpn/server_config.h"
#include "vpn/username.h"

static const char SERVER_CONF[] =
    "[server]\ntun_ip = 10.8.0.1\ntun_netmask = 24\n"
    "[network]\nclient_ip_pool_start = 10.8.0.10\nclient_ip_pool_end = 10.8.0.254\n"
    "[qos]\nenabled = true\ntotal_bandwidth = 50Mbps\ndefault_class = 1:20\n"
    "default_rate = 3Mbps\ndefault_ceil = 6Mbps\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_file f;
    static struct server_config base, cfg;
    struct config_error err;
    if (!base.tun_ip) {
        fuzz_file_write(&f, (const uint8_t *)SERVER_CONF, sizeof(SERVER_CONF) - 1);
        if (server_config_load(f.path, &base, &err) != 0) {
            fprintf(stderr, "base config refused: %s\n", err.msg);
            abort();
        }
    }
    memcpy(&cfg, &base, sizeof(cfg));
    fuzz_file_write(&f, data, size);
    if (server_config_load_classes(f.path, &cfg, &err) == 0) {
        FUZZ_ASSERT(cfg.n_classes >= 0 && cfg.n_classes <= QOS_CLASS_MAX);
        FUZZ_ASSERT(cfg.n_users >= 0 && cfg.n_users <= QOS_USER_MAX);
        uint64_t sum = cfg.default_rate_bps;
        for (int i = 0; i < cfg.n_users; i++) {
            /* -1: no class given, the default class (its rate is default_rate's). */
            FUZZ_ASSERT(cfg.users[i].class_index >= -1 && cfg.users[i].class_index < cfg.n_classes);
            if (cfg.users[i].class_index >= 0)
                sum += cfg.classes[cfg.users[i].class_index].rate_bps;
            FUZZ_ASSERT(server_config_user_ip(&cfg, cfg.users[i].name) == cfg.users[i].vpn_ip);
            FUZZ_ASSERT(username_check(cfg.users[i].name, strlen(cfg.users[i].name)) == NULL);
        }
        FUZZ_ASSERT(sum <= cfg.total_bandwidth_bps);
        for (int i = 0; i < cfg.n_classes; i++)
            FUZZ_ASSERT(cfg.classes[i].rate_bps <= cfg.classes[i].ceil_bps &&
                        cfg.classes[i].major == 1 && cfg.classes[i].minor > 1);
        /* Named devices: each by the rules, found again, its address in the tunnel network
         * (10.8.0.1-254), not the server's and nobody else's. */
        FUZZ_ASSERT(cfg.n_devices >= 0 && cfg.n_devices <= QOS_DEVICE_MAX);
        for (int i = 0; i < cfg.n_devices; i++) {
            const struct qos_device *d = &cfg.devices[i];
            uint32_t a = d->vpn_ip;
            FUZZ_ASSERT(username_check(d->user, strlen(d->user)) == NULL);
            char name[DEVICE_NAME_MAX + 1];
            FUZZ_ASSERT(device_name_of_id(d->id, name));
            FUZZ_ASSERT(server_config_device_index(&cfg, d->user, d->id) == i);
            FUZZ_ASSERT((a >> 8) == 0x0a0800 && (a & 0xff) != 0 && (a & 0xff) != 0xff &&
                        a != cfg.tun_ip);
            for (int j = 0; j < cfg.n_users; j++)
                FUZZ_ASSERT(cfg.users[j].vpn_ip != a);
            for (int j = 0; j < i; j++)
                FUZZ_ASSERT(cfg.devices[j].vpn_ip != a);
        }
    } else {
        FUZZ_ASSERT(memcmp(&cfg, &base, sizeof(cfg)) == 0);
    }
    return 0;
}
