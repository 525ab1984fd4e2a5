/* The client's device id file (see device.h). */
#include "device.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vpn/atomic_file.h"
#include "vpn/hex.h"

enum { ID_HEX = 2 * DEVICE_ID_LEN };

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static int create(const char *path, uint8_t id[DEVICE_ID_LEN], char *why, size_t why_len)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(why, why_len, "cannot create %s: %s", dir, strerror(errno));
            return -1;
        }
    }
    do
        randombytes_buf(id, DEVICE_ID_LEN);
    while (all_zero(id, DEVICE_ID_LEN));    /* all zero means "no id" on the wire */
    char line[ID_HEX + 2];
    sodium_bin2hex(line, sizeof(line), id, DEVICE_ID_LEN);
    line[ID_HEX] = '\n';
    return atomic_file_write(path, line, ID_HEX + 1, 0600, why, why_len);
}

int device_id_load(const char *path, uint8_t id[DEVICE_ID_LEN], char *why, size_t why_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        return create(path, id, why, why_len);
    if (fd < 0) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[ID_HEX + 2];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n == ID_HEX + 1 && buf[ID_HEX] == '\n') {
        buf[ID_HEX] = '\0';
        if (hex_decode(buf, id, DEVICE_ID_LEN) == 0 && !all_zero(id, DEVICE_ID_LEN))
            return 0;
    }
    snprintf(why, why_len, "%s: expected one line of %d hex digits (not all zero); remove the "
             "file to draw a new device id", path, ID_HEX);
    return -1;
}

bool device_policy_send(struct device_policy *p, bool window)
{
    if (!p->has_id)
        return false;
    if (p->pending)
        p->unanswered++;        /* the one before went unanswered */
    if (p->understood && p->unanswered >= DEVICE_UNANSWERED_MAX) {
        p->understood = false;
        p->unanswered = 0;
    }
    p->pending = p->understood || window;
    return p->pending;
}

void device_policy_answered(struct device_policy *p, bool understood)
{
    if (p->pending && understood) {
        p->understood = true;
        p->unanswered = 0;
    }
    p->pending = false;
}
