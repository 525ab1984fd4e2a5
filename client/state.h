/* The client's connection state machine: every decision about handshakes and session life
 * (PROTOCOL.md sections 6 and 8, extensions 1-3), as a pure function of the state and one
 * input. No clock, socket, key or log here: the caller (conn.c) reads the clocks into the
 * input, performs the actions the step asks for, and logs the note it returns
 * (tests/unit/test_client_state.c feeds inputs and checks transitions and actions).
 *
 *              START                   ACCEPTED
 *     IDLE ------------> HANDSHAKE ------------------> CONNECTED <------+
 *                         ^  |  ^                        |   |         |
 *                         |  +--+ unanswered or          |   | rekey   | ACCEPTED
 *                         |       refused: retry         |   | due, or |
 *                         |       after the backoff      |   | a hint  |
 *                         |                              |   v         |
 *                         +---- dead peer, server -------+  REKEYING --+
 *                         |     DISCONNECT                   |  ^  |
 *                         +------------------------------------+  +--+ unanswered or refused:
 *                               dead peer, server DISCONNECT          retry after the backoff
 *     any state --STOP--> IDLE (DISCONNECT sent when a session exists)
 *
 *   HANDSHAKE  no session: the first connection or a reconnect. Requests go out with
 *              backoff; before the first connection the client gives up after
 *              FIRST_CONNECT_TIMEOUT_MS, or at once on a refusal (refusal.h).
 *   CONNECTED  one current session (and maybe the previous one, receiving until its rekey
 *              overlap ends); keepalive PINGs; no handshake under way.
 *   REKEYING   as CONNECTED, and a handshake for the next session runs: the current one keeps
 *              carrying traffic. A rekey is entered when rekey_interval is over, and also when
 *              a SESSION_UNKNOWN hint is believed (the server lost the session; the next one
 *              is needed quickly, so that handshake counts as urgent, see the window flag).
 *   A reconnect is a HANDSHAKE after a CONNECTED: the sessions are dropped first, the TUN
 *   thread stops sending, and the first connection's timeout no longer applies.
 *
 * Single-threaded: the client's main thread owns a struct client_sm. */
#ifndef CLIENT_STATE_H
#define CLIENT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vpn/limits.h"

enum client_sm_timing {
    HANDSHAKE_TIMEOUT_MS = 1000,        /* first retry; doubles per attempt ... */
    BACKOFF_MAX_MS = 30000,             /* ... up to this, plus up to a quarter of jitter */
    FIRST_CONNECT_TIMEOUT_MS = 30000,   /* no first session by then: exit */
    /* After the server's DISCONNECT: it is most likely stopping or restarting; the first
     * request goes out after this, not at once. */
    RECONNECT_AFTER_DISCONNECT_MS = 1000,
    DEAD_PEER_KEEPALIVES = 3,           /* keepalive intervals without an authenticated packet */
    /* SESSION_UNKNOWN (extension 2) is believed only after this long without an authenticated
     * packet, and starts at most one handshake per HINT_MIN_INTERVAL_MS. */
    HINT_QUIET_MS = 1000,
    HINT_MIN_INTERVAL_MS = 5000,
    /* COOKIE_REPLY (extension 3): the request goes again at once, at most once per
     * COOKIE_RESEND_MIN_MS, and the next attempt follows COOKIE_RETRY_MS later rather than
     * after the usual backoff (the server is there, but a loaded path loses datagrams). */
    COOKIE_RESEND_MIN_MS = 200,
    COOKIE_RETRY_MS = 300,
};

/* The extension flags a request carries when it carries any (state.c, choose_flags). */
enum { REQ_FLAGS_WANTED = REQ_FLAG_WINDOW | REQ_FLAG_DNS };

enum client_state {
    CLIENT_IDLE,
    CLIENT_HANDSHAKE,
    CLIENT_CONNECTED,
    CLIENT_REKEYING,
};

enum sm_input_type {
    SM_START,
    SM_TICK,            /* timers: retries, overlap end, dead peer, keepalive, rekey */
    SM_ACCEPTED,        /* the pending request got a session with a usable configuration */
    SM_UNUSABLE,        /* ... a session whose configuration the policy refuses (push_policy.h):
                           as if unanswered, the request stays pending */
    SM_REFUSED,         /* ... an authentic failure: status, server_ts */
    SM_COOKIE,          /* a COOKIE_REPLY that opened with the pending request's mac1 */
    SM_HINT,            /* SESSION_UNKNOWN (unauthenticated): sid, counter, sent */
    SM_DISCONNECT,      /* an authenticated DISCONNECT from the server: sid */
    SM_TRAFFIC,         /* an authenticated transport message */
    SM_STOP,
};

struct sm_input {
    enum sm_input_type type;
    uint64_t mono_ms;           /* monotonic clock at the input */
    uint64_t real_ms;           /* wall clock at the input (request timestamps, clock offset) */
    uint32_t jitter;            /* random; the backoff adds jitter % (backoff / 4 + 1) */
    uint64_t last_tx_ms;        /* TICK: when anything was last sent (monotonic) */
    /* ACCEPTED, REFUSED */
    uint64_t server_ts;         /* the response's header timestamp */
    uint8_t status;             /* REFUSED */
    uint32_t sid;               /* ACCEPTED: the new session; HINT, DISCONNECT: the named one */
    uint16_t keepalive_s;       /* ACCEPTED */
    uint32_t rekey_s;           /* ACCEPTED */
    uint64_t counter;           /* HINT: the refused message's counter */
    uint64_t sent;              /* HINT: counters used so far on the current session */
};

