/* The pausable watch (core/lib/fd_watch.c): a sleeper on the watch wakes for input, not while
 * the watch is paused, and at once on resume if input is still there. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vpn/fd_watch.h"
#include "vpn/log.h"

static int readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void drain(int fd)
{
    char b[64];
    while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
        ;
}

Test(fd_watch, follows_input_and_pauses)
{
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
    int w = fd_watch_open(sp[0]);
    cr_assert_geq(w, 0);
    cr_assert(!readable(w, 0), "nothing to read yet");
    cr_assert_eq(write(sp[1], "a", 1), 1);
    cr_assert(readable(w, 1000), "input makes the watch readable");
    drain(sp[0]);
    cr_assert(!readable(w, 0), "read: not readable any more");

    cr_assert_eq(fd_watch_pause(w, sp[0]), 0);
    cr_assert_eq(write(sp[1], "b", 1), 1);
    cr_assert(!readable(w, 50), "paused: input does not show");
    cr_assert_eq(fd_watch_resume(w, sp[0]), 0);
    cr_assert(readable(w, 0), "resumed with input waiting: readable at once");

    cr_assert_eq(fd_watch_pause(w, sp[0]), 0);
    drain(sp[0]);       /* the borrower took it */
    cr_assert_eq(fd_watch_resume(w, sp[0]), 0);
    cr_assert(!readable(w, 0), "resumed after the input was taken: nothing");
    close(w);
    close(sp[0]);
    close(sp[1]);
}

struct sleeper {
    int watch;
    int woke;           /* atomic */
};

static void *sleep_on(void *arg)
{
    struct sleeper *s = arg;
    if (readable(s->watch, 10000))
        __atomic_store_n(&s->woke, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* The case it exists for: a thread already asleep on the watch is not woken by input that
 * arrives while another thread has paused it, and is woken by the resume when that input was
 * left unread. */
Test(fd_watch, sleeper_not_woken_while_paused)
{
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
    struct sleeper s = { .watch = fd_watch_open(sp[0]) };
    cr_assert_geq(s.watch, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, sleep_on, &s), 0);
    usleep(20000);      /* let it go to sleep (if not yet, it sees a paused watch all the same) */
    cr_assert_eq(fd_watch_pause(s.watch, sp[0]), 0);
    cr_assert_eq(write(sp[1], "c", 1), 1);
    usleep(50000);
    cr_assert_eq(__atomic_load_n(&s.woke, __ATOMIC_SEQ_CST), 0, "woken while paused");
    cr_assert_eq(fd_watch_resume(s.watch, sp[0]), 0);
    pthread_join(t, NULL);
    cr_assert_eq(s.woke, 1, "the resume did not wake it for the unread input");
    close(s.watch);
    close(sp[0]);
    close(sp[1]);
}

/* Moving the watch to another descriptor (the client's other address family). */
Test(fd_watch, moves)
{
    int a[2], b[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, a), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, b), 0);
    int w = fd_watch_open(a[0]);
    cr_assert_geq(w, 0);
    cr_assert_eq(fd_watch_move(w, a[0], b[0]), 0);
    cr_assert_eq(write(a[1], "x", 1), 1);
    cr_assert(!readable(w, 20), "the old descriptor is no longer watched");
    cr_assert_eq(write(b[1], "y", 1), 1);
    cr_assert(readable(w, 1000), "the new one is");
    cr_assert_eq(fd_watch_move(w, b[0], b[0]), 0, "a move to itself changes nothing");
    cr_assert_eq(fd_watch_move(w, a[0], b[0]), 0, "the old one already gone: still fine");
    cr_assert_eq(fd_watch_pause(w, a[0]), -1, "not watched: an error, not a silent success");
    close(w);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
}

/* The borrowers' forms say which descriptor's watch failed, and how: a failed pause as a
 * warning, a failed resume as an error. */
Test(fd_watch, failures_are_said_with_their_descriptor)
{
    int sp[2], other[2], out[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, other), 0);
    cr_assert_eq(pipe(out), 0);
    cr_assert_eq(log_init(LOG_INFO, NULL), 0);
    log_set_mirror(out[1]);
    int w = fd_watch_open(sp[0]);
    cr_assert_geq(w, 0);
    fd_watch_pause_or_warn(w, sp[0], "the watched one");
    fd_watch_resume_or_complain(w, sp[0], "the watched one");
    fd_watch_pause_or_warn(w, other[0], "the TUN");
    fd_watch_resume_or_complain(w, other[0], "the UDP socket");
    log_set_mirror(-1);
    char said[1024] = "";
    ssize_t n = read(out[0], said, sizeof(said) - 1);
    cr_assert_gt(n, 0);
    said[n] = '\0';
    cr_assert(!strstr(said, "the watched one"), "a watch that works says nothing: %s", said);
    cr_assert(strstr(said, "Cannot pause the watch of the TUN"), "%s", said);
    cr_assert(strstr(said, "Cannot resume the watch of the UDP socket"), "%s", said);
    cr_assert(strstr(said, "WARN") || strstr(said, "warn"), "%s", said);
    close(w);
    for (int i = 0; i < 2; i++) {
        close(sp[i]);
        close(other[i]);
        close(out[i]);
    }
}
