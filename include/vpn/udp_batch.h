/* Sending a batch of datagrams with as few syscalls and as little kernel work per datagram as
 * the kernel allows: runs of datagrams to the same destination with the same size (the last
 * of a run may be shorter) become one UDP GSO message (UDP_SEGMENT, Linux 4.18+), and all
 * messages of the batch go in one sendmmsg. Where GSO is refused the batch is sent as plain
 * datagrams, and GSO is not tried again on that socket. */
#ifndef VPN_UDP_BATCH_H
#define VPN_UDP_BATCH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

enum { UDP_BATCH_MAX = 128, UDP_GSO_MAX_SEGMENTS = 64, UDP_GSO_MAX_BYTES = 65000 };

struct udp_batch {
    int fd;
    bool gso;               /* still worth trying */
    bool connected;         /* fd is connected: peers are ignored */
    unsigned n;
    struct iovec iov[UDP_BATCH_MAX];
    const void *peer[UDP_BATCH_MAX];
    socklen_t peer_len;
};

void udp_batch_init(struct udp_batch *b, int fd, bool connected, socklen_t peer_len);

/* Queues one datagram (the memory must stay valid until udp_batch_flush). Flushes first when
 * the batch is full. */
void udp_batch_add(struct udp_batch *b, const void *data, size_t len, const void *peer);

/* Sends what is queued. Returns the number of datagrams the kernel refused (counted as drops
 * by the caller). */
unsigned udp_batch_flush(struct udp_batch *b);

#endif
