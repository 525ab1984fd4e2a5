/* The client's half of the handshake on responses a server could send: the MTU it pushes must
 * be one the client can carry (MTU_MIN..MTU_MAX), or the response is not accepted. The TUN
 * thread cuts super-packets into slots of MTU_MAX bytes: a larger MTU wrote past them. */
#include "testutil.h"

#include "../../client/handshake_client.h"
#include "../../enclave/handshake_server.h"
#include "../../enclave/users.h"

#include "vectors.inc"

/* A success response of the server for the vectors' request, with this MTU; the client's
 * verdict on it. */
static enum hs_client_verdict with_mtu(uint16_t mtu)
{
    static struct user_table users;
    struct hs_client st;
    struct hs_request r;
    struct hs_config cfg = { .prefix_len = 24, .mtu = mtu, .session_id = 0x1000,
                             .client_ip = 0x0a08000a, .server_ip = 0x0a080001,
                             .keepalive_s = 25 };
    struct hs_config got;
    struct session_keys server_keys, keys;
    uint8_t s_priv[32], s_pub[32], e[32], e_s[32], token[32], req[CONNECT_REQ_LEN], resp[256];
    cr_assert(sodium_init() >= 0);
    unhex(s_priv, 32, V_SERVER_STATIC_PRIVATE);
    unhex(s_pub, 32, V_SERVER_STATIC_PUBLIC);
    unhex(e, 32, V_CLIENT_EPHEMERAL_PRIVATE);
    unhex(e_s, 32, V_SERVER_EPHEMERAL_PRIVATE);
    unhex(token, 32, V_AUTH_TOKEN_HEX);
    users.count = 1;
    strcpy(users.users[0].name, V_USERNAME);
    memcpy(users.users[0].token, token, 32);
    cr_assert(hs_client_request(&st, e, s_pub, V_USERNAME, token, V_CONNECT_REQ_TIMESTAMP, req));
    cr_assert_eq(hs_server_open(s_priv, s_pub, req, sizeof(req), &users, &r), HS_AUTHENTICATED);
    size_t n = hs_server_accept(&r, token, e_s, &cfg, V_CONNECT_REQ_TIMESTAMP + 5, resp,
                                &server_keys);
    cr_assert(n > 0);
    return hs_client_response(&st, resp, n, token, &got, &keys);
}

Test(handshake_client, mtu_the_client_can_carry)
{
    static const struct {
        uint16_t mtu;
        enum hs_client_verdict want;
    } cases[] = {
        { MTU_DEFAULT, HSC_ACCEPTED }, { MTU_MIN, HSC_ACCEPTED }, { MTU_MAX, HSC_ACCEPTED },
        { 0, HSC_INVALID },            { MTU_MIN - 1, HSC_INVALID },
        { MTU_MAX + 1, HSC_INVALID },  { 9000, HSC_INVALID },      { 65535, HSC_INVALID },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_eq(with_mtu(cases[i].mtu), cases[i].want, "mtu %u", cases[i].mtu);
}
