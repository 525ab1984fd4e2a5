/* Strict INI tokeniser (see ini.h). Configuration mistakes should stop the program with a
 * message that points at the line, so everything that is not clearly a header, a comment or a
 * "key = value" pair is an error rather than something we guess around. */
#include "vpn/ini.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Configuration files are a few kilobytes; a cap keeps a wrong path (a log, a device) from
 * being pulled into memory whole. */
enum { INI_FILE_MAX = 4 << 20 };

void config_errorf(struct config_error *err, const char *file, int line, const char *section,
                   const char *key, const char *fmt, ...)
{
    char what[CONFIG_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);

    /* The prefix first, then the text: a truncated message still names file and line. */
    if (section && *section && key)
        snprintf(err->msg, sizeof(err->msg), "%s:%d: [%s] %s: ", file, line, section, key);
    else if (section && *section)
        snprintf(err->msg, sizeof(err->msg), "%s:%d: [%s]: ", file, line, section);
    else if (key)
        snprintf(err->msg, sizeof(err->msg), "%s:%d: %s: ", file, line, key);
    else
        snprintf(err->msg, sizeof(err->msg), "%s:%d: ", file, line);
    size_t used = strlen(err->msg);
    size_t room = sizeof(err->msg) - 1 - used;
    size_t n = strnlen(what, room);
    memcpy(err->msg + used, what, n);
    err->msg[used + n] = '\0';

    /* The message quotes values from the file; keep it one printable line whatever they hold. */
    for (char *p = err->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims blanks on both sides in place; returns the new start. */
static char *trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Key names are identifiers; anything else is most likely a value that lost its key. */
static bool key_valid(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++) {
        char c = *k;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* One line, already NUL-terminated in buf. Returns 0 or -1 with *err. */
static int parse_line(const char *name, int lineno, char *buf, char *section, size_t section_len,
                      ini_handler handler, void *ctx, struct config_error *err)
{
    /* Control characters (other than tab) are never meaningful in a config file and make
     * error messages and log lines lie; a stray \r from a DOS editor was removed already. */
    for (const char *p = buf; *p; p++) {
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
            config_errorf(err, name, lineno, section, NULL,
                          "control character 0x%02x in line", (unsigned char)*p);
            return -1;
        }
    }

    char *s = trim(buf);
    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;

    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']') {
            config_errorf(err, name, lineno, NULL, NULL,
                          "section header must be \"[name]\" alone on its line");
            return -1;
        }
        s[n - 1] = '\0';
        char *sec = trim(s + 1);
        if (*sec == '\0' || strpbrk(sec, "[]")) {
            config_errorf(err, name, lineno, NULL, NULL,
                          "section header must be \"[name]\" with a non-empty name");
            return -1;
        }
        /* section holds at most INI_LINE_MAX bytes and sec came from such a line */
        snprintf(section, section_len, "%s", sec);
        return handler(ctx, name, lineno, section, NULL, NULL, err) ? -1 : 0;
    }

    char *eq = strchr(s, '=');
    if (!eq) {
        config_errorf(err, name, lineno, section, NULL,
                      "expected \"key = value\", \"[section]\" or a comment");
        return -1;
    }
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    if (!key_valid(key)) {
        config_errorf(err, name, lineno, section, NULL,
                      "expected \"key = value\" with a key of letters, digits, '_', '-' or '.'");
        return -1;
    }
    return handler(ctx, name, lineno, section, key, value, err) ? -1 : 0;
}

int ini_parse_buffer(const char *name, const char *buf, size_t len, ini_handler handler,
                     void *ctx, struct config_error *err)
{
    char line[INI_LINE_MAX];
    char section[INI_LINE_MAX] = "";
    int lineno = 0;
    int rc = 0;
    size_t pos = 0;

    /* A UTF-8 byte order mark, as some Windows editors write, is not part of the first line. */
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        pos = 3;

    while (pos < len) {
        const char *start = buf + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;

        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (memchr(start, '\0', n)) {
            config_errorf(err, name, lineno, section, NULL, "NUL byte in line");
            rc = -1;
            break;
        }
        if (n >= sizeof(line)) {
            config_errorf(err, name, lineno, section, NULL, "line longer than %d bytes",
                          INI_LINE_MAX - 1);
            rc = -1;
            break;
        }
        memcpy(line, start, n);
        line[n] = '\0';
        rc = parse_line(name, lineno, line, section, sizeof(section), handler, ctx, err);
        if (rc)
            break;
    }
    /* client.conf carries the auth token: leave no copy of a line on the stack. */
    sodium_memzero(line, sizeof(line));
    return rc;
}

/* Reads the whole file behind fd into a heap buffer (*len bytes); fd stays open. Returns 0
 * or -errno. */
static int read_fd(int fd, char **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if (st.st_size > INI_FILE_MAX)
        return -EFBIG;

    size_t cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, cap - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            sodium_memzero(buf, cap);
            free(buf);
            return -e;
        }
        if (r == 0)
            break;
        have += (size_t)r;
        if (have == cap) {
            /* The file grew after fstat; refuse rather than chase it. */
            sodium_memzero(buf, cap);
            free(buf);
            return -EFBIG;
        }
    }
    *out = buf;
    *len = have;
    return 0;
}

int ini_parse_fd(int fd, const char *name, ini_handler handler, void *ctx,
                 struct config_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int e = read_fd(fd, &buf, &len);
    if (e < 0) {
        const char *why = e == -EINVAL ? "not a regular file" : strerror(-e);
        config_errorf(err, name, 0, NULL, NULL, "cannot read file: %s", why);
        return -1;
    }
    int rc = ini_parse_buffer(name, buf, len, handler, ctx, err);
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

int ini_parse_file(const char *path, ini_handler handler, void *ctx, struct config_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        config_errorf(err, path, 0, NULL, NULL, "cannot read file: %s", strerror(errno));
        return -1;
    }
    int rc = ini_parse_fd(fd, path, handler, ctx, err);
    close(fd);
    return rc;
}
