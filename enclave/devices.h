/* A user's devices in the enclave (docs/PROTOCOL.md, extension 5): which session is each
 * device's current one and which is in its rekey overlap, in a fixed table of
 * USER_DEVICES_MAX records per user (users.h), shared by every worker.
 *
 * Any worker may bind a session to a record at any time (handshakes of one user's devices run
 * in parallel on different workers), so records change by compare-and-swap only, never under
 * a lock (a worker killed while holding one would stop the user for good):
 *   - a record belongs to a device while its current or previous session id names a live key
 *     slot; otherwise it is free, whatever id it still holds;
 *   - a new session of a device whose record is live becomes its current one, and the old
 *     current one its previous (the one before dies: slot_alive);
 *   - a new device claims a free record: it marks the record CLAIMING, writes its id, then
 *     publishes its session. Nobody matches or claims a record while it is marked.
 * A record whose claimer died between mark and publish stays unusable until the user's next
 * generation (a reload that changes or re-enables the user, or an enclave restart): at most
 * one record per dead worker, and workers die only of bugs or signals. */
#ifndef ENCLAVE_DEVICES_H
#define ENCLAVE_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/limits.h"

struct enclave_secrets;
struct enclave_user;

/* Makes session_id (whose key slot is already live) the current session of the device id of
 * user u (all zero: the implicit device of requests without extension 5). Returns the
 * record's index, or -1 when every record holds a live session of another device: the user
 * has USER_DEVICES_MAX devices online (the caller refuses with SERVER_FULL). */
int devices_bind(struct enclave_secrets *s, struct enclave_user *u,
                 const uint8_t id[DEVICE_ID_LEN], uint32_t session_id);

/* Whether session_id is record d's current or previous session. */
bool devices_holds(const struct enclave_user *u, int d, uint32_t session_id);

#endif
