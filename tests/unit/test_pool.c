/* The address pool: fixed addresses only for their users, a returning user gets its address
 * back, fresh addresses before reused ones, exhaustion, and release. */
#include "testutil.h"

#include "../../core/server/pool.h"
#include "vpn/server_config.h"

static struct server_config cfg;

static void setup(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.tun_ip = 0x0a080001;
    cfg.tun_prefix = 24;
    cfg.pool_start = 0x0a08000a;    /* 10.8.0.10 .. 10.8.0.13 */
    cfg.pool_end = 0x0a08000d;
    cfg.n_users = 2;
    strcpy(cfg.users[0].name, "alice");
    cfg.users[0].vpn_ip = 0x0a08000a;   /* inside the range */
    strcpy(cfg.users[1].name, "vip");
    cfg.users[1].vpn_ip = 0x0a080064;   /* outside the range, inside the network */
}

TestSuite(pool, .init = setup);

Test(pool, fixed_addresses_are_their_users_only)
{
    struct pool p;
    cr_assert_eq(pool_init(&p, &cfg), 0);
    cr_assert_eq(pool_acquire(&p, "alice"), 0x0a08000au);
    cr_assert_eq(pool_acquire(&p, "vip"), 0x0a080064u);
    cr_assert_eq(pool_acquire(&p, "alice"), 0u, "a fixed address in use is not handed twice");
    uint32_t a = pool_acquire(&p, "bob");
    cr_assert(a >= 0x0a08000b && a <= 0x0a08000d, "bob never gets alice's fixed address");
    pool_release(&p, 0x0a080064);
    cr_assert_eq(pool_acquire(&p, "vip"), 0x0a080064u);
    pool_uninit(&p);
}

Test(pool, returning_user_keeps_its_address_and_exhaustion)
{
    struct pool p;
    cr_assert_eq(pool_init(&p, &cfg), 0);
    uint32_t bob = pool_acquire(&p, "bob");
    uint32_t carol = pool_acquire(&p, "carol");
    uint32_t dave = pool_acquire(&p, "dave");
    cr_assert(bob && carol && dave && bob != carol && carol != dave && bob != dave);
    cr_assert_eq(pool_acquire(&p, "eve"), 0u, "three dynamic addresses, all taken");
    cr_assert_eq(pool_in_use(&p), 3u);
    pool_release(&p, bob);
    pool_release(&p, carol);
    cr_assert_eq(pool_acquire(&p, "carol"), carol, "carol comes back to her address");
    cr_assert_eq(pool_acquire(&p, "eve"), bob, "eve gets what is left (bob's old one)");
    cr_assert_eq(pool_acquire(&p, "bob"), 0u);
    pool_uninit(&p);
}
