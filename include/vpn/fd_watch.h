/* A watch on one descriptor's input that another thread can pause.
 *
 * A thread that sleeps until a descriptor is readable is woken by the kernel whenever data
 * arrives, even when another thread has taken over reading it for a moment: the server's RX
 * thread reading the reply to a lone packet from the TUN (tun_thread.c), the client's TUN
 * thread taking the reply to what it just sent from the UDP socket (client/datapath.c). That
 * wake-up finds nothing to do, yet it costs a switch, often on the other CPU, where it delays
 * the very packet it was about (docs/PERFORMANCE.md, "Latency").
 *
 * So the sleeper polls a watch (an epoll descriptor, itself readable while the watched one
 * is) instead of the descriptor, and the borrower pauses the watch while it reads. Resuming
 * checks the descriptor again: what arrived meanwhile and was not read wakes the sleeper
 * then, so nothing is left unseen. Pause and resume are one system call each, made only on
 * the lone-packet path. */
#ifndef VPN_FD_WATCH_H
#define VPN_FD_WATCH_H

/* A new watch on fd's input (close-on-exec), or -1 with errno. */
int fd_watch_open(int fd);

/* Watches new_fd instead of old_fd (-1: none); 0 or -1 with errno. */
int fd_watch_move(int watch, int old_fd, int new_fd);

/* Stops (pause) and restarts (resume) the watch's wake-ups for fd; 0 or -1 with errno. */
int fd_watch_pause(int watch, int fd);
int fd_watch_resume(int watch, int fd);

/* The borrower's pause and resume, which say what failed (`what` names the watched descriptor,
 * "the TUN"): a pause that fails only costs a needless wake-up, and comes on every lone
 * packet, so it is said at a bounded rate; a resume cannot fail once the watch exists (a
 * modification allocates nothing), and is said every time if it does, as the sleeper would
 * then sleep through the descriptor's input. */
void fd_watch_pause_or_warn(int watch, int fd, const char *what);
void fd_watch_resume_or_complain(int watch, int fd, const char *what);

#endif
