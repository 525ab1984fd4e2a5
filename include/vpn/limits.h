/* Wire constants and tuning knobs, in one place (PROTOCOL.md and REQUIREMENTS.md). */
#ifndef VPN_LIMITS_H
#define VPN_LIMITS_H

enum wire_limits {
    PROTO_VERSION = 1,
    HDR_LEN = 16,
    KEY_LEN = 32,
    TAG_LEN = 16,
    NONCE_LEN = 12,
    TOKEN_LEN = 32,
    USERNAME_MAX = 63,          /* bytes of UTF-8, no NUL (PROTOCOL.md, keys and credentials) */
    IDENTITY_LEN = 64,          /* username zero-padded */
    CONNECT_REQ_PAYLOAD = 256,
    CONNECT_REQ_LEN = HDR_LEN + CONNECT_REQ_PAYLOAD,
    REQ_SEALED_OFF = 32,
    REQ_PAD_OFF = 112,
    REQ_MAC_OFF = 224,
    /* Request extension 1 (docs/PROTOCOL.md, "Extension 1"): fields inside the zero padding.
     * The 16-byte extension header is associated data of sealed_identity. */
    REQ_EXT_OFF = 112,          /* ext version (1), flags (0), 14 reserved zero bytes */
    REQ_EXT_LEN = 16,
    REQ_MAC1_OFF = 128,         /* mac1: proves the sender knows S_pub, checked before any DH */
    REQ_MAC2_OFF = 144,         /* mac2: cookie MAC, zero when the sender has no cookie */
    REQ_MACX_LEN = 16,
    REQ_EXT_TAIL_OFF = 160,     /* zero up to REQ_MAC_OFF */
    REQ_EXT_VERSION = 1,
    /* Extension 1 flags (payload offset 113). WINDOW: "put your replay_window_ms into offset
     * 28 of a success config" (docs/PROTOCOL.md, "Replay window in the response"). A server
     * that does not know a flag drops the request, so a client sends it only as that section
     * says. */
    REQ_EXT_FLAGS_OFF = 113,
    REQ_FLAG_WINDOW = 0x01,
    /* Extension 4 (docs/PROTOCOL.md): "append your DNS block to a success config". */
    REQ_FLAG_DNS = 0x02,
    /* Extension 5 (docs/PROTOCOL.md, "Device identity"): the request carries the sending
     * device's id, sealed under k_id, at REQ_DEVICE_OFF (in extension 1's zero tail). */
    REQ_FLAG_DEVICE = 0x04,
    REQ_FLAGS_KNOWN = REQ_FLAG_WINDOW | REQ_FLAG_DNS | REQ_FLAG_DEVICE,
    DEVICE_ID_LEN = 16,
    REQ_DEVICE_OFF = REQ_EXT_TAIL_OFF,                  /* sealed_device: 16 + 16 tag */
    REQ_DEVICE_SEALED_LEN = DEVICE_ID_LEN + TAG_LEN,
    REQ_DEVICE_END = REQ_DEVICE_OFF + REQ_DEVICE_SEALED_LEN,   /* zero from here to the MAC */
    RESP_CONFIG_BASE = 32,      /* config block without routes */
    RESP_CONFIG_WINDOW_OFF = 28,/* replay_window_ms when the request had REQ_FLAG_WINDOW, else 0 */
    ROUTE_ENTRY_LEN = 5,
    MAX_ROUTES = 16,
    /* Extension 4's DNS block, after the routes of a success to a request with REQ_FLAG_DNS:
     * count (1), count IPv4 resolvers (4 each), search length (1), search list (ASCII names
     * separated by one space). At most 3 resolvers, as glibc's resolv.conf reads no more
     * (MAXNS); the search list's 64 bytes keep the largest response (254 bytes) below a
     * request's 272 with room to spare. */
    DNS_SERVERS_MAX = 3,
    DNS_SEARCH_MAX = 64,
    RESP_DNS_BLOCK_MIN = 2,
    RESP_DNS_BLOCK_MAX = 1 + 4 * DNS_SERVERS_MAX + 1 + DNS_SEARCH_MAX,
    RESP_CONFIG_MAX = RESP_CONFIG_BASE + ROUTE_ENTRY_LEN * MAX_ROUTES + RESP_DNS_BLOCK_MAX,
    CONNECT_RESP_MIN = HDR_LEN + KEY_LEN + RESP_CONFIG_BASE + TAG_LEN,
    CONNECT_RESP_MAX = HDR_LEN + KEY_LEN + RESP_CONFIG_MAX + TAG_LEN,
    /* A failure CONNECT_RESP to an extended request: header, 32 zero bytes, a random 12-byte
     * nonce, the config (no routes in a failure) sealed with k_id. */
    CONNECT_FAIL_EXT_LEN = HDR_LEN + KEY_LEN + NONCE_LEN + RESP_CONFIG_BASE + TAG_LEN,
    TRANSPORT_OVERHEAD = HDR_LEN + NONCE_LEN + TAG_LEN,     /* 44: minimum transport datagram */
    PONG_PLAINTEXT = 8,
    DISCONNECT_PLAINTEXT = 1,
    DISCONNECT_REASON_NORMAL = 0,
    DISCONNECT_REASON_KEY_RETIRED = 1,  /* the enclave ended the key: user removed, token
                                           changed, or older than rekey_interval + grace */
};

