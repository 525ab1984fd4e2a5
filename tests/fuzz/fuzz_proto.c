/* Fuzzes the first checks every received datagram meets (PROTOCOL.md, common header):
 * proto_hdr_parse and, for transport types, proto_transport_ids. Checks that an accepted
 * header is consistent with the datagram and survives a write/parse round trip. */
#include "fuzz_util.h"
#include "vpn/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vpn_hdr h;
    uint8_t *buf = malloc(size ? size : 1);    /* exact-size copy: ASan catches overreads */
    memcpy(buf, data, size);
    enum hdr_verdict v = proto_hdr_parse(buf, size, &h);
    FUZZ_ASSERT(v < HDR_VERDICTS);
    if (v == HDR_OK) {
        FUZZ_ASSERT(size >= HDR_LEN && (size_t)h.length == size - HDR_LEN);
        uint8_t again[HDR_LEN];
        proto_hdr_write(again, h.type, h.length, h.seq, h.ts);
        FUZZ_ASSERT(memcmp(again, buf, HDR_LEN) == 0);
        if (proto_is_transport(h.type)) {
            uint32_t sid;
            uint64_t counter;
            FUZZ_ASSERT(size >= TRANSPORT_OVERHEAD);
            bool ok = proto_transport_ids(buf, &h, &sid, &counter);
            FUZZ_ASSERT(ok == ((uint32_t)counter == h.seq));
        }
    }
    free(buf);
    return 0;
}
