/* Dual-stack UDP listener (REQUIREMENTS.md section 2: listen_address default "::"). */
#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vpn/netaddr.h"

/* Large socket buffers absorb bursts between batches; root may exceed rmem_max. */
enum { SOCKET_BUFFER = 4 << 20 };

int udp_listen(const char *address, uint16_t port, char *why, size_t why_len)
{
    struct sockaddr_in6 sa;
    if (parse_endpoint(address, port, &sa) != 0) {
        snprintf(why, why_len, "bad listen_address '%s'", address);
        return -1;
    }
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, why_len, "socket: %s", strerror(errno));
        return -1;
    }
    int off = 0, buf = SOCKET_BUFFER;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(why, why_len, "bind %s port %u: %s", address, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
