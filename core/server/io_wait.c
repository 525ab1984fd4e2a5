/* Blocking helpers shared by the server's threads. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "server.h"
#include "vpn/log.h"

bool server_wait_readable(struct server *srv, const int *fds, int nfds, int timeout_ms)
{
    struct pollfd p[MAX_WORKERS + 1];
    for (int i = 0; i < nfds; i++) {
        p[i].fd = fds[i];
        p[i].events = POLLIN;
    }
    p[nfds].fd = srv->stop_fd;
    p[nfds].events = POLLIN;
    /* Offline for RCU while blocked, so that grace periods never wait for an idle thread. */
    rcu_thread_offline();
    int n = poll(p, (nfds_t)nfds + 1, timeout_ms);
    rcu_thread_online();
    if (n < 0 && errno != EINTR)
        return false;
    return !srv->stopping && !(p[nfds].revents & POLLIN);
}

void server_send_datagram(struct server *srv, bool wireguard, const uint8_t *buf, size_t len,
                          const struct sockaddr_in6 *to)
{
    int fd = wireguard ? srv->wg_fd : srv->udp_fd;
    if (fd >= 0 && sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0) {
        static struct log_limit lim;
        log_limited(&lim, LOG_WARN, "UDP send: %s", strerror(errno));
    }
}
