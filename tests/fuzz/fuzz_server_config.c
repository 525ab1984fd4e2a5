/* Fuzzes server.conf parsing and its cross-key checks (core/lib/server_config.c) through the
 * public entry, server_config_load, which takes a path: the input is written to a file in a
 * private temporary directory. Relative paths in the input resolve there and name nothing;
 * a classes_file
 * given as an absolute path is read if it exists, which is harmless (read-only). */
#include "fuzz_util.h"

#include "vpn/server_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_file f;
    static struct server_config cfg;   /* large: not on the stack */
    struct config_error err;
    fuzz_file_write(&f, data, size);
    err.msg[0] = '\0';
    if (server_config_load(f.path, &cfg, &err) == 0) {
        /* What the rest of the server relies on after a successful load. */
        FUZZ_ASSERT(cfg.tun_prefix >= 1 && cfg.tun_prefix <= 30);
        FUZZ_ASSERT(cfg.pool_start <= cfg.pool_end);
        FUZZ_ASSERT(cfg.n_push_routes >= 0 && cfg.n_push_routes <= MAX_ROUTES);
        FUZZ_ASSERT(cfg.n_classes <= QOS_CLASS_MAX && cfg.n_users <= QOS_USER_MAX);
        FUZZ_ASSERT(cfg.default_rate_bps <= cfg.default_ceil_bps);
        FUZZ_ASSERT(cfg.keepalive_s < cfg.session_timeout_s);
    } else {
        FUZZ_ASSERT(err.msg[0] != '\0');     /* every refusal says why */
    }
    return 0;
}
