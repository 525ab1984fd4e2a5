/* The schema engine (see ini_schema.h): the INI reader hands each header and key here, and
 * the tables decide what they mean. */
#include "vpn/ini_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ini_value.h"

void ini_schema_errorf(struct config_error *err, const struct ini_at *at, const char *fmt, ...)
{
    char what[CONFIG_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    config_errorf(err, at->file, at->line, at->section, at->key ? at->key->name : NULL, "%s",
                  what);
}

/* The list of a schema's sections for messages: "[server], [network] or [logging]",
 * "[class:NAME] or [user:NAME]". */
static const char *section_list(const struct ini_schema *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n_sections && used < len; i++) {
        const char *sep = i == 0 ? "" : i == s->n_sections - 1 ? " or " : ", ";
        const struct section_spec *sec = &s->sections[i];
        int n = snprintf(buf + used, len - used, "%s[%s%s%s]", sep, sec->name,
                         sec->named ? ":" : "",
                         !sec->named ? "" : sec->name_shape ? sec->name_shape : "NAME");
        used += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

/* The keys of a section for messages: "classid, rate, ceil and priority". */
static const char *key_list(const struct section_spec *sec, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < sec->n_keys && used < len; i++) {
        const char *sep = i == 0 ? "" : i == sec->n_keys - 1 ? " and " : ", ";
        int n = snprintf(buf + used, len - used, "%s%s", sep, sec->keys[i].name);
        used += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

static int key_index(const struct section_spec *sec, const char *key)
{
    for (int i = 0; i < sec->n_keys; i++)
        if (strcmp(sec->keys[i].name, key) == 0)
            return i;
    return -1;
}

static int plain_index(const struct ini_schema *s, const char *name)
{
    for (int i = 0; i < s->n_sections; i++)
        if (!s->sections[i].named && strcmp(s->sections[i].name, name) == 0)
            return i;
    return -1;
}

/* The named section a header "[kind:NAME]" opens, with *name set to NAME; or NULL. */
static int named_index(const struct ini_schema *s, const char *header, const char **name)
{
    for (int i = 0; i < s->n_sections; i++) {
        size_t n = strlen(s->sections[i].name);
        if (s->sections[i].named && strncmp(header, s->sections[i].name, n) == 0 &&
            header[n] == ':') {
            *name = header + n + 1;
            return i;
        }
    }
    return -1;
}

/* Defaults for the keys a section instance left out, then its required keys. */
static int finish_section(struct ini_schema_state *st, const char *file,
                          const struct section_spec *sec, const char *section, int header,
                          void *obj, const int *lines, struct config_error *err)
{
    struct ini_at at = { .file = file, .line = 0, .section = section, .dir = st->dir,
                         .obj = obj, .ctx = st->ctx };
    for (int i = 0; i < sec->n_keys; i++) {
        at.key = &sec->keys[i];
        if (!lines[i] && at.key->def && ini_value_store(&at, at.key->def, err) != 0)
            return -1;
    }
    for (int i = 0; i < sec->n_keys; i++) {
        if (!lines[i] && (sec->keys[i].flags & KEY_REQUIRED)) {
            config_errorf(err, file, header, section, sec->keys[i].name,
                          "required key is missing");
            return -1;
        }
    }
    return 0;
}

/* Ends the named section being read, if any. */
static int close_named(struct ini_schema_state *st, const char *file, struct config_error *err)
{
    const struct section_spec *sec = st->cur;
    if (!sec || !sec->named)
        return 0;
    st->cur = NULL;
    return finish_section(st, file, sec, st->cur_section, st->cur_header, st->cur_obj,
                          st->cur_lines, err);
}

static int on_header(struct ini_schema_state *st, const char *file, int line,
                     const char *section, struct config_error *err)
{
    const struct ini_schema *s = st->schema;
    char list[256];
    const char *name = NULL;

    if (close_named(st, file, err))
        return -1;
    int i = plain_index(s, section);
    if (i >= 0) {
        if (st->section_line[i]) {
            config_errorf(err, file, line, section, NULL, "section repeated (first at line %d)",
                          st->section_line[i]);
            return -1;
        }
        st->section_line[i] = line;
        st->cur = &s->sections[i];
        st->cur_obj = st->obj;
        st->cur_lines = st->key_line[i];
        return 0;
    }
    i = named_index(s, section, &name);
    if (i < 0) {
        config_errorf(err, file, line, section, NULL, "unknown section; expected %s",
                      section_list(s, list, sizeof(list)));
        return -1;
    }
    const struct section_spec *sec = &s->sections[i];
    struct ini_at at = { .file = file, .line = line, .section = section, .dir = st->dir,
                         .ctx = st->ctx };
    int *lines = NULL;
    void *obj = sec->open(st->ctx, &at, name, &lines, err);
    if (!obj)
        return -1;
    memset(lines, 0, sizeof(int) * (size_t)sec->n_keys);
    st->cur = sec;
    st->cur_obj = obj;
    st->cur_lines = lines;
    st->cur_header = line;
    snprintf(st->cur_section, sizeof(st->cur_section), "%s", section);
    return 0;
}

static int on_entry(void *arg, const char *file, int line, const char *section,
                    const char *key, const char *value, struct config_error *err)
{
    struct ini_schema_state *st = arg;
    char list[512];

    if (!key)
        return on_header(st, file, line, section, err);
    const struct section_spec *sec = st->cur;
    if (!sec) {
        config_errorf(err, file, line, NULL, key, "key outside any [section] (expected %s "
                      "first)", section_list(st->schema, list, sizeof(list)));
        return -1;
    }
    int i = key_index(sec, key);
    if (i < 0) {
        config_errorf(err, file, line, section, key, "unknown key; [%s%s] has %s", sec->name,
                      sec->named ? ":NAME" : "", key_list(sec, list, sizeof(list)));
        return -1;
    }
    const struct key_spec *k = &sec->keys[i];
    if (st->cur_lines[i]) {
        config_errorf(err, file, line, section, key, "duplicate key (first at line %d)",
                      st->cur_lines[i]);
        return -1;
    }
    st->cur_lines[i] = line;
    struct ini_at at = { .file = file, .line = line, .section = section, .key = k,
                         .dir = st->dir, .obj = st->cur_obj, .ctx = st->ctx };
    if (*value == '\0' && !(k->flags & KEY_EMPTY_OK)) {
        if (k->if_empty)
            ini_schema_errorf(err, &at, "empty value; %s", k->if_empty);
        else
            ini_schema_errorf(err, &at, "empty value");
        return -1;
    }
    return ini_value_store(&at, value, err);
}

/* The directory relative paths resolve against, with a trailing '/', made absolute so that
 * they still work after the daemon's chdir("/"). Symbolic links in the directory are resolved;
 * a link named as the file is not followed, so files sit beside the name the operator gave. */
static void base_dir(const char *path, char *dir, size_t len)
{
    char given[PATH_MAX];
    char real[PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(given, sizeof(given), ".");
    else if (slash == path)
        snprintf(given, sizeof(given), "/");
    else
        snprintf(given, sizeof(given), "%.*s", (int)(slash - path), path);

    const char *d = realpath(given, real) ? real : given;
    if (strcmp(d, "/") == 0)
        snprintf(dir, len, "/");
    else if (snprintf(dir, len, "%s/", d) >= (int)len)
        dir[0] = '\0';
}

static int begin(const struct ini_schema *schema, const char *path, void *obj, void *ctx,
                 struct ini_schema_state *st, struct config_error *err)
{
    memset(st, 0, sizeof(*st));
    st->schema = schema;
    st->obj = obj;
    st->ctx = ctx;
    base_dir(path, st->dir, sizeof(st->dir));
    /* The tables are ours: a schema beyond the state's room is a bug, said once. */
    if (schema->n_sections > INI_SCHEMA_SECTIONS_MAX) {
        config_errorf(err, path, 0, NULL, NULL, "schema has too many sections (a bug)");
        return -1;
    }
    for (int i = 0; i < schema->n_sections; i++) {
        if (schema->sections[i].n_keys > INI_SCHEMA_KEYS_MAX) {
            config_errorf(err, path, 0, schema->sections[i].name, NULL,
                          "schema has too many keys (a bug)");
            return -1;
        }
    }
    return 0;
}

/* After the file: the last named section ends, then every plain section, given or not. */
static int end(struct ini_schema_state *st, const char *path, struct config_error *err)
{
    if (close_named(st, path, err))
        return -1;
    for (int i = 0; i < st->schema->n_sections; i++) {
        const struct section_spec *sec = &st->schema->sections[i];
        if (!sec->named && finish_section(st, path, sec, sec->name, st->section_line[i],
                                          st->obj, st->key_line[i], err) != 0)
            return -1;
    }
    return 0;
}

int ini_schema_load_file(const struct ini_schema *schema, const char *path, void *obj,
                         void *ctx, struct ini_schema_state *st, struct config_error *err)
{
    if (begin(schema, path, obj, ctx, st, err) || ini_parse_file(path, on_entry, st, err))
        return -1;
    return end(st, path, err);
}

int ini_schema_load_fd(const struct ini_schema *schema, int fd, const char *path, void *obj,
                       void *ctx, struct ini_schema_state *st, struct config_error *err)
{
    if (begin(schema, path, obj, ctx, st, err) || ini_parse_fd(fd, path, on_entry, st, err))
        return -1;
    return end(st, path, err);
}

int ini_schema_section_line(const struct ini_schema_state *st, const char *section)
{
    int i = plain_index(st->schema, section);
    return i < 0 ? 0 : st->section_line[i];
}

int ini_schema_line(const struct ini_schema_state *st, const char *section, const char *key)
{
    int i = plain_index(st->schema, section);
    if (i < 0)
        return 0;
    int k = key_index(&st->schema->sections[i], key);
    return k < 0 ? 0 : st->key_line[i][k];
}

const struct key_spec *ini_schema_key(const struct ini_schema *schema, const char *section,
                                      const char *key)
{
    int i = plain_index(schema, section);
    if (i < 0)
        return NULL;
    int k = key_index(&schema->sections[i], key);
    return k < 0 ? NULL : &schema->sections[i].keys[k];
}
