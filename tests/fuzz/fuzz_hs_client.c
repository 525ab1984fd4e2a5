/* Fuzzes what the client parses from the network: hs_client_response on an arbitrary
 * datagram for the vectors' pending request (the corpus holds the vectors' success and
 * failure CONNECT_RESPs), and hs_config_decode on the input as a decrypted config block
 * (which an attacker cannot reach through the AEAD, but a buggy server could send). */
#include "fuzz_util.h"

#include "../../client/handshake_client.h"
#include "vpn/handshake.h"

static struct hs_client st;
static uint8_t token[TOKEN_LEN];

static void setup(void)
{
    uint8_t s_pub[KEY_LEN], e_priv[KEY_LEN], req[CONNECT_REQ_LEN];
    if (sodium_init() < 0)
        abort();
    fuzz_unhex(s_pub, KEY_LEN, V_SERVER_STATIC_PUBLIC);
    fuzz_unhex(e_priv, KEY_LEN, V_CLIENT_EPHEMERAL_PRIVATE);
    fuzz_unhex(token, TOKEN_LEN, V_AUTH_TOKEN_HEX);
    if (!hs_client_request(&st, e_priv, s_pub, V_USERNAME, token, V_CONNECT_REQ_TIMESTAMP, req))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct hs_config c;
    struct session_keys keys;
    if (!ready) {
        setup();
        ready = true;
    }
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);

    enum hs_client_verdict v = hs_client_response(&st, buf, size, token, &c, &keys);
    if (v == HSC_ACCEPTED)
        FUZZ_ASSERT(c.status == STATUS_OK && c.session_id != 0 && c.route_count <= MAX_ROUTES);
    if (v == HSC_REJECTED)
        FUZZ_ASSERT(c.status != STATUS_OK);

    /* A decoded block re-encodes to the same bytes (decode refuses everything else). */
    if (hs_config_decode(buf, size, &c)) {
        uint8_t again[RESP_CONFIG_MAX];
        FUZZ_ASSERT(c.route_count <= MAX_ROUTES);
        FUZZ_ASSERT(hs_config_encode(again, &c) == size && memcmp(again, buf, size) == 0);
    }
    free(buf);
    return 0;
}