enum msg_type {
    MSG_CONNECT_REQ = 0x01,
    MSG_CONNECT_RESP = 0x02,
    MSG_DATA = 0x03,
    MSG_PING = 0x04,
    MSG_PONG = 0x05,
    MSG_DISCONNECT = 0x06,
    /* Extension 2 (docs/PROTOCOL.md): the server has no session of that id; a hint to
     * handshake again, sent only in answer to a transport message and smaller than it. */
    MSG_SESSION_UNKNOWN = 0x07,
    /* Extension 3 (docs/PROTOCOL.md): the server is under load and wants the request again
     * with mac2, a MAC keyed by the cookie this message carries (sealed to the request). */
    MSG_COOKIE_REPLY = 0x08,
};

enum cookie_layout {
    COOKIE_LEN = 16,
    COOKIE_NONCE_LEN = 24,          /* XChaCha20-Poly1305 */
    COOKIE_REPLY_PAYLOAD = COOKIE_NONCE_LEN + COOKIE_LEN + 16,
    COOKIE_REPLY_LEN = 16 + COOKIE_REPLY_PAYLOAD,   /* 72: always smaller than a request */
    /* The server's cookie secret changes this often; a cookie is good for two periods, a
     * client uses one for at most COOKIE_USE_MS. */
    COOKIE_SECRET_ROTATE_MS = 120000,
    COOKIE_USE_MS = 110000,
};

enum session_unknown_layout {
    SESSION_UNKNOWN_PAYLOAD = 12,   /* session_id (4) || counter (8) of the refused message */
    SESSION_UNKNOWN_LEN = HDR_LEN + SESSION_UNKNOWN_PAYLOAD,
};

enum connect_status {
    STATUS_OK = 0,
    STATUS_AUTH_FAILED = 1,
    STATUS_SERVER_FULL = 2,
    STATUS_POOL_EXHAUSTED = 3,
    STATUS_RATE_LIMITED = 4,
    STATUS_STALE_TIMESTAMP = 5,
};

/* Why an AUTH_FAILED refusal was made, at config offset 1 of a failure (docs/PROTOCOL.md,
 * extension 6): clients that know the byte say why; older ones see AUTH_FAILED. */
enum refusal_reason {
    REFUSAL_NONE = 0,       /* a wrong token, an unknown user (the server never says which) */
    REFUSAL_QUOTA = 1,      /* the user's data quota for the period is used up */
    REFUSAL_EXPIRED = 2,    /* the account's expiry date has passed */
    REFUSAL_DISABLED = 3,   /* the operator disabled the account */
    REFUSAL_REASON_MAX = REFUSAL_DISABLED,
};

