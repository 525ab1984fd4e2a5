/* Fuzzes the enclave worker's OP_DECRYPT dispatch (enclave/worker.c), the main process ->
 * enclave boundary, on the paths that must never end the worker: a consistent request (meta
 * session id equal to the datagram's, owned by this worker, len <= SLOT_DATA) carrying any
 * datagram bytes. Worker 0 of 1 with one live session (the vectors' id and c2s key), built in
 * memory without a process, shared memory or doorbell.
 *
 * Input: byte 0 selects the form of the rest.
 *   even: the rest is the datagram as received (the corpus holds the vectors' DATA, PING,
 *         DISCONNECT datagrams, which authenticate);
 *   odd:  byte 1 type, bytes 2-9 counter, 10-11 signed timestamp offset from now in ms, the
 *         rest plaintext: sealed here with the session key, so that the code behind the tag
 *         check (timestamp window, inner IPv4 checks, PONG reply, disconnect) sees any bytes.
 * Each request is handed in twice: the second copy is a replay and must produce nothing. */
#include "fuzz_util.h"

#include "../../enclave/worker.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

static const uint32_t SID = 0x1a2b3c4d;         /* the vectors' session id */
static const uint32_t CLIENT_IP = 0x0a08000a;   /* 10.8.0.10 */
static const uint64_t NOW = V_CONNECT_REQ_TIMESTAMP + 2000;

static struct worker w;
static struct pkt_slot req;

static void reset(void)
{
    static uint8_t k_c2s[KEY_LEN], k_s2c[KEY_LEN];
    if (!w.shm) {
        w.shm = calloc(1, sizeof(*w.shm));
        worker_rings_init(&w.rings, w.shm);
        w.sec = calloc(1, sizeof(*w.sec));
        if (!w.shm || !w.sec || sodium_init() < 0)
            abort();
        w.index = 0;
        w.count = 1;
        w.doorbell_fd = -1;
        w.replay_window_ms = 5000;
        fuzz_unhex(k_c2s, KEY_LEN, V_K_C2S);
        fuzz_unhex(k_s2c, KEY_LEN, V_K_S2C);
    }
    struct key_slot *k = &w.sec->slots[SID & (SESSION_SLOTS - 1)];
    memset(k, 0, sizeof(*k));
    k->session_id = SID;
    k->client_ip = CLIENT_IP;
    memcpy(k->k_c2s, k_c2s, KEY_LEN);
    memcpy(k->k_s2c, k_s2c, KEY_LEN);
    replay_init(&k->rx);
    memset(&w.shm->ctl, 0, sizeof(w.shm->ctl));
    w.shm->ctl.sessions = 1;
    w.dec_pending = w.enc_pending = 0;   /* results are dropped, never published */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset();
    if (size < 1)
        return 0;
    size_t len;
    if (!(data[0] & 1)) {
        len = size - 1 > SLOT_DATA ? SLOT_DATA : size - 1;
        memcpy(req.data, data + 1, len);
    } else {
        if (size < 12)
            return 0;
        static const uint8_t types[] = { MSG_DATA, MSG_PING, MSG_PONG, MSG_DISCONNECT };
        uint8_t key[KEY_LEN];
        size_t pt_len = size - 12;
        if (pt_len > SLOT_DATA - TRANSPORT_OVERHEAD)
            pt_len = SLOT_DATA - TRANSPORT_OVERHEAD;
        uint64_t ts = NOW + (uint64_t)(int64_t)(int16_t)get_be16(data + 10);
        fuzz_unhex(key, KEY_LEN, V_K_C2S);
        len = transport_seal(req.data, types[data[1] & 3], key, SID, get_be64(data + 2), ts,
                             data + 12, pt_len);
    }
    memset(&req.meta, 0, sizeof(req.meta));
    req.meta.op = OP_DECRYPT;
    req.meta.len = (uint16_t)len;
    /* Consistent by construction: what the main process's RX thread would have read. */
    req.meta.session_id = len >= HDR_LEN + 4 ? get_be32(req.data + HDR_LEN) : 0;

    worker_handle(&w, &w.rings.in_rx, &req, NOW);
    FUZZ_ASSERT(w.dec_pending <= 1 && w.enc_pending <= 1);
    uint32_t dec = w.dec_pending, enc = w.enc_pending;
    if (dec)    /* a result is never longer than the request's plaintext */
        FUZZ_ASSERT(w.shm->out_dec.slots[0].meta.len + TRANSPORT_OVERHEAD <= len);

    req.meta.len = (uint16_t)len;
    worker_handle(&w, &w.rings.in_rx, &req, NOW);
    FUZZ_ASSERT(w.dec_pending == dec && w.enc_pending == enc);
    return 0;
}
