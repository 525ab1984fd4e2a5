/* Editing an INI file's text in place, the one rule for it (vpnctl's user commands, and
 * `vpnctl ini-set` for scripts and the tests): every line but the ones changed stays as it was
 * (comments, blank lines, order), an existing key is replaced where it stands, a new key goes
 * after the last key of its section, a new section is appended at the end. Only the text is
 * edited: what a value must look like is the reader's (ini.h, ini_schema.h) to say. A header,
 * key or value that would break the file's lines (a newline, a NUL, "]" in a section name,
 * "=" in a key) is refused rather than written. Single-threaded; the text is a NUL-terminated
 * heap string that the functions may reallocate. */
#ifndef VPN_INI_EDIT_H
#define VPN_INI_EDIT_H

#include <stdbool.h>

/* Sets key = value in [section] (created when missing). Returns 0, or -1 (refused input, or
 * out of memory: *text unchanged). */
int ini_edit_set(char **text, const char *section, const char *key, const char *value)
    __attribute__((warn_unused_result));

/* Removes key's line from [section]. Returns 1 when it was there, 0 when not, -1 refused. */
int ini_edit_remove_key(char **text, const char *section, const char *key);

/* Removes [section]: its header and every line up to the next header. Returns 1, 0 or -1 as
 * ini_edit_remove_key. */
int ini_edit_remove_section(char **text, const char *section);

/* Removes every section whose name starts with prefix ("wireguard:alice:"), as
 * ini_edit_remove_section each. Returns how many, or -1 (refused prefix, out of memory: *text
 * as it was before the first removal that failed). */
int ini_edit_remove_sections(char **text, const char *prefix);

/* Whether [section] is in text. */
bool ini_edit_has_section(const char *text, const char *section);

#endif
