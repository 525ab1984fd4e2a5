/* JSON (RFC 8259): the one place where a string becomes a JSON string. Every string value of
 * the control socket's replies goes through it; object keys are our own ASCII literals. */
#ifndef VPN_JSON_H
#define VPN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes s to out as a quoted JSON string: '"' and '\' escaped, control characters (and DEL)
 * as \u00XX, well-formed UTF-8 copied as it is, and every byte that is not part of a
 * well-formed UTF-8 sequence (stray continuation, overlong form, surrogate, above U+10FFFF,
 * cut short) replaced by \ufffd, so that the output is always valid JSON whatever the
 * input. Usernames are "1-63 bytes of UTF-8" by the protocol but only the client checks
 * that; the server's users file may hold any bytes. */
void json_write_string(FILE *out, const char *s);

/* Reading back the server's own replies (vpnctl): the value of the first "key": found at or
 * after text, whatever its depth (the replies' keys say what they hold). A string is decoded
 * (\" \\ \/ \b \f \n \r \t; \uXXXX below U+0080 as that byte, others as '?') into out, cut to
 * cap - 1 bytes; a number must be a non-negative integer. *end (if given) points past the
 * value. false when the key is absent or its value is not of that kind. */
bool json_get_string(const char *text, const char *key, char *out, size_t cap,
                     const char **end);
bool json_get_uint(const char *text, const char *key, unsigned long long *out,
                   const char **end);

#endif
