/* Files that hold secrets (see secret_file.h). */
#include "vpn/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secret_file_check(int fd, const char *path, const char *holds, char *why, size_t why_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_len, "cannot be read: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "is not a regular file");
        return -1;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        snprintf(why, why_len, "is owned by uid %u, neither root nor us (uid %u); it holds %s: "
                 "chown root %s, then chmod 600 %s", (unsigned)st.st_uid, (unsigned)geteuid(),
                 holds, path, path);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(why, why_len, "is %s by group or others (mode %04o); the file holds %s: "
                 "chmod 600 %s",
                 st.st_mode & (S_IRGRP | S_IROTH) ? "readable" :
                 st.st_mode & (S_IWGRP | S_IWOTH) ? "writable" : "usable",
                 (unsigned)(st.st_mode & 07777), holds, path);
        return -1;
    }
    return 0;
}

int secret_file_open(const char *path, const char *holds, char *why, size_t why_len)
{
    /* O_NONBLOCK so that a FIFO or device at path cannot hang us before fstat says what it
     * is; cleared again below (a regular file never blocks anyway). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(why, why_len, "is a symbolic link; not following it (it holds %s: give "
                     "the path of the file itself)", holds);
        else
            snprintf(why, why_len, "cannot be read: %s", strerror(errno));
        return -1;
    }
    if (secret_file_check(fd, path, holds, why, why_len) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}
