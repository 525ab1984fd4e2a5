/* WireGuard's handshake (responder) and transport, byte for byte against vectors computed
 * independently in Python from the whitepaper (tests/unit/gen_wg_vectors.py ->
 * vectors_wg.inc), and the refusals: a wrong mac1, a static or timestamp that does not open, a
 * low-order ephemeral, a tampered transport message. */
#include "testutil.h"

#include "../../enclave/wg_noise.h"
#include "../../enclave/wg_transport.h"
#include "vpn/wg_blake2s.h"

#include "vectors_wg.inc"

static struct wg_identity id;
static uint8_t init_msg[WG_INIT_LEN];

static void setup(void)
{
    uint8_t priv[WG_KEY_LEN];
    cr_assert_eq(wg_blake2s_init(), 0);
    unhex(priv, sizeof(priv), WGV_SERVER_PRIV);
    cr_assert(wg_identity_init(&id, priv));
    cr_assert_eq(unhex(init_msg, sizeof(init_msg), WGV_INITIATION), WG_INIT_LEN);
}

/* mac1 recomputed after a change to the message, so that the check behind it is reached. */
static void fix_mac1(uint8_t *msg)
{
    cr_assert(wg_mac(msg + WG_INIT_MAC1, id.mac1_key, WG_HASH_LEN, msg, WG_INIT_MAC1));
}

TestSuite(wg_noise, .init = setup);

Test(wg_noise, identity_and_mac1_key)
{
    assert_hex(id.pub, WG_KEY_LEN, WGV_SERVER_PUB, "public key");
    assert_hex(id.mac1_key, WG_HASH_LEN, WGV_MAC1_KEY, "mac1 key");
    cr_assert(wg_noise_mac1_ok(&id, init_msg));
}

Test(wg_noise, consumes_the_initiation)
{
    struct wg_initiation in;
    cr_assert_eq(wg_noise_consume_initiation(&id, init_msg, &in), WG_INIT_OK);
    cr_assert_eq(in.sender, WGV_INIT_SENDER);
    assert_hex(in.peer_static, WG_KEY_LEN, WGV_PEER_PUB, "initiator's static key");
    assert_hex(in.timestamp, WG_TAI64N_LEN, WGV_TIMESTAMP, "timestamp");
    wg_initiation_wipe(&in);
}

static void check_response(const char *psk_hex, const char *resp_hex, const char *send_hex,
                           const char *recv_hex)
{
    struct wg_initiation in;
    struct wg_keypair keys;
    uint8_t psk[WG_KEY_LEN] = { 0 }, e_priv[WG_KEY_LEN], resp[WG_RESP_LEN];
    if (psk_hex)
        unhex(psk, sizeof(psk), psk_hex);
    unhex(e_priv, sizeof(e_priv), WGV_SERVER_EPH_PRIV);
    cr_assert_eq(wg_noise_consume_initiation(&id, init_msg, &in), WG_INIT_OK);
    cr_assert(wg_noise_create_response(&in, psk, e_priv, WGV_RESP_SENDER, resp, &keys));
    assert_hex(resp, WG_RESP_LEN, resp_hex, "response");
    assert_hex(keys.send, WG_KEY_LEN, send_hex, "send key");
    assert_hex(keys.recv, WG_KEY_LEN, recv_hex, "receive key");
    uint8_t zero[sizeof(in)] = { 0 };
    cr_assert(memcmp(&in, zero, sizeof(in)) == 0, "handshake state wiped");
}

Test(wg_noise, response_with_preshared_key)
{
    check_response(WGV_PSK, WGV_RESPONSE_PSK, WGV_SEND_PSK, WGV_RECV_PSK);
}

Test(wg_noise, response_without_preshared_key)
{
    check_response(NULL, WGV_RESPONSE_NOPSK, WGV_SEND_NOPSK, WGV_RECV_NOPSK);
}

Test(wg_noise, refuses_a_wrong_mac1_before_any_dh)
{
    struct wg_initiation in;
    init_msg[WG_INIT_MAC1] ^= 1;
    cr_assert_eq(wg_noise_consume_initiation(&id, init_msg, &in), WG_INIT_BAD_MAC1);
    init_msg[WG_INIT_MAC1] ^= 1;
    init_msg[WG_INIT_SENDER] ^= 1;  /* anything under mac1 */
    cr_assert_eq(wg_noise_consume_initiation(&id, init_msg, &in), WG_INIT_BAD_MAC1);
}

Test(wg_noise, refuses_an_initiation_for_another_server)
{
    struct wg_identity other;
    struct wg_initiation in;
    uint8_t priv[WG_KEY_LEN];
    unhex(priv, sizeof(priv), WGV_SERVER_EPH_PRIV);
    cr_assert(wg_identity_init(&other, priv));
    cr_assert_eq(wg_noise_consume_initiation(&other, init_msg, &in), WG_INIT_BAD_MAC1);
    /* Even with a mac1 made for it, the static does not open under another key. */
    cr_assert(wg_mac(init_msg + WG_INIT_MAC1, other.mac1_key, WG_HASH_LEN, init_msg,
                     WG_INIT_MAC1));
    cr_assert_eq(wg_noise_consume_initiation(&other, init_msg, &in), WG_INIT_BAD_AEAD);
}

Test(wg_noise, refuses_tampered_static_and_timestamp)
{
    static const size_t at[] = { WG_INIT_STATIC, WG_INIT_STATIC + 47, WG_INIT_TIMESTAMP,
                                 WG_INIT_TIMESTAMP + 27, WG_INIT_EPHEMERAL + 5 };
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        struct wg_initiation in;
        uint8_t msg[WG_INIT_LEN];
        memcpy(msg, init_msg, sizeof(msg));
        msg[at[i]] ^= 0x80;
        fix_mac1(msg);
        cr_assert_eq(wg_noise_consume_initiation(&id, msg, &in), WG_INIT_BAD_AEAD,
                     "byte %zu", at[i]);
    }
}

