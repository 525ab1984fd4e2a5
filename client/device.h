/* This machine's device id (docs/PROTOCOL.md, extension 5): 16 random bytes drawn once and kept
 * in [client] device_file, so that the server tells this device's reconnects (its new session
 * replaces the old one) from another device of the same user (a session of its own). Copying
 * a client.conf to another machine does not copy the id. Read or created while the client is
 * still root, before its sandbox forbids opening files. */
#ifndef CLIENT_DEVICE_H
#define CLIENT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpn/limits.h"

/* Reads the id from path (32 hex digits and a newline), or creates the file with a new random
 * id (mode 0600, its directory 0700 if missing). Returns 0, or -1 with the reason in why (a
 * malformed file is never replaced: the operator may want to keep the id it held). */
int device_id_load(const char *path, uint8_t id[DEVICE_ID_LEN], char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* When a request carries the id (docs/PROTOCOL.md, extension 5, "Compatibility"). A server
 * older than the extension drops a request with it unanswered, which the client cannot tell
 * from a loss; and a request without it connects as the user's implicit device, another
 * device than this one, with another address. So:
 *   - until this server has answered a request with the id, the id goes with the WINDOW flag
 *     (the state machine's choice, which already alternates after an unanswered request):
 *     a server that knows neither is found out after one dropped request;
 *   - once it has, every request carries the id, whatever the state machine chooses, so that
 *     a lost or tampered request never turns this device into the implicit one;
 *   - after DEVICE_UNANSWERED_MAX requests with it in a row went unanswered (the server was
 *     replaced by an older one), back to the first rule.
 * Pure: the caller (conn.c) tells it what happened. */
enum { DEVICE_UNANSWERED_MAX = 3 };

struct device_policy {
    bool has_id;            /* device_id_load succeeded */
    bool understood;        /* a request with the id got an authentic answer from this server */
    bool pending;           /* the request out carries it and has no answer yet */
    unsigned unanswered;    /* requests with it that went unanswered, in a row */
};

/* Whether the request about to go carries the id; window: it carries the WINDOW flag. */
bool device_policy_send(struct device_policy *p, bool window);
/* The request out got an answer, so the next request is no sign of a loss. understood: an
 * authentic response, even a refusal: the server read the request with whatever it carried.
 * A cookie reply is not (it comes from the server's front door, before the enclave reads the
 * flags). */
void device_policy_answered(struct device_policy *p, bool understood);

#endif
