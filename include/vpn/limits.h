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
    RESP_CONFIG_BASE = 32,      /* config block without routes */
    ROUTE_ENTRY_LEN = 5,
    MAX_ROUTES = 16,
    RESP_CONFIG_MAX = RESP_CONFIG_BASE + ROUTE_ENTRY_LEN * MAX_ROUTES,
    CONNECT_RESP_MIN = HDR_LEN + KEY_LEN + RESP_CONFIG_BASE + TAG_LEN,
    CONNECT_RESP_MAX = HDR_LEN + KEY_LEN + RESP_CONFIG_MAX + TAG_LEN,
    TRANSPORT_OVERHEAD = HDR_LEN + NONCE_LEN + TAG_LEN,     /* 44: minimum transport datagram */
    PONG_PLAINTEXT = 8,
    DISCONNECT_PLAINTEXT = 1,
};

enum msg_type {
    MSG_CONNECT_REQ = 0x01,
    MSG_CONNECT_RESP = 0x02,
    MSG_DATA = 0x03,
    MSG_PING = 0x04,
    MSG_PONG = 0x05,
    MSG_DISCONNECT = 0x06,
};

enum connect_status {
    STATUS_OK = 0,
    STATUS_AUTH_FAILED = 1,
    STATUS_SERVER_FULL = 2,
    STATUS_POOL_EXHAUSTED = 3,
    STATUS_RATE_LIMITED = 4,
    STATUS_STALE_TIMESTAMP = 5,
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
    REKEY_OVERLAP_MS = 10000,
    /* A sender rekeys long before its counter could wrap into reuse (PROTOCOL.md). */
    REKEY_AFTER_MESSAGES_LOG2 = 60,
    /* The control socket is served by the control thread, which also finishes handshakes
     * and ends sessions: a status client gets this long to send its request, and this long
     * again to take the whole reply, then it is dropped. */
    CONTROL_REQUEST_MS = 200,
    CONTROL_REPLY_MS = 200,
};

#endif
