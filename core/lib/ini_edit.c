/* Line-preserving INI edits (see ini_edit.h). A line is a header when, blanks trimmed, it
 * starts with '[' and ends with ']'; a key line when it has '=' and is no comment: the same
 * reading as ini.c's, so that an edit lands where the reader will look for it. */
#include "vpn/ini_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The span of one line of text: [start, end) without its newline; next is the next line's
 * start (the end of text after the last line). */
struct line {
    size_t start, end, next;
};

static bool next_line(const char *text, size_t at, struct line *l)
{
    if (!text[at])
        return false;
    const char *nl = strchr(text + at, '\n');
    l->start = at;
    l->end = nl ? (size_t)(nl - text) : strlen(text);
    l->next = nl ? l->end + 1 : l->end;
    return true;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The line without leading and trailing blanks: [*b, *e). */
static void trimmed(const char *text, const struct line *l, size_t *b, size_t *e)
{
    *b = l->start;
    *e = l->end;
    while (*b < *e && blank(text[*b]))
        (*b)++;
    while (*e > *b && blank(text[*e - 1]))
        (*e)--;
}

/* The section name of a header line into name (cap bytes), or false for another line. */
static bool header(const char *text, const struct line *l, char *name, size_t cap)
{
    size_t b, e;
    trimmed(text, l, &b, &e);
    if (e - b < 2 || text[b] != '[' || text[e - 1] != ']')
        return false;
    /* The reader trims blanks inside the brackets too: "[ a ]" is [a]. */
    for (b++, e--; b < e && blank(text[b]); b++)
        ;
    while (e > b && blank(text[e - 1]))
        e--;
    size_t n = e - b;
    if (n >= cap)
        n = cap - 1;
    memcpy(name, text + b, n);
    name[n] = '\0';
    return true;
}

/* Whether the line is "key = ..." for this key. */
static bool key_line(const char *text, const struct line *l, const char *key)
{
    size_t b, e;
    trimmed(text, l, &b, &e);
    if (b == e || text[b] == '#' || text[b] == ';')
        return false;
    const char *eq = memchr(text + b, '=', e - b);
    if (!eq)
        return false;
    size_t k = (size_t)(eq - text);
    while (k > b && blank(text[k - 1]))
        k--;
    return k - b == strlen(key) && memcmp(text + b, key, k - b) == 0;
}

static bool safe(const char *s, const char *also_forbidden)
{
    return !strpbrk(s, "\n\r") && !strpbrk(s, also_forbidden);
}

/* *text with [from, to) replaced by ins; false when out of memory. */
static bool splice(char **text, size_t from, size_t to, const char *ins)
{
    size_t len = strlen(*text), n = strlen(ins);
    char *out = malloc(len - (to - from) + n + 1);
    if (!out)
        return false;
    memcpy(out, *text, from);
    memcpy(out + from, ins, n);
    memcpy(out + from + n, *text + to, len - to + 1);
    free(*text);
    *text = out;
    return true;
}

/* Where [section] starts and ends: *head is its header line's start, *body its first line,
 * *last_key the end (next) of its last line that is neither blank nor a comment, *end the next
 * header's start (or the end of text). false when there is no such section. */
static bool find_section(const char *text, const char *section, size_t *head, size_t *body,
                         size_t *last_key, size_t *end)
{
    char name[1024];
    struct line l;
    bool in = false;
    for (size_t at = 0; next_line(text, at, &l); at = l.next) {
        bool is_header = header(text, &l, name, sizeof(name));
        if (in && is_header) {
            *end = l.start;
            return true;
        }
        if (!in && is_header && strcmp(name, section) == 0) {
            in = true;
            *head = l.start;
            *body = *last_key = l.next;
            continue;
        }
        if (in) {
            /* Comments after the last key may be the next section's: they stay put. */
            size_t b, e;
            trimmed(text, &l, &b, &e);
            if (b < e && text[b] != '#' && text[b] != ';')
                *last_key = l.next;
        }
    }
    *end = strlen(text);
    return in;
}

bool ini_edit_has_section(const char *text, const char *section)
{
    size_t head, body, last, end;
    return find_section(text, section, &head, &body, &last, &end);
}

int ini_edit_set(char **text, const char *section, const char *key, const char *value)
{
    if (!*section || !*key || !safe(section, "[]") || !safe(key, "=[]#;") || !safe(value, ""))
        return -1;
    size_t head, body, last, end;
    size_t need = strlen(section) + strlen(key) + strlen(value) + 16;
    char *ins = malloc(need);
    if (!ins)
        return -1;
    int rc = -1;
    if (!find_section(*text, section, &head, &body, &last, &end)) {
        /* A new section at the end, after a blank line when the text has any. */
        size_t len = strlen(*text);
        const char *sep = !len ? "" : (*text)[len - 1] != '\n' ? "\n\n" : "\n";
        snprintf(ins, need, "%s[%s]\n%s = %s\n", sep, section, key, value);
        rc = splice(text, len, len, ins) ? 0 : -1;
        free(ins);
        return rc;
    }
    struct line l;
    for (size_t at = body; at < end && next_line(*text, at, &l); at = l.next) {
        if (key_line(*text, &l, key)) {
            snprintf(ins, need, "%s = %s", key, value);
            rc = splice(text, l.start, l.end, ins) ? 0 : -1;
            free(ins);
            return rc;
        }
    }
    /* After the section's last non-blank line; the text may end without a newline. */
    bool newline_before = last > 0 && (*text)[last - 1] != '\n';
    snprintf(ins, need, "%s%s = %s\n", newline_before ? "\n" : "", key, value);
    rc = splice(text, last, last, ins) ? 0 : -1;
    free(ins);
    return rc;
}

int ini_edit_remove_key(char **text, const char *section, const char *key)
{
    size_t head, body, last, end;
    if (!safe(section, "[]") || !safe(key, "="))
        return -1;
    if (!find_section(*text, section, &head, &body, &last, &end))
        return 0;
    struct line l;
    for (size_t at = body; at < end && next_line(*text, at, &l); at = l.next)
        if (key_line(*text, &l, key))
            return splice(text, l.start, l.next, "") ? 1 : -1;
    return 0;
}

int ini_edit_remove_section(char **text, const char *section)
{
    size_t head, body, last, end;
    if (!safe(section, "[]"))
        return -1;
    if (!find_section(*text, section, &head, &body, &last, &end))
        return 0;
    /* The header and its keys, and the blank lines after them (the blank line before the
     * header stays as the separator); comments after the last key stay with what follows. */
    struct line l;
    while (last < end && next_line(*text, last, &l)) {
        size_t b, e;
        trimmed(*text, &l, &b, &e);
        if (b < e)
            break;
        last = l.next;
    }
    return splice(text, head, last, "") ? 1 : -1;
}

int ini_edit_remove_sections(char **text, const char *prefix)
{
    if (!*prefix || !safe(prefix, "[]"))
        return -1;
    char name[1024];
    struct line l;
    int removed = 0;
    /* Each removal changes the text: look again from the top until no header matches. */
    for (bool again = true; again;) {
        again = false;
        for (size_t at = 0; next_line(*text, at, &l); at = l.next) {
            if (!header(*text, &l, name, sizeof(name)) ||
                strncmp(name, prefix, strlen(prefix)) != 0)
                continue;
            int rc = ini_edit_remove_section(text, name);
            if (rc <= 0)
                return rc < 0 ? -1 : removed;  /* 0 cannot happen: it was just read */
            removed++;
            again = true;
            break;
        }
    }
    return removed;
}
