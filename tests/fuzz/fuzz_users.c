/* Fuzzes the enclave's users file (enclave/users.c, users_load_all), written to a file of mode
 * 0600 as the loader demands. A loaded table has unique, findable names that
 * follow the user name rule (username.h), and WireGuard peers (wg_peers.h) each of a user in
 * the table, named by the device name rule, with a key no other peer has; a
 * refused one is left all zero (it held tokens and preshared keys). */
#include "fuzz_util.h"

#include "../../enclave/users.h"
#include "../../enclave/wg_peers.h"
#include "vpn/device_name.h"
#include "vpn/username.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_file f;
    static struct user_table t, zero;
    static struct wg_peer_list peers;
    struct config_error err;
    fuzz_file_write(&f, data, size);
    if (users_load_all(f.path, &t, &peers, &err) == 0) {
        FUZZ_ASSERT(t.count >= 0 && t.count <= MAX_USERS);
        for (int i = 0; i < t.count; i++) {
            size_t n = strnlen(t.users[i].name, sizeof(t.users[i].name));
            FUZZ_ASSERT(n >= 1 && n <= USERNAME_MAX);
            FUZZ_ASSERT(username_check(t.users[i].name, n) == NULL);    /* the one rule */
            FUZZ_ASSERT(users_find(&t, t.users[i].name) == i);
        }
        FUZZ_ASSERT(peers.count >= 0 && peers.count <= WG_PEERS_MAX);
        for (int i = 0; i < peers.count; i++) {
            const struct wg_peer_def *d = &peers.defs[i];
            size_t n = strnlen((const char *)d->device_id, DEVICE_ID_LEN);
            FUZZ_ASSERT(users_find(&t, d->user) >= 0);
            FUZZ_ASSERT(n < DEVICE_ID_LEN && device_name_check((const char *)d->device_id, n) == NULL);
            for (int j = 0; j < i; j++)
                FUZZ_ASSERT(memcmp(d->public_key, peers.defs[j].public_key, WG_KEY_LEN) != 0);
        }
    } else {
        FUZZ_ASSERT(memcmp(&t, &zero, sizeof(t)) == 0);
        FUZZ_ASSERT(peers.count == 0);
    }
    return 0;
}
