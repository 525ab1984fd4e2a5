/* Fuzzes the INI tokeniser (core/lib/ini.c) that every configuration file goes through, with
 * a handler that checks what the reader promises its callers (ini.h): section names and keys
 * non-empty and trimmed, values trimmed, no control characters, line numbers increasing. The
 * handler refuses one key to drive the error path too. */
#include "fuzz_util.h"

#include "vpn/ini.h"

struct seen {
    int last_line;
};

static bool printable(const char *s, bool tab_ok)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && !(tab_ok && *s == '\t')) || *s == 0x7f)
            return false;
    return true;
}

/* Trimmed of blanks and free of control characters other than an inner tab. */
static bool clean(const char *s)
{
    size_t n = strlen(s);
    if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        return false;
    return printable(s, true);
}

static int handler(void *ctx, const char *file, int line, const char *section, const char *key,
                   const char *value, struct config_error *err)
{
    struct seen *s = ctx;
    FUZZ_ASSERT(line > s->last_line);     /* one call per line at most */
    s->last_line = line;
    FUZZ_ASSERT(clean(section) && strlen(section) < INI_LINE_MAX);
    if (!key) {
        FUZZ_ASSERT(*section && !strpbrk(section, "[]") && !value);
        return 0;
    }
    FUZZ_ASSERT(*key && clean(key) && !strchr(key, '=') && value && clean(value));
    if (strcmp(key, "refuse") == 0) {
        config_errorf(err, file, line, section, key, "refused: \"%.64s\"", value);
        return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_error err;
    struct seen s = { 0 };
    char *buf = malloc(size ? size : 1);    /* not NUL-terminated: the reader takes a length */
    memcpy(buf, data, size);
    err.msg[0] = '\0';
    if (ini_parse_buffer("fuzz.conf", buf, size, handler, &s, &err) != 0)
        FUZZ_ASSERT(strncmp(err.msg, "fuzz.conf:", 10) == 0 && printable(err.msg, false));
    free(buf);
    return 0;
}
