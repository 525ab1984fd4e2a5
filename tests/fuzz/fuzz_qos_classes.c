/* Fuzzes the QoS classes file (server_config_load_classes, core/lib/server_config.c) against a
 * fixed server configuration with QoS on (tunnel 10.8.0.0/24, 50 Mbps), as SIGHUP reload
 * does. A refused file must leave the running classes untouched. */
#include "fuzz_util.h"

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
            FUZZ_ASSERT(cfg.users[i].class_index >= 0 && cfg.users[i].class_index < cfg.n_classes);
            sum += cfg.classes[cfg.users[i].class_index].rate_bps;
            FUZZ_ASSERT(server_config_user_ip(&cfg, cfg.users[i].name) == cfg.users[i].vpn_ip);
            FUZZ_ASSERT(username_check(cfg.users[i].name, strlen(cfg.users[i].name)) == NULL);
        }
        FUZZ_ASSERT(sum <= cfg.total_bandwidth_bps);
        for (int i = 0; i < cfg.n_classes; i++)
            FUZZ_ASSERT(cfg.classes[i].rate_bps <= cfg.classes[i].ceil_bps &&
                        cfg.classes[i].major == 1 && cfg.classes[i].minor > 1);
    } else {
        FUZZ_ASSERT(memcmp(&cfg, &base, sizeof(cfg)) == 0);
    }
    return 0;
}
