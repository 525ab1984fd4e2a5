/* A new WireGuard device's address (core/lib/device_address.c): --address refused when it is
 * outside the tunnel network, its network or broadcast address, the server's, a user's or a
 * device's fixed address, or held by a session now; a picked one is the lowest free address
 * outside the pool, and inside the pool (not a leased one) only when the rest is taken. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "vpn/device_address.h"
#include "vpn/device_name.h"
#include "vpn/server_config.h"

static struct server_config cfg;
static char why[256];

/* 10.8.0.0/28 (hosts .1-.14), server .1, pool .4-.10: outside it .2, .3, .11-.14. */
static void setup(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.tun_ip = 0x0a080001;
    cfg.tun_prefix = 28;
    cfg.pool_start = 0x0a080004;
    cfg.pool_end = 0x0a08000a;
    cfg.n_users = 1;
    snprintf(cfg.users[0].name, sizeof(cfg.users[0].name), "alice");
    cfg.users[0].vpn_ip = 0x0a080002;
    cfg.n_devices = 1;
    snprintf(cfg.devices[0].user, sizeof(cfg.devices[0].user), "bob");
    device_id_of_name("phone", cfg.devices[0].id);
    cfg.devices[0].vpn_ip = 0x0a08000b;
}

TestSuite(device_address, .init = setup);

Test(device_address, check_refuses_with_reasons)
{
    static const uint32_t leased[] = { 0x0a080005 };
    static const struct { uint32_t addr; const char *want; } cases[] = {
        { 0x0a090003, "10.9.0.3 is outside the tunnel network 10.8.0.0/28" },
        { 0x0a080000, "network address" },
        { 0x0a08000f, "broadcast address" },
        { 0x0a080001, "the server's own tun_ip" },
        { 0x0a080002, "already the address of [user:alice]" },
        { 0x0a08000b, "already the address of [device:bob:phone]" },
        { 0x0a080005, "held by a session" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_expect_eq(device_address_check(&cfg, cases[i].addr, leased, 1, why, sizeof(why)),
                     -1, "case %zu", i);
        cr_expect(strstr(why, cases[i].want), "case %zu: \"%s\"", i, why);
    }
    cr_expect_eq(device_address_check(&cfg, 0x0a080003, leased, 1, why, sizeof(why)), 0);
    cr_expect_eq(device_address_check(&cfg, 0x0a080006, leased, 1, why, sizeof(why)), 0,
                 "inside the pool but free: the operator's choice");
}

Test(device_address, pick_outside_the_pool_first)
{
    static const uint32_t leased[] = { 0x0a080004, 0x0a080006 };
    uint32_t a, want[] = { 0x0a080003, 0x0a08000c, 0x0a08000d, 0x0a08000e,
                           /* then the pool, leased addresses skipped */
                           0x0a080005, 0x0a080007, 0x0a080008, 0x0a080009, 0x0a08000a };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        cr_assert_eq(device_address_pick(&cfg, leased, 2, &a), 0, "step %zu", i);
        cr_expect_eq(a, want[i], "step %zu: got %08x", i, a);
        /* Taken from now on, as the classes file would have it. */
        cfg.devices[cfg.n_devices++].vpn_ip = a;
    }
    cr_expect_eq(device_address_pick(&cfg, leased, 2, &a), -1, "none left");
}

Test(device_address, pool_covering_everything)
{
    cfg.pool_start = 0x0a080002;
    cfg.pool_end = 0x0a08000e;
    cfg.users[0].vpn_ip = 0;
    cfg.n_devices = 0;
    static const uint32_t leased[] = { 0x0a080002, 0x0a080003 };
    uint32_t a;
    cr_assert_eq(device_address_pick(&cfg, leased, 2, &a), 0);
    cr_expect_eq(a, 0x0a080004, "the lowest not handed out: got %08x", a);
}
