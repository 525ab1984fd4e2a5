/* Fuzzes the server half of the handshake (enclave/handshake_server.c, PROTOCOL.md "Server,
 * in this order") with the vectors' server key and a two-user table.
 *
 * Two passes per input:
 *  1. the input as a datagram (the corpus holds valid CONNECT_REQs for the mutator to bend);
 *  2. the input as the plaintext identity (64 bytes) + timestamp of a request that this
 *     harness seals properly, so that identity_name() and the user lookup see arbitrary
 *     bytes behind a valid AEAD tag, which mutation alone would never produce. */
#include "fuzz_util.h"

#include "../../enclave/handshake_server.h"
#include "../../enclave/users.h"
#include "vpn/proto.h"

static uint8_t s_priv[KEY_LEN], s_pub[KEY_LEN], e_priv[KEY_LEN], token[TOKEN_LEN];
static struct user_table users;

static void setup(void)
{
    if (sodium_init() < 0)
        abort();
    fuzz_unhex(s_priv, KEY_LEN, V_SERVER_STATIC_PRIVATE);
    crypto_scalarmult_base(s_pub, s_priv);
    fuzz_unhex(e_priv, KEY_LEN, V_CLIENT_EPHEMERAL_PRIVATE);
    fuzz_unhex(token, TOKEN_LEN, V_AUTH_TOKEN_HEX);
    users.count = 2;
    strcpy(users.users[0].name, V_USERNAME);
    memcpy(users.users[0].token, token, TOKEN_LEN);
    strcpy(users.users[1].name, "bob");
    memset(users.users[1].token, 0xbb, TOKEN_LEN);
}

/* After an open that did not drop, the worker answers with hs_server_reject or, when
 * authenticated, hs_server_accept: run them too, as the worker would. */
static void answer(const struct hs_request *r, enum hs_verdict v)
{
    uint8_t out[CONNECT_RESP_MAX];
    if (v == HS_DROP)
        return;
    FUZZ_ASSERT(hs_server_reject(r, STATUS_AUTH_FAILED, 0, 1, out) <= CONNECT_RESP_MAX);
    if (v == HS_AUTHENTICATED) {
        struct hs_config c = { .session_id = 1, .route_count = MAX_ROUTES };
        struct session_keys keys;
        uint8_t e_s_priv[KEY_LEN] = { 7 };
        FUZZ_ASSERT(r->user_index >= 0 && r->user_index < users.count);
        FUZZ_ASSERT(hs_server_accept(r, users.users[r->user_index].token, e_s_priv, &c, 1, out,
                                     &keys) <= CONNECT_RESP_MAX);
    }
}

/* Builds a CONNECT_REQ as hs_client_request does, but with any 64 identity bytes. */
static void seal_request(uint8_t req[CONNECT_REQ_LEN], const uint8_t identity[IDENTITY_LEN],
                         uint64_t ts, const uint8_t tok[TOKEN_LEN])
{
    static const uint8_t zero_nonce[NONCE_LEN];
    uint8_t ck1[32], k_id[32], ad[HDR_LEN + KEY_LEN], mac[32];
    uint8_t *payload = req + HDR_LEN;
    memset(req, 0, CONNECT_REQ_LEN);
    proto_hdr_write(req, MSG_CONNECT_REQ, CONNECT_REQ_PAYLOAD, 0, ts);
    crypto_scalarmult_base(payload, e_priv);
    if (!hs_chain_identity(ck1, k_id, e_priv, s_pub, s_pub))
        abort();
    memcpy(ad, req, HDR_LEN + KEY_LEN);
    crypto_aead_chacha20poly1305_ietf_encrypt(payload + REQ_SEALED_OFF, NULL, identity,
                                              IDENTITY_LEN, ad, sizeof(ad), NULL, zero_nonce, k_id);
    hs_auth_mac(mac, ck1, tok, req);
    memcpy(payload + REQ_MAC_OFF, mac, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct hs_request r;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size > 400)
        return 0;

    /* 1: raw datagram, exact-size heap copy */
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    enum hs_verdict v = hs_server_open(s_priv, s_pub, buf, size, &users, &r);
    answer(&r, v);
    hs_request_wipe(&r);
    free(buf);

    /* 2: sealed request around fuzzed identity || ts; token choice from one more byte */
    if (size < IDENTITY_LEN + 9)
        return 0;
    uint8_t req[CONNECT_REQ_LEN];
    bool right_token = data[IDENTITY_LEN + 8] & 1;
    uint8_t wrong[TOKEN_LEN] = { 1 };
    seal_request(req, data, get_be64(data + IDENTITY_LEN), right_token ? token : wrong);
    v = hs_server_open(s_priv, s_pub, req, CONNECT_REQ_LEN, &users, &r);
    FUZZ_ASSERT(v != HS_DROP);     /* a properly sealed request is always opened */
    /* Authenticated exactly when the identity is "alice" zero-padded and the token right. */
    uint8_t alice[IDENTITY_LEN] = V_USERNAME;
    FUZZ_ASSERT((v == HS_AUTHENTICATED) ==
                (right_token && memcmp(data, alice, IDENTITY_LEN) == 0));
    answer(&r, v);
    hs_request_wipe(&r);
    return 0;
}
