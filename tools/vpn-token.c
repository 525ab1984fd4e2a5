/* vpn-token: the brief's authentication token, hex SHA-256 of "username:password"
 * (PROTOCOL.md, keys and credentials), without the password ever being echoed, put on a
 * command line or left in a shell history, as `echo -n "user:pass" | sha256sum` would.
 *
 *   vpn-token [--password-stdin] [--users-line] USERNAME
 *   vpn-token --random [--users-line] USERNAME
 *
 * --random draws the 32-byte token from the system's CSPRNG instead: nothing to guess, so the
 * enclave's failure budgets (docs/PROTOCOL.md section 9) make guessing hopeless rather than
 * merely slow. The same hex goes into the client's auth_token.
 *
 * Exit status: 0 ok, 1 runtime error, 2 usage error. */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vpn/username.h"

/* Longest password accepted: far beyond any real one, and it bounds our buffers. */
enum { PASSWORD_MAX = 1024 };

/* Terminal state to put back if a signal arrives while echo is off; otherwise the user's
 * shell is left typing blind. Written before the handlers are installed, read by them. */
static struct termios saved_tio;
static volatile sig_atomic_t echo_off;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vpn-token [--password-stdin] [--users-line] USERNAME\n"
            "       vpn-token --random [--users-line] USERNAME\n"
            "Prints the auth_token for USERNAME: lowercase hex SHA-256 of \"USERNAME:PASSWORD\".\n"
            "The password is read from the terminal without echo (asked twice), or from stdin\n"
            "when stdin is not a terminal or --password-stdin is given (one trailing newline\n"
            "is removed).\n"
            "  --random          a random 256-bit token instead (no password; give the same\n"
            "                    hex to the client's auth_token); recommended\n"
            "  --users-line      print a users.conf section: [user:NAME] / auth_token = HEX\n"
            "  --password-stdin  read the password from stdin even if it is a terminal\n");
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "vpn-token: %s\n", msg);
    usage(stderr);
    return 2;
}

static void restore_and_die(int sig)
{
    if (echo_off) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
        (void)!write(STDERR_FILENO, "\n", 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line (without its newline) from the terminal on stdin, echo off. Returns its
 * length, or -1 on error or end of input. */
static ssize_t read_tty_line(const char *prompt, char *buf, size_t cap)
{
    struct termios tio;
    if (tcgetattr(STDIN_FILENO, &saved_tio) != 0) {
        fprintf(stderr, "vpn-token: cannot read terminal settings: %s\n", strerror(errno));
        return -1;
    }
    tio = saved_tio;
    tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    tio.c_lflag |= ICANON;
    fputs(prompt, stderr);
    fflush(stderr);
    echo_off = 1;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) != 0) {
        echo_off = 0;
        fprintf(stderr, "\nvpn-token: cannot turn off echo: %s\n", strerror(errno));
        return -1;
    }

    /* Byte by byte with read(2): stdio would keep a copy of the password in its buffer. */
    size_t len = 0;
    bool ok = false, too_long = false;
    for (;;) {
        char c;
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (c == '\n') {
            ok = true;
            break;
        }
        if (len < cap)
            buf[len++] = c;
        else
            too_long = true;
    }
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    echo_off = 0;
    fputc('\n', stderr);
    if (too_long) {
        fprintf(stderr, "vpn-token: password longer than %d bytes\n", PASSWORD_MAX);
        return -1;
    }
    if (!ok) {
        fprintf(stderr, "vpn-token: no password given\n");
        return -1;
    }
    return (ssize_t)len;
}

/* Reads all of stdin, minus one trailing newline. Returns the length or -1. */
static ssize_t read_stdin_password(char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        /* One byte of room beyond cap tells "exactly cap" from "too long". */
        ssize_t n = read(STDIN_FILENO, buf + len, cap + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "vpn-token: cannot read stdin: %s\n", strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap + 1)
            break;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > cap) {
        fprintf(stderr, "vpn-token: password longer than %d bytes\n", PASSWORD_MAX);
        return -1;
    }
    /* A newline left inside means several lines were piped in: almost surely a mistake, and
     * hashing it would give a token nobody can reproduce by typing. */
    if (memchr(buf, '\n', len)) {
        fprintf(stderr, "vpn-token: password on stdin contains a newline "
                        "(give one line only)\n");
        return -1;
    }
    return (ssize_t)len;
}

