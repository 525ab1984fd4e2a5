/* This machine's device id (docs/PROTOCOL.md, extension 5): 16 random bytes drawn once and kept
 * in [client] device_file, so that the server tells this device's reconnects (its new session
 * replaces the old one) from another device of the same user (a session of its own). Copying
 * a client.conf to another machine does not copy the id. Read or created while the client is
 * still root, before its sandbox forbids opening files. */
#ifndef CLIENT_DEVICE_H
#define CLIENT_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

/* Reads the id from path (32 hex digits and a newline), or creates the file with a new random
 * id (mode 0600, its directory 0700 if missing). Returns 0, or -1 with the reason in why (a
 * malformed file is never replaced: the operator may want to keep the id it held). */
int device_id_load(const char *path, uint8_t id[DEVICE_ID_LEN], char *why, size_t why_len)
    __attribute__((warn_unused_result));

#endif
