/* vpnctl: the operator's view of a running vpn-server, like `wg show`.
 *
 *   vpnctl show [--json] [-s SOCKET]     sessions, endpoints, transfer, drops, QoS classes
 *
 * It asks the server's control socket (mode 0600, so root or the server's user only). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: vpnctl show [--json] [-s SOCKET]   (default /run/vpn-server.sock)\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = "/run/vpn-server.sock";
    const char *request = "show";
    int i = 1;
    if (i < argc && strcmp(argv[i], "show") == 0)
        i++;
    else if (i < argc && argv[i][0] != '-')
        return usage();
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            request = "show json";
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            path = argv[++i];
        else
            return usage();
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return usage();
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "vpnctl: cannot reach the server at %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (write(fd, request, strlen(request)) < 0) {
        fprintf(stderr, "vpnctl: %s\n", strerror(errno));
        return 1;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    close(fd);
    return 0;
}
