/* Fuzzes the enclave's users file (enclave/users.c, users_load), written to a file of mode
 * 0600 as the loader demands. A loaded table has unique, findable names that
 * follow the user name rule (username.h); a
 * refused one is left all zero (it held tokens). */
#include "fuzz_util.h"

#include "../../enclave/users.h"
#include "vpn/username.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_file f;
    static struct user_table t, zero;
    struct config_error err;
    fuzz_file_write(&f, data, size);
    if (users_load(f.path, &t, &err) == 0) {
        FUZZ_ASSERT(t.count >= 0 && t.count <= MAX_USERS);
        for (int i = 0; i < t.count; i++) {
            size_t n = strnlen(t.users[i].name, sizeof(t.users[i].name));
            FUZZ_ASSERT(n >= 1 && n <= USERNAME_MAX);
            FUZZ_ASSERT(username_check(t.users[i].name, n) == NULL);    /* the one rule */
            FUZZ_ASSERT(users_find(&t, t.users[i].name) == i);
        }
    } else {
        FUZZ_ASSERT(memcmp(&t, &zero, sizeof(t)) == 0);
    }
    return 0;
}
