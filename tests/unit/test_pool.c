/* The address pool: fixed addresses only for their users, a returning device gets its address
 * back, fresh addresses before reused ones, exhaustion, and release; a user's second device
 * gets a dynamic address beside the fixed one, and a reload keeps it only beside it. */
#include "testutil.h"

#include "../../core/server/pool.h"
#include "vpn/device_name.h"
#include "vpn/server_config.h"

static struct server_config cfg;
static const uint8_t D0[DEVICE_ID_LEN];                 /* the implicit device */
static const uint8_t D1[DEVICE_ID_LEN] = { 1 }, D2[DEVICE_ID_LEN] = { 2 };

static void setup(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.tun_ip = 0x0a080001;
    cfg.tun_prefix = 24;
    cfg.pool_start = 0x0a08000a;    /* 10.8.0.10 .. 10.8.0.14 */
    cfg.pool_end = 0x0a08000e;
    cfg.n_users = 2;
    strcpy(cfg.users[0].name, "alice");
    cfg.users[0].vpn_ip = 0x0a08000a;   /* inside the range */
    strcpy(cfg.users[1].name, "vip");
    cfg.users[1].vpn_ip = 0x0a080064;   /* outside the range, inside the network */
    /* WireGuard devices with addresses of their own (docs/WIREGUARD.md) */
    cfg.n_devices = 2;
    strcpy(cfg.devices[0].user, "bob");
    device_id_of_name("phone", cfg.devices[0].id);
    cfg.devices[0].vpn_ip = 0x0a08000d;     /* inside the range */
    strcpy(cfg.devices[1].user, "bob");
    device_id_of_name("laptop", cfg.devices[1].id);
    cfg.devices[1].vpn_ip = 0x0a080065;     /* outside it */
}

TestSuite(pool, .init = setup);

Test(pool, fixed_addresses_are_their_users_only)
{
    struct pool p;
    cr_assert_eq(pool_init(&p, &cfg), 0);
    cr_assert_eq(pool_acquire(&p, "alice", D0), 0x0a08000au);
    cr_assert_eq(pool_acquire(&p, "vip", D0), 0x0a080064u);
    uint32_t again = pool_acquire(&p, "alice", D0);
    cr_assert(again >= 0x0a08000b && again <= 0x0a08000d,
              "a fixed address in use is not handed twice: another device gets a dynamic one");
    uint32_t a = pool_acquire(&p, "bob", D0);
    cr_assert(a >= 0x0a08000b && a <= 0x0a08000d && a != again,
              "bob never gets alice's fixed address");
    pool_release(&p, 0x0a080064);
    cr_assert_eq(pool_acquire(&p, "vip", D0), 0x0a080064u);
    pool_uninit(&p);
}

Test(pool, returning_user_keeps_its_address_and_exhaustion)
{
    struct pool p;
    cr_assert_eq(pool_init(&p, &cfg), 0);
    uint32_t bob = pool_acquire(&p, "bob", D0);
    uint32_t carol = pool_acquire(&p, "carol", D0);
    uint32_t dave = pool_acquire(&p, "dave", D0);
    cr_assert(bob && carol && dave && bob != carol && carol != dave && bob != dave);
    cr_assert_eq(pool_acquire(&p, "eve", D0), 0u, "three dynamic addresses, all taken");
    cr_assert_eq(pool_in_use(&p), 3u);
    pool_release(&p, bob);
    pool_release(&p, carol);
    cr_assert_eq(pool_acquire(&p, "carol", D0), carol, "carol comes back to her address");
    cr_assert_eq(pool_acquire(&p, "eve", D0), bob, "eve gets what is left (bob's old one)");
    cr_assert_eq(pool_acquire(&p, "bob", D0), 0u);
    pool_uninit(&p);
}

Test(pool, devices_of_one_user)
{
    struct pool p;
    cr_assert_eq(pool_init(&p, &cfg), 0);
    cr_assert_eq(pool_acquire(&p, "alice", D1), 0x0a08000au, "the fixed address to the first");
    uint32_t second = pool_acquire(&p, "alice", D2);
    cr_assert(second >= 0x0a08000b && second <= 0x0a08000d, "a dynamic one to the second");
    uint32_t bob1 = pool_acquire(&p, "bob", D1), bob2 = pool_acquire(&p, "bob", D2);
    cr_assert(bob1 && bob2 && bob1 != bob2 && bob1 != second && bob2 != second);
    /* Each device comes back to its own address. */
    pool_release(&p, bob1);
    pool_release(&p, bob2);
    cr_assert_eq(pool_acquire(&p, "bob", D2), bob2);
    cr_assert_eq(pool_acquire(&p, "bob", D1), bob1);
    pool_uninit(&p);

    /* A reload: alice's second device keeps its dynamic address only beside her fixed one. */
    cr_assert_eq(pool_init(&p, &cfg), 0);
    cr_assert_not(pool_reserve(&p, second, "alice", D2), "the fixed one is free: move there");
    cr_assert(pool_is_fixed_of(&p, 0x0a08000a, "alice"));
    cr_assert(pool_reserve(&p, 0x0a08000a, "alice", D1));
    cr_assert(pool_reserve(&p, second, "alice", D2));
    cr_assert_not(pool_reserve(&p, 0x0a080064, "alice", D2), "vip's fixed address, never");
    pool_uninit(&p);
}

Test(pool, wireguard_devices_have_their_own_address_or_none)
{
    struct pool p;
    uint8_t phone[DEVICE_ID_LEN], laptop[DEVICE_ID_LEN];
    device_id_of_name("phone", phone);
    device_id_of_name("laptop", laptop);
    cr_assert_eq(pool_init(&p, &cfg), 0);
    /* Nobody else gets a device's address, even with the pool exhausted. */
    uint32_t got[3];
    for (int i = 0; i < 3; i++) {
        got[i] = pool_acquire(&p, "carol", (const uint8_t[DEVICE_ID_LEN]){ (uint8_t)(i + 1) });
        cr_assert(got[i] >= 0x0a08000b && got[i] <= 0x0a08000e && got[i] != 0x0a08000d);
    }
    cr_assert_eq(pool_acquire(&p, "carol", (const uint8_t[DEVICE_ID_LEN]){ 9 }), 0u);
    cr_assert_eq(pool_acquire(&p, "bob", D0), 0u, "bob's own devices' addresses are theirs");
    cr_assert_eq(pool_acquire(&p, "bob", phone), 0x0a08000du);
    cr_assert_eq(pool_acquire(&p, "bob", laptop), 0x0a080065u);
    cr_assert_eq(pool_acquire(&p, "bob", phone), 0u, "held: the device has no other address");
    cr_assert(pool_is_fixed_of(&p, 0x0a080065, "bob"));
    cr_assert(!pool_is_fixed_of(&p, 0x0a080065, "carol"));
    cr_assert_eq(pool_in_use(&p), 5u);
    pool_release(&p, 0x0a080065);
    pool_release(&p, 0x0a08000d);
    cr_assert_eq(pool_in_use(&p), 3u);
    /* A reload moves the sessions in: a device keeps only its own address. */
    cr_assert(!pool_reserve(&p, got[0], "bob", laptop));
    cr_assert(pool_reserve(&p, 0x0a080065, "bob", laptop));
    cr_assert(!pool_reserve(&p, 0x0a080065, "bob", laptop), "not twice");
    pool_uninit(&p);
}
