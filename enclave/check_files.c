/* vpn-enclave --check (see check_files.h). */
#include "check_files.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

#include "users.h"
#include "wg_peers.h"
#include "vpn/keyfile.h"
#include "vpn/limits.h"
#include "vpn/log.h"

static int check_key(const char *path, const char *what)
{
    if (access(path, F_OK) != 0 && errno == ENOENT) {
        printf("%s: no %s yet; the first start creates it\n", path, what);
        return 0;
    }
    uint8_t priv[KEY_LEN], pub[KEY_LEN];
    char err[512];
    if (keyfile_read(path, priv, err, sizeof(err)) != 0) {
        log_error("Configuration error: %s", err);
        return 2;
    }
    /* libsodium refuses a scalar whose public key would be all zeroes. */
    int rc = crypto_scalarmult_base(pub, priv);
    sodium_memzero(priv, sizeof(priv));
    if (rc != 0) {
        log_error("Configuration error: %s: not a usable X25519 private key", path);
        return 2;
    }
    char b64[KEYFILE_B64_LEN + 1];
    keyfile_encode(pub, b64);
    printf("%s: %s, public key %s\n", path, what, b64);
    return 0;
}

static int check_users(const char *path)
{
    /* The tokens in guarded, locked memory, wiped when freed, as in a running enclave. */
    struct user_table *t = sodium_malloc(sizeof(*t));
    struct wg_peer_list *peers = sodium_malloc(sizeof(*peers));
    struct config_error err;
    int status = 0;
    if (!t || !peers) {
        log_error("Out of memory reading %s", path);
        status = 2;
    } else if (users_load_all(path, t, peers, &err) != 0) {
        log_error("Configuration error: %s", err.msg);
        status = 2;
    } else {
        printf("%s: %d user%s, %d WireGuard peer%s\n", path, t->count,
               t->count == 1 ? "" : "s", peers->count, peers->count == 1 ? "" : "s");
    }
    sodium_free(t);
    sodium_free(peers);
    return status;
}

int check_files(const char *key_path, const char *wg_key_path, const char *users_path)
{
    int key = check_key(key_path, "server key");
    int wg_key = wg_key_path ? check_key(wg_key_path, "WireGuard key") : 0;
    int users = check_users(users_path);
    fflush(stdout);
    return key ? key : wg_key ? wg_key : users;
}
