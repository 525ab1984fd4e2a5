/* Fuzzes client.conf parsing (core/lib/client_config.c) through client_config_load, which
 * takes a path: the input is written to a temporary file. On refusal the token must be erased. */
#include "fuzz_util.h"

#include "vpn/client_config.h"
#include "vpn/username.h"

static char path[64];

static void remove_file(void)
{
    unlink(path);
}

static void write_input(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        snprintf(path, sizeof(path), "/tmp/fuzz_client_config.XXXXXX");
        fd = mkstemp(path);
        if (fd < 0 || fchmod(fd, 0600) != 0)
            abort();
        atexit(remove_file);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct client_config cfg;
    static const uint8_t zero[TOKEN_LEN];
    struct config_error err;
    write_input(data, size);
    err.msg[0] = '\0';
    if (client_config_load(path, &cfg, &err) == 0) {
        size_t n = strlen(cfg.username);
        FUZZ_ASSERT(n >= 1 && n <= USERNAME_MAX && cfg.server_ip[0] && cfg.server_port);
        FUZZ_ASSERT(username_check(cfg.username, n) == NULL);
        FUZZ_ASSERT(memchr(cfg.tun_device, '\0', sizeof(cfg.tun_device)));
        FUZZ_ASSERT(cfg.n_allowed_routes >= 0 && cfg.n_allowed_routes <= ALLOWED_ROUTES_MAX);
        FUZZ_ASSERT(cfg.user[0] && memchr(cfg.user, '\0', sizeof(cfg.user)));
    } else {
        FUZZ_ASSERT(err.msg[0] != '\0');
        FUZZ_ASSERT(memcmp(cfg.auth_token, zero, TOKEN_LEN) == 0);
    }
    return 0;
}
