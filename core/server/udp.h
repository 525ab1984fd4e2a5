/* The server's UDP socket: one IPv6 socket, dual-stack unless bound to a specific address. */
#ifndef SERVER_UDP_H
#define SERVER_UDP_H

#include <stddef.h>
#include <stdint.h>

/* Returns a non-blocking, close-on-exec socket bound to address:port, or -1 with why. */
int udp_listen(const char *address, uint16_t port, char *why, size_t why_len);

#endif