enum tuning {
    /* Replay bitmap size in counters (RFC 6479). PROTOCOL.md asks for at least 2048; the
     * window is kept in 64-bit blocks with one spare block so that sliding never clears bits
     * still inside the window. */
    REPLAY_WINDOW_COUNTERS = 4096,
    /* Largest IP packet we carry; the TUN MTU may be set lower. 1500 - 40 (IPv6) - 8 (UDP)
     * - 44 (our overhead) = 1408 would fit an IPv6 path exactly; default MTU is 1400. */
    MTU_MAX = 1500,
    MTU_MIN = 576,
    MTU_DEFAULT = 1400,
    /* One ring slot carries one datagram or one IP packet plus its metadata. */
    SLOT_DATA = 1600,
    /* Packets moved per batch: recvmmsg/sendmmsg vector size and doorbell granularity. */
    BATCH_MAX = 64,
    /* Session slots in the enclave's key table: live sessions plus those in their 10 s rekey
     * overlap. The slot index is the low bits of the session id. */
    SESSION_SLOT_BITS = 12,
    SESSION_SLOTS = 1 << SESSION_SLOT_BITS,
    MAX_CLIENTS_LIMIT = SESSION_SLOTS / 2,
    MAX_WORKERS = 16,
    MAX_USERS = 1024,
    /* Devices of one user online at once (extension 5): each has its own session and address.
     * USER_DEVICES_MAX bounds the enclave's fixed per-user table (and [security] max_devices);
     * USER_DEVICES_DEFAULT is max_devices' default. */
    USER_DEVICES_MAX = 16,
    USER_DEVICES_DEFAULT = 4,
    /* WireGuard peers ("[wireguard:USER:DEVICE]" in the users file, docs/WIREGUARD.md): at
     * most this many in the file, every user's devices at their most. The enclave keeps them
     * all in its locked memory (about 2 MB, enclave/wg_peers.h). A device's name is 1 to
     * DEVICE_NAME_MAX bytes (device_name.h), NUL-padded into its 16-byte id. */
    WG_PEERS_MAX = MAX_USERS * USER_DEVICES_MAX,
    DEVICE_NAME_MAX = DEVICE_ID_LEN - 1,
    REKEY_OVERLAP_MS = 10000,
    /* Receiver step 6 (PROTOCOL.md): a transport message whose timestamp is further than the
     * replay window from the receiver's server time is stale. The server's window is
     * [security] replay_window_ms, REPLAY_WINDOW_MS_DEFAULT unless configured, in the range
     * MIN..MAX (the same numbers are in core/lib/server_config.c's table). A client learns the
     * server's value from the response when it asked for it (REQ_FLAG_WINDOW), and assumes the
     * default otherwise. */
    REPLAY_WINDOW_MS_DEFAULT = 5000,
    REPLAY_WINDOW_MS_MIN = 100,
    REPLAY_WINDOW_MS_MAX = 600000,
    /* The client checks the server's timestamps against its own estimate of server time
     * (local clock + the offset measured at the handshake, PROTOCOL.md section 6). That
     * estimate is off by up to half the handshake's round trip plus the local clock's drift
     * until the next rekey; the client allows this much on top of the window, so that its own
     * estimate's error never drops the server's packets. The server allows nothing extra: the
     * client stamps in server time, so the server's check measures only the client's error. */
    CLIENT_CLOCK_SLACK_MS = 2000,
    /* A sender rekeys long before its counter could wrap into reuse (PROTOCOL.md). */
    REKEY_AFTER_MESSAGES_LOG2 = 60,
    /* The enclave refuses a session key older than rekey_interval + this: the client rekeys
     * at rekey_interval, a handshake may take a few backed-off retries, and the old key then
     * lives 10 s more (REKEY_OVERLAP_MS). */
    KEY_AGE_GRACE_MS = 120000,
    /* A request timestamp more than this ahead of the server's clock is refused: it would
     * lock its user out until the clock caught up (PROTOCOL.md step 4). */
    REQUEST_TS_MAX_AHEAD_MS = 24 * 3600 * 1000,
    /* The control socket is served by the control thread, which also finishes handshakes
     * and ends sessions: a status client gets this long to send its request, and this long
     * again to take the whole reply, then it is dropped. */
    CONTROL_REQUEST_MS = 200,
    CONTROL_REPLY_MS = 200,
};

/* Failed authentications the enclave tolerates before it stops checking (answering
 * RATE_LIMITED instead): each check is a password guess for whoever controls the input,
 * the network or a compromised main process. A known user may fail AUTH_FAIL_USER_BURST
 * times at once, then once per AUTH_FAIL_USER_INTERVAL_MS (10 a minute: 14,400 guesses a day
 * at most, nothing against a vpn-token --random token); all users together
 * AUTH_FAIL_GLOBAL_BURST at once, then one per AUTH_FAIL_GLOBAL_INTERVAL_MS. */
enum auth_fail_limits {
    AUTH_FAIL_USER_BURST = 10,
    AUTH_FAIL_USER_INTERVAL_MS = 6000,
    AUTH_FAIL_GLOBAL_BURST = 200,
    AUTH_FAIL_GLOBAL_INTERVAL_MS = 20,
};

#endif
