/* fork/execvp of system tools with their stderr captured through a pipe. */
#include "vpn/run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int run_cmd(char *const argv[], char *err, size_t err_len)
{
    int pfd[2];
    if (err && err_len)
        err[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC) != 0)
        goto cannot;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        goto cannot;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        dup2(pfd[1], 2);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    char buf[512];
    size_t got = 0;
    ssize_t n;
    while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && (got += (size_t)n) >= sizeof(buf) - 1)
            break;
    /* Drain the rest so that a chatty child never blocks on a full pipe. */
    char sink[256];
    while ((n = read(pfd[0], sink, sizeof(sink))) > 0 || (n < 0 && errno == EINTR))
        ;
    close(pfd[0]);
    buf[got] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (err && err_len) {
        char *nl = strchr(buf, '\n');
        if (nl)
            *nl = '\0';
        snprintf(err, err_len, "%s", buf);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
cannot:
    if (err && err_len)
        snprintf(err, err_len, "cannot run %s: %s", argv[0], strerror(errno));
    return -1;
}
