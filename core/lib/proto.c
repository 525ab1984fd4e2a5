/* Header encoding and the cheap checks every receiver does first (PROTOCOL.md, common header). */
#include "vpn/proto.h"

#include <time.h>

void proto_hdr_write(uint8_t *out, uint8_t type, uint16_t length, uint32_t seq, uint64_t ts)
{
    out[0] = type;
    out[1] = PROTO_VERSION;
    put_be16(out + 2, length);
    put_be32(out + 4, seq);
    put_be64(out + 8, ts);
}

size_t proto_session_unknown(uint8_t *out, uint32_t session_id, uint64_t counter, uint64_t ts)
{
    proto_hdr_write(out, MSG_SESSION_UNKNOWN, SESSION_UNKNOWN_PAYLOAD, 0, ts);
    put_be32(out + HDR_LEN, session_id);
    put_be64(out + HDR_LEN + 4, counter);
    return SESSION_UNKNOWN_LEN;
}

enum hdr_verdict proto_hdr_parse(const uint8_t *buf, size_t len, struct vpn_hdr *h)
{
    if (len < HDR_LEN)
        return HDR_SHORT;
    h->type = buf[0];
    h->version = buf[1];
    h->length = get_be16(buf + 2);
    h->seq = get_be32(buf + 4);
    h->ts = get_be64(buf + 8);
    if (h->version != PROTO_VERSION)
        return HDR_BAD_VERSION;
    if (h->type < MSG_CONNECT_REQ || h->type > MSG_COOKIE_REPLY)
        return HDR_BAD_TYPE;
    if ((size_t)h->length != len - HDR_LEN)
        return HDR_BAD_LENGTH;
    switch (h->type) {
    case MSG_CONNECT_REQ:
        return h->length == CONNECT_REQ_PAYLOAD ? HDR_OK : HDR_BAD_LENGTH;
    case MSG_CONNECT_RESP:
        if (len < CONNECT_RESP_MIN)
            return HDR_SHORT;
        return len <= CONNECT_RESP_MAX ? HDR_OK : HDR_BAD_LENGTH;
    case MSG_SESSION_UNKNOWN:
        return len == SESSION_UNKNOWN_LEN ? HDR_OK : HDR_BAD_LENGTH;
    case MSG_COOKIE_REPLY:
        return len == COOKIE_REPLY_LEN ? HDR_OK : HDR_BAD_LENGTH;
    default:
        return len >= TRANSPORT_OVERHEAD ? HDR_OK : HDR_SHORT;
    }
}

bool proto_transport_ids(const uint8_t *buf, const struct vpn_hdr *h, uint32_t *session_id,
                         uint64_t *counter)
{
    *session_id = get_be32(buf + HDR_LEN);
    *counter = get_be64(buf + HDR_LEN + 4);
    return (uint32_t)*counter == h->seq;
}

uint64_t clock_realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return timespec_ms(&ts);
}

uint64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return timespec_ms(&ts);
}

uint64_t clock_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

const char *proto_status_name(unsigned status)
{
    switch (status) {
    case STATUS_OK:
        return "OK";
    case STATUS_AUTH_FAILED:
        return "AUTH_FAILED";
    case STATUS_SERVER_FULL:
        return "SERVER_FULL";
    case STATUS_POOL_EXHAUSTED:
        return "POOL_EXHAUSTED";
    case STATUS_RATE_LIMITED:
        return "RATE_LIMITED";
    case STATUS_STALE_TIMESTAMP:
        return "STALE_TIMESTAMP";
    }
    return NULL;
}
