/* The local control socket: created 0600 from the start, and never a chmod by path, so a
 * symlink at the path (planted before the listen, or in the window after bind) never passes
 * the mode change to its target. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "vpn/unix_socket.h"

static char dir[PATH_MAX], sock_path[PATH_MAX + 16], target[PATH_MAX + 16];

/* Set by a test: right after a successful bind of sock_path, replace the new socket file with
 * a symlink to target, as an attacker with write access to the directory could between
 * bind() and a chmod() by path. */
static bool swap_after_bind;

/* Interposes libc's bind for this test program (the library's call resolves to it); every
 * other bind goes straight to libc's. */
int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    int (*real_bind)(int, const struct sockaddr *, socklen_t) =
        (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    int rc = real_bind(fd, sa, len);
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    if (rc == 0 && swap_after_bind && sa->sa_family == AF_UNIX &&
        strcmp(un->sun_path, sock_path) == 0) {
        cr_assert_eq(unlink(sock_path), 0);
        cr_assert_eq(symlink(target, sock_path), 0);
    }
    return rc;
}

static void setup(void)
{
    test_tmpdir_make(dir, "unix_socket");
    snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
    snprintf(target, sizeof(target), "%s/precious", dir);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0644);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(chmod(target, 0644), 0);
}

static void teardown(void)
{
    test_tmpdir_remove(dir);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
    return st.st_mode;
}

TestSuite(unix_socket, .init = setup, .fini = teardown);

Test(unix_socket, mode_0600_whatever_the_umask)
{
    umask(0);
    int fd = unix_listen(sock_path);
    cr_assert(fd >= 0, "unix_listen: %s", strerror(-fd));
    mode_t m = mode_of(sock_path);
    cr_expect(S_ISSOCK(m));
    cr_expect_eq(m & 07777, 0600, "mode %o", (unsigned)(m & 07777));
    cr_expect_eq(umask(0), 0, "the process's umask was left changed");
    close(fd);
}

Test(unix_socket, stale_socket_replaced)
{
    int fd = unix_listen(sock_path);
    cr_assert(fd >= 0);
    close(fd);   /* the file stays behind, as after a crash */
    fd = unix_listen(sock_path);
    cr_assert(fd >= 0, "unix_listen over a stale socket: %s", strerror(-fd));
    close(fd);
}

Test(unix_socket, symlink_at_path_not_followed)
{
    cr_assert_eq(symlink(target, sock_path), 0);
    int fd = unix_listen(sock_path);
    cr_assert(fd >= 0, "unix_listen: %s", strerror(-fd));
    cr_expect_eq(mode_of(target) & 07777, 0644, "the link's target changed mode");
    cr_expect(S_ISREG(mode_of(target)), "the link's target was replaced");
    cr_expect(S_ISSOCK(mode_of(sock_path)), "the link is still there");
    close(fd);
}

Test(unix_socket, symlink_planted_after_bind_not_followed)
{
    swap_after_bind = true;
    int fd = unix_listen(sock_path);
    swap_after_bind = false;
    if (fd >= 0)
        close(fd);
    cr_expect_eq(mode_of(target) & 07777, 0644, "chmod by path followed the link: mode %o",
                 (unsigned)(mode_of(target) & 07777));
}

Test(unix_socket, other_file_at_path_left_alone)
{
    cr_assert_eq(rename(target, sock_path), 0);
    int fd = unix_listen(sock_path);
    cr_expect_eq(fd, -EEXIST, "unix_listen over a regular file: %d", fd);
    if (fd >= 0)
        close(fd);
    cr_expect(S_ISREG(mode_of(sock_path)), "the regular file was deleted");
}

Test(unix_socket, request_and_reply)
{
    int fd = unix_listen(sock_path);
    cr_assert(fd >= 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int c;
        while ((c = accept(fd, NULL, NULL)) < 0 && errno == EAGAIN)
            usleep(1000);
        char req[16] = { 0 };
        ssize_t n = read(c, req, sizeof(req) - 1);
        dprintf(c, "got %s", n > 0 ? req : "?");
        _exit(0);
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert_eq(unix_request(sock_path, "show", f), 0);
    fclose(f);
    cr_expect_str_eq(out, "got show");
    free(out);
    close(fd);
    waitpid(pid, NULL, 0);
}

/* [metrics] control_socket_group: the socket is the group's, mode 0660 whatever the umask
 * (the usual 022 would take the group's write bit, and with it the right to connect), made so
 * at bind; the process's umask and filesystem gid are as they were. Needs root (CAP_SETGID),
 * as the server has when it makes the socket. */
Test(unix_socket, group_socket_mode_0660_and_the_group)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to give the socket a group");
    const gid_t group = 4242;
    umask(022);
    int fd = unix_listen_group(sock_path, (int)group);
    cr_assert(fd >= 0, "unix_listen_group: %s", strerror(-fd));
    struct stat st;
    cr_assert_eq(lstat(sock_path, &st), 0);
    cr_expect(S_ISSOCK(st.st_mode));
    cr_expect_eq(st.st_mode & 07777, 0660, "mode %o", (unsigned)(st.st_mode & 07777));
    cr_expect_eq(st.st_gid, group, "group %u", (unsigned)st.st_gid);
    cr_expect_eq(st.st_uid, 0u);
    cr_expect_eq(umask(022), 022, "the umask was left changed");
    cr_expect_eq(setfsgid((gid_t)-1), (int)getegid(), "the filesystem gid was left changed");
    close(fd);
}

/* A set-group-ID directory imposes its own group on new files: the socket would then belong
 * to a group nobody chose, with the group's bits set. Refused, and nothing left behind. */
Test(unix_socket, group_socket_refused_where_the_directory_imposes_a_group)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to give the socket a group");
    cr_assert_eq(chown(dir, 0, 4343), 0);
    cr_assert_eq(chmod(dir, 02755), 0);
    int fd = unix_listen_group(sock_path, 4242);
    cr_expect_eq(fd, -EPERM, "unix_listen_group in a setgid directory: %d", fd);
    if (fd >= 0)
        close(fd);
    struct stat st;
    cr_expect_neq(lstat(sock_path, &st), 0, "a socket of the wrong group was left");
}
