/* The common 16-byte header of PROTOCOL.md and big-endian helpers. */
#ifndef VPN_PROTO_H
#define VPN_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "vpn/counter.h"
#include "vpn/limits.h"

struct vpn_hdr {
    uint8_t type;
    uint8_t version;
    uint16_t length;    /* bytes after the header */
    uint32_t seq;
    uint64_t ts;        /* ms since the epoch, in server time for transport messages */
};

/* Why a datagram was refused before any cryptography; each reason has its own counter. */
#define HDR_VERDICT_LIST(X)                                                                   \
    X(HDR_OK, "ok", "passed")                                                                 \
    X(HDR_SHORT, "short", "shorter than the header or than its type's minimum")               \
    X(HDR_BAD_VERSION, "bad_version", "version is not 1")                                    \
    X(HDR_BAD_TYPE, "bad_type", "unknown message type")                                      \
    X(HDR_BAD_LENGTH, "bad_length", "length field != datagram length - 16, or wrong size")

enum hdr_verdict { HDR_VERDICT_LIST(COUNTER_ENUM) HDR_VERDICTS };

static inline uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}
static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* Writes a header into out[0..15]. */
void proto_hdr_write(uint8_t *out, uint8_t type, uint16_t length, uint32_t seq, uint64_t ts);

/* Writes a SESSION_UNKNOWN hint (extension 2) for a refused transport message of session_id
 * with that counter. Returns SESSION_UNKNOWN_LEN. */
size_t proto_session_unknown(uint8_t *out, uint32_t session_id, uint64_t counter, uint64_t ts);

/* Parses and checks the header of a datagram of len bytes: known type, version 1, length field
 * equal to len - 16, and at least the type's minimum (CONNECT_REQ exactly 256 bytes of payload;
 * transport messages at least 28). */
enum hdr_verdict proto_hdr_parse(const uint8_t *buf, size_t len, struct vpn_hdr *h);

/* Session id and counter of a transport message whose header passed proto_hdr_parse;
 * false when header.sequence != counter mod 2^32 (PROTOCOL.md receiver step 3). */
bool proto_transport_ids(const uint8_t *buf, const struct vpn_hdr *h, uint32_t *session_id,
                         uint64_t *counter);

static inline bool proto_is_transport(uint8_t type)
{
    return type == MSG_DATA || type == MSG_PING || type == MSG_PONG || type == MSG_DISCONNECT;
}

/* Timestamps are milliseconds since 1970 in 64 bits (PROTOCOL.md). A 32-bit time_t runs out
 * in January 2038, within a Pi's service life, and then every timestamp check fails: 32-bit
 * builds use glibc's 64-bit time_t (-D_TIME_BITS=64 in the Makefile; glibc 2.34 or later, as
 * in Debian and Raspberry Pi OS 12). */
_Static_assert(sizeof(time_t) == 8, "time_t must have 64 bits: build with -D_TIME_BITS=64");

/* A timespec in milliseconds. */
static inline uint64_t timespec_ms(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000 + (uint64_t)ts->tv_nsec / 1000000;
}

/* Milliseconds since the epoch from CLOCK_REALTIME. */
uint64_t clock_realtime_ms(void);
/* Milliseconds from CLOCK_MONOTONIC (timers, idle, rate limits). */
uint64_t clock_monotonic_ms(void);
/* Microseconds from CLOCK_MONOTONIC (latencies the status reports). */
uint64_t clock_monotonic_us(void);

/* now - then for two CLOCK_MONOTONIC times, 0 when then is later: a time another thread
 * stamped after this one read the clock (a session's last packet, stamped by the TX thread
 * while the control thread sweeps) is "just now", never 2^64 ms ago. */
static inline uint64_t ms_since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

/* The protocol's name of a CONNECT_RESP status (enum connect_status: "OK", "AUTH_FAILED",
 * ...), or NULL for a value this version does not know. The one table of these names: the
 * server's log and its status JSON use it. */
const char *proto_status_name(unsigned status);

#endif