Test(wg_noise, refuses_a_low_order_ephemeral)
{
    struct wg_initiation in;
    memset(init_msg + WG_INIT_EPHEMERAL, 0, WG_KEY_LEN);   /* the point of order 1... */
    fix_mac1(init_msg);
    cr_assert_eq(wg_noise_consume_initiation(&id, init_msg, &in), WG_INIT_BAD_DH);
}

Test(wg_noise, tai64n_order)
{
    uint8_t a[WG_TAI64N_LEN], b[WG_TAI64N_LEN];
    unhex(a, sizeof(a), WGV_TIMESTAMP);
    memcpy(b, a, sizeof(b));
    cr_assert_not(wg_tai64n_after(a, b), "equal is not after (a replay)");
    b[11] = 1;      /* a nanosecond later (below the whitened bits, still later) */
    cr_assert(wg_tai64n_after(b, a));
    cr_assert_not(wg_tai64n_after(a, b));
    b[11] = 0;
    b[7]--;         /* a second earlier with more nanoseconds */
    b[8] = 0xff;
    cr_assert(wg_tai64n_after(a, b));
}

Test(wg_noise, opens_the_peers_data_and_keepalive)
{
    uint8_t key[WG_KEY_LEN], msg[128], pt[128], ping[64];
    unhex(key, sizeof(key), WGV_RECV_PSK);
    size_t n = unhex(msg, sizeof(msg), WGV_DATA_IN);
    size_t ping_len = unhex(ping, sizeof(ping), WGV_PING);
    cr_assert_eq(wg_classify(msg, (unsigned)n), WG_MSG_TRANSPORT);
    cr_assert_eq(wg_get_le32(msg + WG_DATA_RECEIVER), WGV_RESP_SENDER);
    cr_assert_eq(wg_get_le64(msg + WG_DATA_COUNTER), 7);
    cr_assert_eq(n, WG_DATA_HEADER_LEN + 32 + WG_TAG_LEN, "28 bytes padded to 32");
    cr_assert(wg_transport_open(pt, msg, msg + WG_DATA_HEADER_LEN, n - WG_DATA_HEADER_LEN, key));
    cr_assert(memcmp(pt, ping, ping_len) == 0);
    msg[20] ^= 1;
    cr_assert_not(wg_transport_open(pt, msg, msg + WG_DATA_HEADER_LEN, n - WG_DATA_HEADER_LEN,
                                    key));
    msg[20] ^= 1;
    msg[WG_DATA_COUNTER] ^= 1;      /* the counter is the nonce */
    cr_assert_not(wg_transport_open(pt, msg, msg + WG_DATA_HEADER_LEN, n - WG_DATA_HEADER_LEN,
                                    key));
    n = unhex(msg, sizeof(msg), WGV_KEEPALIVE_IN);
    cr_assert_eq(n, WG_DATA_MIN_LEN);
    cr_assert(wg_transport_open(pt, msg, msg + WG_DATA_HEADER_LEN, WG_TAG_LEN, key));
}

Test(wg_noise, seals_a_full_mtu_packet)
{
    uint8_t key[WG_KEY_LEN], big[1420], out[1500];
    unhex(key, sizeof(key), WGV_SEND_PSK);
    cr_assert_eq(unhex(big, sizeof(big), WGV_BIG), sizeof(big));
    size_t n = wg_transport_seal(out, WGV_INIT_SENDER, 0, key, big, sizeof(big), 1420);
    assert_hex(out, n, WGV_DATA_OUT, "sealed packet");
}

Test(wg_noise, padding_never_beyond_the_mtu)
{
    cr_assert_eq(wg_transport_sealed_len(0, 1420), WG_DATA_MIN_LEN);
    cr_assert_eq(wg_transport_sealed_len(1, 1420), WG_DATA_MIN_LEN + 16);
    cr_assert_eq(wg_transport_sealed_len(1409, 1420), WG_DATA_MIN_LEN + 1420);
    cr_assert_eq(wg_transport_sealed_len(1416, 1420), WG_DATA_MIN_LEN + 1420);
    cr_assert_eq(wg_transport_sealed_len(1500, 1420), WG_DATA_MIN_LEN + 1500);
}

Test(wg_noise, classifies_by_type_and_size)
{
    uint8_t d[WG_INIT_LEN] = { WG_MSG_INITIATION };
    cr_assert_eq(wg_classify(d, WG_INIT_LEN), WG_MSG_INITIATION);
    cr_assert_eq(wg_classify(d, WG_INIT_LEN - 1), 0);
    d[0] = WG_MSG_RESPONSE;
    cr_assert_eq(wg_classify(d, WG_RESP_LEN), WG_MSG_RESPONSE);
    d[0] = WG_MSG_COOKIE_REPLY;
    cr_assert_eq(wg_classify(d, WG_COOKIE_REPLY_LEN), WG_MSG_COOKIE_REPLY);
    d[0] = WG_MSG_TRANSPORT;
    cr_assert_eq(wg_classify(d, WG_DATA_MIN_LEN), WG_MSG_TRANSPORT);
    cr_assert_eq(wg_classify(d, WG_DATA_MIN_LEN - 1), 0);
    d[2] = 1;       /* reserved bytes must be zero */
    cr_assert_eq(wg_classify(d, WG_DATA_MIN_LEN), 0);
    d[2] = 0;
    d[0] = 5;
    cr_assert_eq(wg_classify(d, WG_DATA_MIN_LEN), 0);
}
