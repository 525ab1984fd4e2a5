/* Segmentation offload between the kernel and our data path (REQUIREMENTS.md section 4:
 * "TUN offloads with IFF_VNET_HDR").
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) the kernel hands a TUN reader
 * TCP "super-packets" of up to 64 KB with a struct virtio_net_hdr in front, instead of one
 * read per 1400-byte segment; we cut them into MTU-sized IPv4 packets ourselves (what a NIC's
 * TSO would do) right before encryption. Packets written back carry a zero header. On a
 * kernel that refuses the offload, the device works as a plain TUN and these functions are
 * not used. */
#ifndef VPN_OFFLOAD_H
#define VPN_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    VNET_HDR_LEN = 10,              /* struct virtio_net_hdr */
    OFFLOAD_READ_MAX = 65536 + VNET_HDR_LEN,
    OFFLOAD_SEGMENTS_MAX = 64,      /* 64 KB / 1024-byte MSS: more never comes from the TUN */
};

/* Asks for TSO4 + checksum offload on a TUN opened with IFF_VNET_HDR. Returns 0 or -errno. */
int offload_enable(int tun_fd);

/* Cuts the buffer read from an offloading TUN (virtio header + packet) into plain IPv4
 * packets. out[i] receive the segments (each up to mtu bytes), lens[i] their lengths.
 * Completes checksums the kernel left partial. Returns the number of segments (1 for a packet
 * that needs no segmentation), 0 for something to drop (not IPv4/TCP-GSO we asked for,
 * malformed, or more than max segments). */
int offload_split(const uint8_t *buf, size_t len, uint16_t mtu, uint8_t *const out[],
                  size_t lens[], int max);

/* How many segments offload_split will cut this buffer into (1 for a plain packet), from its
 * virtio header; 0 when it cannot say (malformed: offload_split will refuse it too). */
int offload_segments(const uint8_t *buf, size_t len);

/* The destination IPv4 address (host order) of a buffer read from an offloading TUN, or 0. */
uint32_t offload_peek_dst(const uint8_t *buf, size_t len);

/* A virtio header of zeros ("no offload") to put in front of every TUN write. */
extern const uint8_t offload_zero_hdr[VNET_HDR_LEN];

/* The Internet checksum (RFC 1071) of n bytes, ready to store big-endian (an IPv4 header's
 * with its checksum field zero, an ICMP message's, ...). */
uint16_t offload_inet_checksum(const uint8_t *p, size_t n);

#endif

/* TCP receive coalescing (GRO in software) for TUN writes: consecutive segments of one TCP
 * flow that the tunnel delivered in order are written as one super-packet with a virtio GSO
 * header, so the kernel forwards one 64 KB packet instead of forty small ones (it cuts them
 * again only where a device needs it). Anything else is written as it is. Single-threaded:
 * one per writing thread. */
struct tcp_gro {
    int fd;
    size_t len;             /* bytes in buf (headers + payloads), 0 = no run */
    int segs;
    size_t hdrs;            /* IPv4 + TCP header bytes of the run */
    size_t mss;             /* payload of the first segment */
    size_t last_payload;
    uint32_t next_seq;
    bool closed;            /* a short or PSH segment ended the run */
    uint64_t writes, write_errors;
    uint8_t buf[65535];
};

void gro_init(struct tcp_gro *g, int tun_fd);
/* Queues or writes one IPv4 packet; may first write out the run it cannot join. */
void gro_add(struct tcp_gro *g, const uint8_t *pkt, size_t len);
/* Writes out the pending run (call at the end of every batch). */
void gro_flush(struct tcp_gro *g);
