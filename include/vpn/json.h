/* JSON output (RFC 8259): the one place where a string becomes a JSON string. Every string
 * value of `vpnctl show --json` goes through it; object keys are our own ASCII literals. */
#ifndef VPN_JSON_H
#define VPN_JSON_H

#include <stdio.h>

/* Writes s to out as a quoted JSON string: '"' and '\' escaped, control characters (and DEL)
 * as \u00XX, well-formed UTF-8 copied as it is, and every byte that is not part of a
 * well-formed UTF-8 sequence (stray continuation, overlong form, surrogate, above U+10FFFF,
 * cut short) replaced by \ufffd, so that the output is always valid JSON whatever the
 * input. Usernames are "1-63 bytes of UTF-8" by the protocol but only the client checks
 * that; the server's users file may hold any bytes. */
void json_write_string(FILE *out, const char *s);

#endif
