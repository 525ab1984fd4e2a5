/* The Host header check (see host_guard.h). */
#include "host_guard.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

bool host_guard_allows(const char *host)
{
    char name[INET6_ADDRSTRLEN + 2];
    const char *port = NULL;
    size_t n;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        if (!end || (size_t)(end - host - 1) >= sizeof(name))
            return false;
        n = (size_t)(end - host - 1);
        memcpy(name, host + 1, n);
        name[n] = '\0';
        if (end[1] == ':')
            port = end + 2;
        else if (end[1])
            return false;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, name, &a6) != 1)
            return false;
    } else {
        const char *colon = strchr(host, ':');
        n = colon ? (size_t)(colon - host) : strlen(host);
        if (n >= sizeof(name))
            return false;
        memcpy(name, host, n);
        name[n] = '\0';
        port = colon ? colon + 1 : NULL;
        struct in_addr a4;
        if (strcasecmp(name, "localhost") != 0 && inet_pton(AF_INET, name, &a4) != 1)
            return false;
    }
    if (port) {
        if (!*port || strlen(port) > 5)
            return false;
        for (const char *p = port; *p; p++)
            if (*p < '0' || *p > '9')
                return false;
    }
    return true;
}
