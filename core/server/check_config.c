/* vpn-server --check-config (see check_config.h). */
#include "check_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privileges.h"
#include "vpn/log.h"
#include "vpn/run.h"
#include "vpn/server_config.h"

/* The enclave's part, on our stdin, stdout and stderr, with our environment. */
static int check_secret_files(const struct server_config *cfg, const char *enclave)
{
    char *argv[] = { (char *)"vpn-enclave", (char *)"--check",
                     (char *)"--private-key", (char *)cfg->private_key_file,
                     (char *)"--users", (char *)cfg->users_file, NULL, NULL, NULL };
    if (cfg->wg_enabled) {      /* the WireGuard key, as the start reads it */
        argv[6] = (char *)"--wg-private-key";
        argv[7] = (char *)cfg->wg_private_key_file;
    }
    const struct run_fd fds[] = { { 0, 0 }, { 1, 1 }, { 2, 2 } };
    struct run_child c = { .path = enclave, .argv = argv, .envp = environ, .fds = fds,
                           .n_fds = 3, .say_exec_error = true };
    fflush(stdout);
    pid_t pid = run_start(&c);
    if (pid < 0) {
        log_error("Cannot run %s --check: %s", enclave, strerror((int)-pid));
        return 2;
    }
    int status = run_wait(pid);
    if (status != 0 && status != 2)
        log_error("%s --check failed (status %d)", enclave, status);
    return status == 0 ? 0 : 2;
}

int check_config(const struct server_config *cfg, const char *enclave, const char *why)
{
    int status = 0;
    char msg[1024];
    struct privileges priv;
    /* As root only: anyone else is told by the start itself that it must be root. */
    if (geteuid() == 0 && privileges_resolve(cfg, &priv, msg, sizeof(msg)) != 0) {
        log_error("%s", msg);
        status = 2;
    }
    if (!enclave) {
        log_error("Cannot check the key and users files: %s", why);
        status = 2;
    } else if (check_secret_files(cfg, enclave) != 0) {
        status = 2;
    }
    if (status == 0)
        printf("Configuration OK: %s\n", cfg->path);
    return status;
}