int main(int argc, char **argv)
{
    bool force_stdin = false, users_line = false, random = false;
    const char *username = NULL;
    bool opts_done = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            usage(stdout);
            return 0;
        } else if (!opts_done && strcmp(a, "--password-stdin") == 0) {
            force_stdin = true;
        } else if (!opts_done && strcmp(a, "--users-line") == 0) {
            users_line = true;
        } else if (!opts_done && strcmp(a, "--random") == 0) {
            random = true;
        } else if (!opts_done && a[0] == '-' && a[1] != '\0') {
            char msg[128];
            snprintf(msg, sizeof(msg), "unknown option '%.64s'", a);
            return usage_error(msg);
        } else if (username) {
            return usage_error("too many arguments (the password is never an argument)");
        } else {
            username = a;
        }
    }
    if (!username)
        return usage_error("missing USERNAME");
    /* The rule every other door applies too (username.h): a name refused here could not
     * be written into users.conf or client.conf, nor authenticate. */
    const char *why = username_check(username, strlen(username));
    if (why) {
        char msg[256];
        snprintf(msg, sizeof(msg), "username %s; expected " USERNAME_RULE, why);
        return usage_error(msg);
    }

    if (sodium_init() < 0) {
        fprintf(stderr, "vpn-token: libsodium initialisation failed\n");
        return 1;
    }

    /* +1: read_stdin_password uses one spare byte to detect an over-long password. */
    char pw[PASSWORD_MAX + 1], again[PASSWORD_MAX + 1];
    ssize_t pw_len = 0;
    int status = 1;
    uint8_t token[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256_state st;

    if (random) {
        randombytes_buf(token, sizeof(token));
        memset(&st, 0, sizeof(st));
        goto print;
    }
    if (!force_stdin && isatty(STDIN_FILENO)) {
        signal(SIGINT, restore_and_die);
        signal(SIGTERM, restore_and_die);
        signal(SIGHUP, restore_and_die);
        signal(SIGQUIT, restore_and_die);
        /* Being stopped with echo off would leave the shell blind too; simplest is to refuse
         * job control while the prompt is up. */
        signal(SIGTSTP, SIG_IGN);
        pw_len = read_tty_line("Password: ", pw, PASSWORD_MAX);
        if (pw_len < 0)
            goto out;
        ssize_t again_len = read_tty_line("Again: ", again, PASSWORD_MAX);
        if (again_len < 0)
            goto out;
        if (again_len != pw_len || sodium_memcmp(pw, again, (size_t)pw_len) != 0) {
            fprintf(stderr, "vpn-token: passwords do not match\n");
            goto out;
        }
    } else {
        pw_len = read_stdin_password(pw, PASSWORD_MAX);
        if (pw_len < 0)
            goto out;
    }
    if (pw_len == 0) {
        fprintf(stderr, "vpn-token: empty password\n");
        goto out;
    }

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)username, strlen(username));
    crypto_hash_sha256_update(&st, (const unsigned char *)":", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)pw, (size_t)pw_len);
    crypto_hash_sha256_final(&st, token);
print:
    sodium_bin2hex(hex, sizeof(hex), token, sizeof(token));

    int w = users_line ? printf("[user:%s]\nauth_token = %s\n", username, hex)
                       : printf("%s\n", hex);
    if (w < 0 || fflush(stdout) != 0)
        fprintf(stderr, "vpn-token: cannot write to stdout: %s\n", strerror(errno));
    else
        status = 0;

    /* The token is a password equivalent (it is all the server checks), so it goes too. */
    sodium_memzero(&st, sizeof(st));
    sodium_memzero(token, sizeof(token));
    sodium_memzero(hex, sizeof(hex));
out:
    sodium_memzero(pw, sizeof(pw));
    sodium_memzero(again, sizeof(again));
    return status;
}
