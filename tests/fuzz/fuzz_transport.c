/* Fuzzes the transport receive path of PROTOCOL.md (receiver steps 1-7) outside the worker:
 * header, ids, replay check and transport_open on the input as a datagram; then the replay
 * window on its own, driven by the input as a list of operations and compared with a plain
 * model (a list of every counter marked), which must agree exactly. */
#include "fuzz_util.h"

#include "vpn/proto.h"
#include "vpn/replay.h"
#include "vpn/transport.h"

enum { MAX_OPS = 512 };

static void datagram(const uint8_t *data, size_t size)
{
    static uint8_t key[KEY_LEN];
    struct replay_window w;
    struct vpn_hdr h;
    uint32_t sid;
    uint64_t counter;
    if (!key[0])
        fuzz_unhex(key, KEY_LEN, V_K_C2S);
    replay_init(&w);
    uint8_t *pkt = malloc(size ? size : 1);
    memcpy(pkt, data, size);
    if (proto_hdr_parse(pkt, size, &h) == HDR_OK && proto_is_transport(h.type) &&
        proto_transport_ids(pkt, &h, &sid, &counter) && replay_check(&w, counter)) {
        uint8_t *pt = malloc(size - TRANSPORT_OVERHEAD + 1);
        if (transport_open(pt, pkt, size, key))
            replay_mark(&w, counter);
        /* In place, as the worker may do it: the same verdict. */
        bool in_place = transport_open(pkt + TRANSPORT_OVERHEAD, pkt, size, key);
        (void)in_place;
        free(pt);
    }
    free(pkt);
}

/* Reference: counter is new when below 2^60, and either above every marked counter or within
 * REPLAY_WINDOW_SIZE of the greatest and never marked. */
static bool model_check(const uint64_t *marked, int n, uint64_t greatest, uint64_t c)
{
    if (c >= 1ULL << REKEY_AFTER_MESSAGES_LOG2)
        return false;
    if (n == 0 || c > greatest)
        return true;
    if (greatest - c > REPLAY_WINDOW_SIZE)
        return false;
    for (int i = 0; i < n; i++)
        if (marked[i] == c)
            return false;
    return true;
}

/* Each 9-byte record: flags, then 8 bytes. Flag bit 0: mark after a successful check.
 * Bit 1: the value is a signed 16-bit offset from the greatest counter (lands in and around
 * the window), else an absolute counter masked to 61 bits (crosses the 2^60 limit). */
static void window_ops(const uint8_t *data, size_t size)
{
    static uint64_t marked[MAX_OPS];
    struct replay_window w;
    uint64_t greatest = 0;
    int n = 0;
    replay_init(&w);
    for (size_t off = 0; off + 9 <= size && n < MAX_OPS; off += 9) {
        uint8_t flags = data[off];
        uint64_t v = get_be64(data + off + 1), c;
        if (flags & 2)
            c = greatest + (uint64_t)(int64_t)(int16_t)v;
        else
            c = v & ((1ULL << 61) - 1);
        bool fresh = replay_check(&w, c);
        FUZZ_ASSERT(fresh == model_check(marked, n, greatest, c));
        if (fresh && (flags & 1)) {
            replay_mark(&w, c);
            marked[n++] = c;
            if (c > greatest)
                greatest = c;
            FUZZ_ASSERT(!replay_check(&w, c));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sodium_init() < 0)
        abort();
    datagram(data, size);
    window_ops(data, size);
    return 0;
}
