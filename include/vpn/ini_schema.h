/* The schema engine of our configuration files (server.conf, client.conf, the QoS classes
 * file). ini.h only tokenises; here each section is a table of keys (struct key_spec) that
 * says what a value must look like, where it is stored, its default and whether it is
 * required, and one walk over the file does for every file what each parser used to do by
 * hand:
 *   - unknown sections and keys, a repeated section or key, an empty value are refused;
 *   - each value is parsed by its type and stored at its offset, or handed to a setter;
 *   - keys the file left out get their default (parsed like a value, so a default is
 *     written as an operator would write it and can be compared with the README);
 *   - a missing required key is refused, at the line of its section's header.
 * Every message reads "FILE:LINE: [section] key: what was expected" (config_errorf); the
 * programs exit with status 2 on it. Checks that involve several keys (a pool inside the
 * tunnel network, a rate above its ceiling) stay with the caller, which asks on which line a
 * key was given to point there.
 *
 * Two kinds of section: plain ones ("[server]"), at most once each, stored into the object
 * given to the load call; and named ones ("[class:NAME]"), once per NAME, whose object an
 * open() callback of the caller provides for each header. A named section's defaults and
 * required keys are seen to when it ends (at the next header or the end of the file), a
 * plain one's at the end of the file.
 *
 * Single-threaded; nothing here allocates. */
#ifndef VPN_INI_SCHEMA_H
#define VPN_INI_SCHEMA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/ini.h"

enum key_type {
    KEY_BOOL,           /* bool: true/false, yes/no, on/off, 1/0 */
    KEY_UINT,           /* decimal in [min, max], stored by the field's size (1, 2, 4, 8) */
    KEY_BANDWIDTH,      /* uint64_t bits per second: "5Mbps", "2.5Mbps", "12mbit" */
    KEY_IPV4,           /* uint32_t, host order: a dotted quad */
    KEY_IP_LITERAL,     /* char[size]: a numeric IPv4 or IPv6 address, kept as text */
    KEY_PREFIX,         /* uint8_t: a prefix length 1..30 or a contiguous dotted mask */
    KEY_IFNAME,         /* char[size]: an interface name (ifname_valid) */
    KEY_PATH,           /* char[size]: a relative path resolves against the file's directory */
    KEY_SOCKET_PATH,    /* KEY_PATH that also fits a Unix socket address */
    KEY_CIDR_LIST,      /* struct ipv4_net[max], "a.b.c.d/p, ..."; its int count at aux */
    KEY_CLASSID,        /* tc classid "1:MINOR": uint16_t major at off, minor at aux */
    KEY_LOG_LEVEL,      /* int LOG_*: DEBUG, INFO, WARN, ERROR */
    KEY_KEY,            /* uint8_t[32]: a base64 key as keyfile_decode reads it */
    KEY_TOKEN,          /* uint8_t[size]: 2 * size hex digits (hex_decode); a secret: never
                           quoted in a message, erased when refused */
    KEY_CUSTOM,         /* the setter parses, checks and stores */
};

enum key_flag {
    KEY_REQUIRED = 1,   /* refused when the file leaves it out */
    KEY_EMPTY_OK = 2,   /* "key =" is a value: an empty path or list, no interface; a setter
                           sees it and may still refuse it */
};

struct key_spec;

/* Where a value comes from, for setters and messages. */
struct ini_at {
    const char *file;
    int line;                   /* 0 while a default is applied */
    const char *section;        /* as in the header: "server", "class:vip" */
    const struct key_spec *key; /* NULL for a header */
    const char *dir;            /* relative paths resolve against it: ".../" or "" */
    void *obj;                  /* the section's object */
    void *ctx;                  /* the caller's, as given to the load call */
};

/* KEY_CUSTOM: parses value (non-empty unless KEY_EMPTY_OK), stores it at dst (the object
 * plus off). Returns 0, or -1 with *err filled (ini_schema_errorf). */
