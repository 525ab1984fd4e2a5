/* Pinned server keys, like SSH's known_hosts: one "host:port base64key" line per server. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "vpn/keyfile.h"

/* 1 found (key filled), 0 not pinned, -1 unreadable. */
int pin_lookup(const char *file, const char *server, uint8_t key[KEY_LEN])
{
    FILE *f = fopen(file, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char line[512];
    int found = 0;
    size_t n = strlen(server);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, server, n) == 0 && line[n] == ' ' &&
            keyfile_decode(line + n + 1, key) == 0) {
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

int pin_store(const char *file, const char *server, const uint8_t key[KEY_LEN])
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0700);
    }
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char b64[KEYFILE_B64_LEN + 1], line[512];
    keyfile_encode(key, b64);
    int len = snprintf(line, sizeof(line), "%s %s\n", server, b64);
    int rc = write(fd, line, (size_t)len) == len ? 0 : -1;
    close(fd);
    return rc;
}
