/* The client's data path: TUN packets sealed as DATA in batches (sendmmsg), datagrams from
 * the server in batches (recvmmsg) opened and written to the TUN. The receive checks are
 * PROTOCOL.md's, in its order; what fails is counted and dropped. */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "vpn/log.h"
#include "vpn/proto.h"
#include "vpn/transport.h"

enum { CLIENT_BATCH = BATCH_MAX, DATAGRAM_MAX = MTU_MAX + TRANSPORT_OVERHEAD };

static uint8_t out_buf[CLIENT_BATCH][DATAGRAM_MAX];
static uint8_t in_buf[CLIENT_BATCH][SLOT_DATA];

static size_t seal(struct client *c, uint8_t *out, uint8_t type, const uint8_t *pt, size_t len)
{
    struct client_session *s = &c->cur;
    return transport_seal(out, type, s->k_c2s, s->id, s->send_counter++, conn_server_time(c), pt,
                          len);
}

bool datapath_send(struct client *c, uint8_t type, const uint8_t *pt, size_t len)
{
    uint8_t out[DATAGRAM_MAX];
    if (!c->cur.live || len > MTU_MAX)
        return false;
    size_t n = seal(c, out, type, pt, len);
    c->last_tx_mono = clock_monotonic_ms();
    return send(c->udp_fd, out, n, 0) == (ssize_t)n;
}

void datapath_from_tun(struct client *c)
{
    struct mmsghdr msgs[CLIENT_BATCH];
    struct iovec iov[CLIENT_BATCH];
    int n = 0;
    while (n < CLIENT_BATCH) {
        uint8_t *pt = out_buf[n] + TRANSPORT_OVERHEAD;
        ssize_t r = read(c->tun_fd, pt, MTU_MAX);
        if (r <= 0)
            break;
        /* The tunnel carries IPv4 (the server assigns an IPv4 address); the kernel's IPv6
         * chatter on the device (router solicitations) stays here. */
        if (c->state != CLIENT_CONNECTED || !c->cur.live || r < 20 || (pt[0] >> 4) != 4) {
            c->drops++;
            continue;
        }
        size_t len = seal(c, out_buf[n], MSG_DATA, pt, (size_t)r);
        iov[n].iov_base = out_buf[n];
        iov[n].iov_len = len;
        memset(&msgs[n].msg_hdr, 0, sizeof(msgs[n].msg_hdr));
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        c->tx_packets++;
        c->tx_bytes += (uint64_t)r;
        n++;
    }
    int sent = 0;
    while (sent < n) {
        int k = sendmmsg(c->udp_fd, msgs + sent, (unsigned)(n - sent), 0);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            c->drops += (uint64_t)(n - sent);
            break;
        }
        sent += k;
    }
    if (n)
        c->last_tx_mono = clock_monotonic_ms();
}

/* The session a transport datagram belongs to, or NULL. */
static struct client_session *session_of(struct client *c, uint32_t sid)
{
    if (c->cur.live && c->cur.id == sid)
        return &c->cur;
    if (c->prev.live && c->prev.id == sid)
        return &c->prev;
    return NULL;
}

/* Returns -1 to exit, 1 when the server ended the session, 0 otherwise. */
static int handle(struct client *c, uint8_t *pkt, size_t len)
{
    struct vpn_hdr h;
    if (proto_hdr_parse(pkt, len, &h) != HDR_OK) {
        c->drops++;
        return 0;
    }
    if (h.type == MSG_CONNECT_RESP)
        return conn_on_response(c, pkt, len);
    if (!proto_is_transport(h.type)) {
        c->drops++;
        return 0;
    }
    uint32_t sid;
    uint64_t counter;
    struct client_session *s;
    if (!proto_transport_ids(pkt, &h, &sid, &counter) || !(s = session_of(c, sid)) ||
        !replay_check(&s->rx, counter)) {
        c->drops++;
        return 0;
    }
    uint8_t *pt = pkt + TRANSPORT_OVERHEAD;
    size_t pt_len = len - TRANSPORT_OVERHEAD;
    if (!transport_open(pt, pkt, len, s->k_s2c)) {
        c->drops++;
        return 0;
    }
    uint64_t now = conn_server_time(c);
    uint64_t diff = now > h.ts ? now - h.ts : h.ts - now;
    if (diff > 5000 + 2000) {
        /* The server's window is replay_window_ms (5 s by default); we allow our offset
         * estimate's error on top. */
        c->drops++;
        return 0;
    }
    replay_mark(&s->rx, counter);
    c->last_rx_mono = clock_monotonic_ms();
    switch (h.type) {
    case MSG_DATA:
        if (pt_len >= 20 && write(c->tun_fd, pt, pt_len) == (ssize_t)pt_len) {
            c->rx_packets++;
            c->rx_bytes += pt_len;
        } else {
            c->drops++;
        }
        break;
    case MSG_PING: {
        uint8_t stamp[PONG_PLAINTEXT];
        put_be64(stamp, h.ts);
        datapath_send(c, MSG_PONG, stamp, sizeof(stamp));
        break;
    }
    case MSG_DISCONNECT:
        if (s == &c->cur) {
            sodium_memzero(&c->cur, sizeof(c->cur));
            return 1;
        }
        sodium_memzero(&c->prev, sizeof(c->prev));
        break;
    default:
        break;
    }
    return 0;
}

int datapath_from_udp(struct client *c)
{
    struct mmsghdr msgs[CLIENT_BATCH];
    struct iovec iov[CLIENT_BATCH];
    for (int i = 0; i < CLIENT_BATCH; i++) {
        iov[i].iov_base = in_buf[i];
        iov[i].iov_len = SLOT_DATA;
        memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(c->udp_fd, msgs, CLIENT_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    int rc = 0;
    for (int i = 0; i < n && rc >= 0; i++) {
        int r = handle(c, in_buf[i], msgs[i].msg_len);
        if (r < 0)
            rc = -1;
        else if (r > 0) {
            log_warn("The server ended the session: reconnecting");
            c->state = CLIENT_HANDSHAKE;
            c->attempt = 0;
            c->first_attempt_mono = clock_monotonic_ms();
            c->next_attempt_mono = c->first_attempt_mono + 1000;
        }
    }
    return rc;
}