typedef int (*key_setter)(const struct ini_at *at, void *dst, const char *value,
                          struct config_error *err);

struct key_spec {
    const char *name;
    enum key_type type;
    size_t off, size;           /* the value's place in the section's object */
    size_t aux;                 /* KEY_CIDR_LIST: offset of its int count; KEY_CLASSID: of
                                   the uint16_t minor */
    uint64_t min, max;          /* KEY_UINT: the range; KEY_CIDR_LIST: max networks */
    const char *def;            /* the default, as the file would spell it; NULL: none (the
                                   object's zero stays) */
    unsigned flags;             /* enum key_flag */
    key_setter set;             /* KEY_CUSTOM */
    const char *expected;       /* replaces the type's "expected ..." phrase */
    const char *if_empty;       /* appended to "empty value; " (how to say "none") */
    const char *too_many;       /* KEY_CIDR_LIST: message over max, with one %d */
};

struct section_spec {
    const char *name;           /* "server", or the kind of a named section: "class" */
    bool named;                 /* "[name:NAME]", once per NAME */
    const char *name_shape;     /* named: how messages spell NAME ("USER:DEVICE"); NULL: NAME */
    const struct key_spec *keys;
    int n_keys;
    /* Named sections: called at each "[name:NAME]" header with NAME; checks it (its rule,
     * duplicates, room) and returns the object the keys go into, with *lines set to n_keys
     * ints the engine zeroes and fills with the line of each key (for the caller's checks).
     * NULL with *err to refuse. */
    void *(*open)(void *ctx, const struct ini_at *at, const char *name, int **lines,
                  struct config_error *err);
};

struct ini_schema {
    const struct section_spec *sections;
    int n_sections;
};

enum { INI_SCHEMA_SECTIONS_MAX = 12, INI_SCHEMA_KEYS_MAX = 16 };

/* What a load leaves for the caller's own checks; opaque but for the dir. */
struct ini_schema_state {
    const struct ini_schema *schema;
    char dir[PATH_MAX];         /* the file's directory, absolute, with a trailing '/' */
    int section_line[INI_SCHEMA_SECTIONS_MAX];
    int key_line[INI_SCHEMA_SECTIONS_MAX][INI_SCHEMA_KEYS_MAX];
    /* while reading */
    void *obj, *ctx;
    const struct section_spec *cur;
    void *cur_obj;
    int *cur_lines;
    int cur_header;
    char cur_section[INI_LINE_MAX];
};

/* Reads the file at path by schema: plain sections are stored into obj, ctx goes to the
 * setters and open() callbacks. The caller zeroes obj first. Returns 0, or -1 with *err
 * (the file's problems, or the first value refused). */
int ini_schema_load_file(const struct ini_schema *schema, const char *path, void *obj,
                         void *ctx, struct ini_schema_state *st, struct config_error *err)
    __attribute__((warn_unused_result));

/* Same, from a descriptor the caller opened and checked; path names the file in messages and
 * gives the directory relative paths resolve against. */
int ini_schema_load_fd(const struct ini_schema *schema, int fd, const char *path, void *obj,
                       void *ctx, struct ini_schema_state *st, struct config_error *err)
    __attribute__((warn_unused_result));

/* The line a plain section's key was given on, or 0 (left to its default, or unknown). */
int ini_schema_line(const struct ini_schema_state *st, const char *section, const char *key);

/* The line of a plain section's header, or 0 when the file has none. */
int ini_schema_section_line(const struct ini_schema_state *st, const char *section);

/* The key spec of a plain section's key, or NULL. */
const struct key_spec *ini_schema_key(const struct ini_schema *schema, const char *section,
                                      const char *key);

/* config_errorf at at: "FILE:LINE: [section] key: <fmt>" (no key for a header). */
void ini_schema_errorf(struct config_error *err, const struct ini_at *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
