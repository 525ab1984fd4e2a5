/* A strict INI reader: "[section]" headers, "key = value" lines, '#' or ';' comments on their
 * own line, surrounding blanks trimmed. The reader only tokenises; the schema (which sections
 * and keys exist, what a value must look like) belongs to the caller, which reports errors
 * with the file and line the reader hands it. */
#ifndef VPN_INI_H
#define VPN_INI_H

#include <stddef.h>

enum { INI_LINE_MAX = 1024, CONFIG_ERR_MAX = 512 };

/* One problem found in a configuration file, with enough context for the operator. */
struct config_error {
    char msg[CONFIG_ERR_MAX];   /* "FILE:LINE: [section] key: what was expected" */
};

/* Called once per "key = value" line (section "" before the first header) and once per
 * section header with key == NULL. Returns 0 to go on, or non-zero after filling *err. */
typedef int (*ini_handler)(void *ctx, const char *file, int line, const char *section,
                           const char *key, const char *value, struct config_error *err);

/* Parses the file at path. Returns 0, or -1 with *err filled (unreadable file, line too long,
 * malformed line, NUL byte, or the handler's own error). */
int ini_parse_file(const char *path, ini_handler handler, void *ctx, struct config_error *err)
    __attribute__((warn_unused_result));

/* Same, from a descriptor the caller opened (and checked: fstat it, open it O_NOFOLLOW) and
 * still owns; name is used in messages. */
int ini_parse_fd(int fd, const char *name, ini_handler handler, void *ctx,
                 struct config_error *err) __attribute__((warn_unused_result));

/* Same, from a buffer of len bytes; name is used in messages. */
int ini_parse_buffer(const char *name, const char *buf, size_t len, ini_handler handler,
                     void *ctx, struct config_error *err) __attribute__((warn_unused_result));

/* printf-style helper that fills err->msg as "file:line: [section] key: <fmt>". */
void config_errorf(struct config_error *err, const char *file, int line, const char *section,
                   const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
