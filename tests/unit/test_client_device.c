/* The client's device id (client/device.c): the file drawn once and read back (never all
 * zero, a malformed one refused, not replaced), and when a request carries the id: with the
 * WINDOW flag until the server has answered one, then in every request, back to the first
 * rule after DEVICE_UNANSWERED_MAX unanswered in a row; a cookie reply is no proof. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <sys/stat.h>

#include "testutil.h"
#include "../../client/device.h"

static char dir[PATH_MAX];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    test_tmpdir_make(dir, "test_client_device");
}

static void teardown(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(client_device, .init = setup, .fini = teardown);

Test(client_device, drawn_once_then_kept)
{
    char path[PATH_MAX + 32], why[PATH_MAX + 128];
    uint8_t a[DEVICE_ID_LEN], b[DEVICE_ID_LEN], zero[DEVICE_ID_LEN] = { 0 };
    snprintf(path, sizeof(path), "%s/state/device_id", dir);
    cr_assert_eq(device_id_load(path, a, why, sizeof(why)), 0, "%s", why);
    cr_expect_neq(memcmp(a, zero, sizeof(a)), 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0600);
    cr_assert_eq(device_id_load(path, b, why, sizeof(why)), 0, "%s", why);
    cr_expect_eq(memcmp(a, b, sizeof(a)), 0, "the same id at every start");

    const char *bad[] = { "00000000000000000000000000000000\n", "xyz\n",
                          "0123456789abcdef0123456789abcdef" /* no newline */ };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        test_secret_file(dir, "bad", bad[i], 0600, (uid_t)-1, NULL);
        snprintf(path, sizeof(path), "%s/bad", dir);
        cr_expect_eq(device_id_load(path, b, why, sizeof(why)), -1, "case %zu", i);
        cr_expect(strstr(why, "remove the file"), "%s", why);
    }
}

Test(client_device, when_requests_carry_the_id)
{
    /* A server that knows the extension: first with the WINDOW flag, then always. */
    struct device_policy p = { .has_id = true };
    cr_expect(device_policy_send(&p, true), "first request: with the WINDOW flag");
    device_policy_answered(&p, true);
    cr_expect(device_policy_send(&p, false), "understood: even when the state machine drops "
                                             "the WINDOW flag after a loss");
    cr_expect(device_policy_send(&p, true), "one unanswered (a tampered request)");
    cr_expect(device_policy_send(&p, false), "two");
    device_policy_answered(&p, true);
    /* Replaced by an older server: three unanswered in a row, then with the flag only. */
    for (int i = 0; i < DEVICE_UNANSWERED_MAX; i++)
        cr_expect(device_policy_send(&p, false), "unanswered %d", i);
    cr_expect_not(device_policy_send(&p, false), "back to going with the WINDOW flag");
    cr_expect(device_policy_send(&p, true));

    /* A server older than the extension: the flagged request is dropped, the next one (the
     * state machine's other choice) goes without either and is answered. */
    struct device_policy old = { .has_id = true };
    cr_expect(device_policy_send(&old, true));
    cr_expect_not(device_policy_send(&old, false));
    device_policy_answered(&old, true);
    cr_expect_not(old.understood, "an answer to a request without the id proves nothing");
    cr_expect_not(device_policy_send(&old, false), "reconnects: as the state machine says");
    /* A cookie reply is no proof either. */
    struct device_policy ck = { .has_id = true };
    cr_expect(device_policy_send(&ck, true));
    device_policy_answered(&ck, false);
    cr_expect_not(ck.understood);
    struct device_policy none = { .has_id = false };
    cr_expect_not(device_policy_send(&none, true), "no id, never");
}