/* What a step asks the caller to do, in this order. */
enum sm_do {
    SM_DO_DROP_SESSIONS = 1 << 0,   /* forget current and previous: the TUN thread stops */
    SM_DO_RETIRE_PREVIOUS = 1 << 1, /* stop receiving on the previous session */
    SM_DO_FORGET_REQUEST = 1 << 2,  /* the pending request was answered: erase its secrets */
    SM_DO_INSTALL = 1 << 3,         /* the accepted session becomes current (the current one
                                       becomes the previous, receiving for REKEY_OVERLAP_MS);
                                       set the clock offset to out.clock_offset */
    SM_DO_REQUEST = 1 << 4,         /* send a new CONNECT_REQ: request_ts, request_flags,
                                       with_cookie */
    SM_DO_PING = 1 << 5,
    SM_DO_DISCONNECT = 1 << 6,      /* tell the server we leave, on the current session */
    SM_DO_EXIT = 1 << 7,            /* give up: exit status 1 */
};

/* The one thing about a step worth a log line. */
enum sm_note {
    NOTE_NONE,
    NOTE_NO_ANSWER_YET,         /* the first request of the first connection went unanswered */
    NOTE_TIMEOUT,               /* no first connection in time (EXIT) */
    NOTE_TIMEOUT_UNUSABLE,      /* ... and the last answer's configuration was refused */
    NOTE_CONNECTED,             /* the first session */
    NOTE_RECONNECTED,
    NOTE_REKEYED,
    NOTE_DEAD_PEER,             /* quiet_ms without an answer: reconnecting */
    NOTE_SERVER_ENDED,          /* the server's DISCONNECT: reconnecting */
    NOTE_HINT,                  /* SESSION_UNKNOWN believed: handshaking again */
    NOTE_COOKIE,                /* the server is under load: request again with its cookie */
    NOTE_REFUSED_EXIT,          /* status, in_a_row (EXIT) */
    NOTE_REFUSED_RETRY_WARN,    /* status, in_a_row */
    NOTE_REFUSED_RETRY,         /* status */
};

struct sm_output {
    unsigned todo;              /* enum sm_do bits */
    enum sm_note note;
    uint64_t request_ts;        /* REQUEST */
    uint8_t request_flags;      /* REQUEST: extension 1 flags (REQ_FLAGS_WANTED or 0) */
    bool with_cookie;           /* REQUEST: add mac2 with the server's cookie */
    int64_t clock_offset;       /* INSTALL: server time - local wall clock, ms */
    uint8_t status;             /* REFUSED notes */
    unsigned in_a_row;          /* REFUSED notes */
    uint64_t quiet_ms;          /* DEAD_PEER */
};

struct client_sm {
    enum client_state state;
    bool ever_connected;

    /* The handshake under way (HANDSHAKE, REKEYING). */
    bool pending;               /* a request is out and has no answer yet */
    bool answered;              /* the latest request got an answer (even a refusal) */
    bool urgent;                /* no usable session waits for this handshake */
    unsigned attempt;           /* requests of this handshake, for the backoff */
    uint64_t first_attempt_ms, next_attempt_ms;
    bool stale_retry_used;      /* STALE_TIMESTAMP is retried once per attempt */
    unsigned refusals_in_a_row; /* AUTH_FAILED, RATE_LIMITED since the last success */
    bool unusable;              /* the last answer's configuration was refused */

    /* Request timestamps (PROTOCOL.md section 6): strictly increasing, shifted to the
     * server's clock after a STALE_TIMESTAMP. */
    int64_t request_ts_shift;
    uint64_t last_request_ts;
    uint64_t request_sent_real; /* wall clock when the pending request left */

    /* Extension 1's WINDOW flag (docs/PROTOCOL.md, "Replay window in the response") and
     * extension 4's DNS flag: a server that predates them drops a request with the flags,
     * unanswered, so they go out as the last answers showed they are understood. */
    uint8_t request_flags;      /* of the latest request: REQ_FLAGS_WANTED or 0 */
    bool flags_understood;      /* the last answered request had the flags: an urgent
                                   handshake sends them first */

    /* Sessions: ids mirror what conn.c keeps in its slots. */
    uint32_t cur_sid, prev_sid;
    uint64_t cur_started_ms, prev_retire_ms;
    uint64_t keepalive_ms, rekey_ms;
    uint64_t last_rx_ms;        /* the last authenticated packet (monotonic) */
    uint64_t last_hint_ms;      /* the last handshake a hint started */
    uint64_t cookie_at_ms;      /* when the server's cookie came; 0: none */
};

void client_sm_init(struct client_sm *m);

/* Applies one input: updates m and fills out (cleared first). */
void client_sm_step(struct client_sm *m, const struct sm_input *in, struct sm_output *out);

/* The state's name for the status command: idle, connecting, connected, rekeying. */
const char *client_sm_state_name(enum client_state s);

/* The backoff before attempt n+1 after attempt n (n >= 1), jitter included. */
uint64_t client_sm_backoff_ms(unsigned attempt, uint32_t jitter);

#endif
