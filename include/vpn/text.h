/* Building a text (a batch for ip, a rule set for nft, a resolv.conf) in a fixed buffer, line
 * by line, where a text that does not fit must be refused whole rather than cut: a cut batch
 * or rule set would still run. */
#ifndef VPN_TEXT_H
#define VPN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Appends the formatted text at out + *len (out holds cap bytes, NUL-terminated) and moves
 * *len past it. Returns false, with *len unchanged, when it does not fit whole. */
bool text_append(char *out, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), warn_unused_result));

#endif
