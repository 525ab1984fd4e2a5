/* -d: a daemon that tells the truth. The process that was started waits until the daemon
 * either is running (exit status 0, nothing printed) or has failed (exit status 1, the
 * daemon's start-up lines, the reason last, on its stderr), and only then returns. */
#ifndef SERVER_DAEMON_H
#define SERVER_DAEMON_H

/* Detaches (two forks, setsid, stdio on /dev/null, working directory /). Returns in the
 * daemon only, with the descriptor of the start-up channel (also set as the log mirror, see
 * log_set_mirror); the starting process stays in here and exits as described above. Returns
 * -errno when the first fork fails (then nothing is detached). */
int daemon_start(void);

/* In the daemon, once running: the starting process exits 0; the channel and the log mirror
 * are closed. */
void daemon_ready(int fd);

#endif
