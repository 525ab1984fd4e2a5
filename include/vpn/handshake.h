/* Handshake computations of PROTOCOL.md shared by both ends. The server half (which touches
 * S_priv and the users' tokens) is enclave/handshake_server.c; the client half is
 * client/handshake_client.c. These helpers hold no state and erase what they derive when
 * asked to (callers own their buffers). */
#ifndef VPN_HANDSHAKE_H
#define VPN_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

struct session_keys {
    uint8_t k_resp[KEY_LEN];
    uint8_t k_c2s[KEY_LEN];
    uint8_t k_s2c[KEY_LEN];
};

/* The CONNECT_RESP config block (PROTOCOL.md), decoded. Addresses in host order. */
struct hs_config {
    uint8_t status;
    uint8_t prefix_len;             /* a success's; offset 1 of a failure is the refusal's */
    uint8_t refusal;                /* a failure's enum refusal_reason (extension 6), else 0 */
    uint16_t mtu;
    uint32_t session_id;
    uint32_t client_ip;
    uint32_t server_ip;
    uint16_t keepalive_s;
    uint8_t route_count;
    uint32_t idle_timeout_s;
    uint32_t rekey_s;
    /* Offset 28: the server's replay_window_ms when the request carried extension 1's WINDOW
     * flag, else zero (docs/PROTOCOL.md, "Replay window in the response"). */
    uint32_t replay_window_ms;
    struct { uint32_t net; uint8_t prefix; } routes[MAX_ROUTES];
    /* Extension 4 (docs/PROTOCOL.md): the DNS block after the routes, present only in the
     * answer to a request with REQ_FLAG_DNS (dns_block says whether it is there). */
    bool dns_block;
    uint8_t dns_count;                      /* 0..DNS_SERVERS_MAX */
    uint32_t dns[DNS_SERVERS_MAX];          /* host order */
    char dns_search[DNS_SEARCH_MAX + 1];    /* "" or a list as vpn/dns.h says */
};

/* ck1 = HKDF-Extract(H("vpnse/1" || S_pub), es); k_id = Expand(ck1, "vpnse/1 identity").
 * Returns false when es (X25519 of the two given keys) is all zero. */
bool hs_chain_identity(uint8_t ck1[32], uint8_t k_id[32], const uint8_t priv[KEY_LEN],
                       const uint8_t peer_pub[KEY_LEN], const uint8_t s_pub[KEY_LEN]);

/* auth_mac = HMAC(HKDF-Expand(HKDF-Extract(ck1, T), "vpnse/1 auth"), req[0 .. 16+224]), with
 * the 16 bytes of mac2 (extension 3) taken as zero. */
void hs_auth_mac(uint8_t mac[32], const uint8_t ck1[32], const uint8_t token[TOKEN_LEN],
                 const uint8_t *req);

/* ee = X25519(priv, peer_pub); ck2 = Extract(ck1, ee || T); the three session keys.
 * Returns false when ee is all zero. */
bool hs_session_keys(struct session_keys *keys, const uint8_t ck1[32],
                     const uint8_t priv[KEY_LEN], const uint8_t peer_pub[KEY_LEN],
                     const uint8_t token[TOKEN_LEN]);

/* Config block: encode into out (RESP_CONFIG_BASE + 5 * route_count bytes, plus the DNS
 * block when dns_block is set; returns that length) and decode (returns false on a bad
 * route_count, length mismatch or non-zero reserved bytes; a DNS block is refused). */
size_t hs_config_encode(uint8_t *out, const struct hs_config *c);
bool hs_config_decode(const uint8_t *in, size_t len, struct hs_config *c);
/* The same for the answer to a request with these extension 1 flags: with REQ_FLAG_WINDOW,
 * offset 28 may hold a replay window (REPLAY_WINDOW_MS_MIN..MAX; anything else is refused);
 * without it, it must be zero as in hs_config_decode. With REQ_FLAG_DNS the DNS block must
 * follow the routes (at most DNS_SERVERS_MAX resolvers, a search list as vpn/dns.h says or
 * none; the resolvers' addresses are the caller's to judge), without it there must be none. */
bool hs_config_decode_flags(const uint8_t *in, size_t len, uint8_t req_flags,
                            struct hs_config *c);

/* A config block as the main process hands it to the enclave for a success: with the DNS
 * block (extension 4) when the server has DNS settings, without it otherwise, never with a
 * replay window (the enclave writes that itself). The enclave decides what the client gets.
 * Returns false when it is neither form. */
bool hs_config_decode_from_main(const uint8_t *in, size_t len, struct hs_config *c);

/* Extension 1 (docs/PROTOCOL.md): mac1_key = BLAKE2b-256("vpnse/1 mac1" || S_pub);
 * mac1 = BLAKE2b-128 keyed with it over header || payload[0 .. REQ_MAC1_OFF). */
void hs_mac1_key(uint8_t key[32], const uint8_t s_pub[KEY_LEN]);
void hs_mac1(uint8_t mac[REQ_MACX_LEN], const uint8_t key[32], const uint8_t *req);

/* Associated data of sealed_identity: header || E_c_pub, and for an extended request the
 * 16-byte extension header too. Returns its length. */
size_t hs_identity_ad(uint8_t ad[HDR_LEN + KEY_LEN + REQ_EXT_LEN], const uint8_t *req, bool ext);

/* Extension 5 (docs/PROTOCOL.md, "Device identity"): sealed_device = AEAD(k_id, nonce 0...02,
 * ad = the identity's associated data (header || E_c_pub || ext_hdr), device id). seal writes
 * the REQ_DEVICE_SEALED_LEN bytes at req's REQ_DEVICE_OFF, whose header, E_c_pub and ext_hdr
 * must already be in place; open reads them back, false when they do not open. */
void hs_device_seal(uint8_t *req, const uint8_t k_id[32], const uint8_t id[DEVICE_ID_LEN]);
bool hs_device_open(uint8_t id[DEVICE_ID_LEN], const uint8_t k_id[32], const uint8_t *req);

/* Builds a failure CONNECT_RESP to an extended request: header, 32 zero bytes, nonce, and
 * the config with only `status` and `refusal` (offset 1, extension 6) set, sealed with k_id under that nonce, ad = header || 32 zero
 * bytes || nonce || auth_mac. The nonce must be fresh for every response (random): a failure
 * never reuses (k_id, nonce) for different content. Returns CONNECT_FAIL_EXT_LEN. */
size_t hs_build_failure_ext(uint8_t *out, uint64_t ts, const uint8_t k_id[32],
                            const uint8_t auth_mac[32], const uint8_t nonce[NONCE_LEN],
                            uint8_t status, uint8_t refusal);

/* Builds a CONNECT_RESP: header, e_pub (or 32 zero bytes for a failure), and the config
 * sealed with key and the given nonce's last byte (0 for success, 1 for failure), with
 * ad = header || e_pub-or-zero || auth_mac. Returns the datagram length. */
size_t hs_build_response(uint8_t *out, uint64_t ts, const uint8_t e_pub_or_null[KEY_LEN],
                         const uint8_t key[KEY_LEN], const uint8_t auth_mac[32],
                         const struct hs_config *config);

#endif
