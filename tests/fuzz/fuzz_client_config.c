/* Fuzzes client.conf parsing (core/lib/client_config.c) through client_config_load, which
 * takes a path: the input is written to a temporary file. On refusal the token must be erased. */
#include "fuzz_util.h"

#include "vpn/client_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_file f;
    static struct client_config cfg;
    static const uint8_t zero[TOKEN_LEN];
    struct config_error err;
    fuzz_file_write(&f, data, size);
    err.msg[0] = '\0';
    if (client_config_load(f.path, &cfg, &err) == 0) {
        size_t n = strlen(cfg.username);
        FUZZ_ASSERT(n >= 1 && n <= USERNAME_MAX && cfg.server_ip[0] && cfg.server_port);
        FUZZ_ASSERT(memchr(cfg.tun_device, '\0', sizeof(cfg.tun_device)));
    } else {
        FUZZ_ASSERT(err.msg[0] != '\0');
        FUZZ_ASSERT(memcmp(cfg.auth_token, zero, TOKEN_LEN) == 0);
    }
    return 0;
}
