/* The client's connection state machine (see state.h): pure, no I/O. */
#include "state.h"

#include <string.h>

#include "refusal.h"
#include "vpn/limits.h"

void client_sm_init(struct client_sm *m)
{
    memset(m, 0, sizeof(*m));
    m->state = CLIENT_IDLE;
    /* Until a server shows otherwise, it is assumed to understand the flags: every server
     * built from this tree does, and against an older one the fallback costs one backoff
     * once. */
    m->flags_understood = true;
}

const char *client_sm_state_name(enum client_state s)
{
    switch (s) {
    case CLIENT_HANDSHAKE: return "connecting";
    case CLIENT_CONNECTED: return "connected";
    case CLIENT_REKEYING: return "connected (rekeying)";
    default: return "idle";
    }
}

uint64_t client_sm_backoff_ms(unsigned attempt, uint32_t jitter)
{
    uint64_t ms = HANDSHAKE_TIMEOUT_MS;
    for (unsigned i = 1; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    /* Jitter, so that many clients of a restarted server do not come back in lockstep. */
    return ms + jitter % (uint32_t)(ms / 4 + 1);
}

static bool has_session(const struct client_sm *m)
{
    return m->state == CLIENT_CONNECTED || m->state == CLIENT_REKEYING;
}

/* A CONNECT_REQ stamped ts with the given flags; the pending request from now on. */
static void request(struct client_sm *m, const struct sm_input *in, struct sm_output *out,
                    uint64_t ts, uint8_t flags)
{
    out->todo |= SM_DO_REQUEST;
    out->request_ts = ts;
    out->request_flags = flags;
    /* A server under load asked for proof that we receive at our address (extension 3). */
    out->with_cookie = m->cookie_at_ms && in->mono_ms - m->cookie_at_ms < COOKIE_USE_MS;
    m->last_request_ts = ts;
    m->request_sent_real = in->real_ms;
    m->request_flags = flags;
    m->pending = true;
    m->answered = false;
}

/* Request timestamps strictly increase, whatever the local clock does (PROTOCOL.md). */
static uint64_t next_request_ts(const struct client_sm *m, const struct sm_input *in)
{
    uint64_t ts = (uint64_t)((int64_t)in->real_ms + m->request_ts_shift);
    return ts > m->last_request_ts ? ts : m->last_request_ts + 1;
}

/* The extension flags of the next attempt: all of REQ_FLAGS_WANTED (the WINDOW flag and
 * extension 4's DNS flag) or none. The first request of an urgent handshake (no session to
 * fall back on) goes as the last answers showed the server understands; a rekey tries the
 * flags first anyway, since its session carries on meanwhile: so a server upgraded while we
 * run, or a lost datagram that made us think the flags unwelcome, is found out at the next
 * rekey. A request that went unanswered is followed by one with the other choice: an older
 * server drops a flagged request without a word, and it cannot be told from a loss. All or
 * none, not a ladder: a server that knows WINDOW but not DNS (one of the release before
 * extension 4) is then answered without flags, and the client assumes the default window
 * with it; one more rung would cost every new server's clients a second lost second. */
static uint8_t choose_flags(struct client_sm *m)
{
    bool flag;
    if (m->attempt == 1)
        flag = m->urgent ? m->flags_understood : true;
    else if (m->answered)
        flag = m->request_flags != 0;
    else
        flag = m->request_flags == 0;
    return flag ? REQ_FLAGS_WANTED : 0;
}

/* The next request of the current handshake. */
static void attempt(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    m->attempt++;
    m->stale_retry_used = false;
    request(m, in, out, next_request_ts(m, in), choose_flags(m));
    m->next_attempt_ms = in->mono_ms + client_sm_backoff_ms(m->attempt, in->jitter);
}

/* A new handshake; urgent when no session carries traffic meanwhile. */
static void begin_handshake(struct client_sm *m, const struct sm_input *in, bool urgent)
{
    m->attempt = 0;
    m->answered = true;     /* nothing unanswered yet */
    m->urgent = urgent;
    m->first_attempt_ms = in->mono_ms;
}

/* Every session is gone (dead peer, the server's DISCONNECT): HANDSHAKE, as a reconnect. */
static void lose_sessions(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    out->todo |= SM_DO_DROP_SESSIONS;
    m->cur_sid = m->prev_sid = 0;
    m->state = CLIENT_HANDSHAKE;
}

/* An answer (of any kind) to the pending request. An urgent handshake starts with the flag
 * choice that was answered last: an unflagged request is only ever sent when a flagged one
 * went unanswered or the server did not answer flagged ones before. */
static void learn_flag(struct client_sm *m)
{
    m->answered = true;
    m->flags_understood = m->request_flags != 0;
}

static void on_start(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    if (m->state != CLIENT_IDLE)
        return;
    m->state = CLIENT_HANDSHAKE;
    begin_handshake(m, in, true);
    attempt(m, in, out);
}

static void on_tick(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    uint64_t now = in->mono_ms;
    if (m->prev_sid && now >= m->prev_retire_ms) {
        out->todo |= SM_DO_RETIRE_PREVIOUS;
        m->prev_sid = 0;
    }
    /* Nothing authenticated for three keepalives: the server restarted, its clock stepped or
     * the path changed. A rekey under way is abandoned for a reconnect. */
    if (has_session(m) && m->keepalive_ms &&
        now - m->last_rx_ms > DEAD_PEER_KEEPALIVES * m->keepalive_ms) {
        out->note = NOTE_DEAD_PEER;
        out->quiet_ms = now - m->last_rx_ms;
        lose_sessions(m, in, out);
        begin_handshake(m, in, true);
        attempt(m, in, out);
        return;
    }
    if ((m->state == CLIENT_HANDSHAKE || m->state == CLIENT_REKEYING) &&
        now >= m->next_attempt_ms) {
        if (!m->ever_connected && now - m->first_attempt_ms >= FIRST_CONNECT_TIMEOUT_MS) {
            out->todo |= SM_DO_EXIT;
            out->note = m->unusable ? NOTE_TIMEOUT_UNUSABLE : NOTE_TIMEOUT;
            return;
        }
        if (m->attempt == 1 && !m->ever_connected && !m->unusable)
            out->note = NOTE_NO_ANSWER_YET;
        attempt(m, in, out);
    }
    if (!has_session(m))
        return;
    if (m->keepalive_ms && now - in->last_tx_ms >= m->keepalive_ms)
        out->todo |= SM_DO_PING;
    if (m->state == CLIENT_CONNECTED && m->rekey_ms && now - m->cur_started_ms >= m->rekey_ms) {
        m->state = CLIENT_REKEYING;
        begin_handshake(m, in, false);
        attempt(m, in, out);
    }
}

static void on_accepted(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    if (!m->pending)
        return;
    learn_flag(m);
    out->todo |= SM_DO_FORGET_REQUEST | SM_DO_INSTALL;
    out->note = !m->ever_connected            ? NOTE_CONNECTED
                : m->state == CLIENT_REKEYING ? NOTE_REKEYED
                                              : NOTE_RECONNECTED;
    out->clock_offset =
        (int64_t)in->server_ts - (int64_t)((m->request_sent_real + in->real_ms) / 2);
    /* The current session keeps receiving for the overlap: the server may still have packets
     * in flight on it. One before it is dropped now, overlap or not. */
    if (m->cur_sid) {
        m->prev_sid = m->cur_sid;
        m->prev_retire_ms = in->mono_ms + REKEY_OVERLAP_MS;
    }
    m->cur_sid = in->sid;
    m->cur_started_ms = in->mono_ms;
    m->keepalive_ms = (uint64_t)in->keepalive_s * 1000;
    m->rekey_ms = (uint64_t)in->rekey_s * 1000;
    m->last_rx_ms = in->mono_ms;
    m->state = CLIENT_CONNECTED;
    m->ever_connected = true;
    m->pending = false;
    m->attempt = 0;
    m->refusals_in_a_row = 0;
    m->unusable = false;
}

static void on_unusable(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    if (!m->pending)
        return;
    /* Refused by our policy: as if unanswered, retried after the backoff. But the server did
     * answer, so what it said about the flag counts. */
    learn_flag(m);
    m->unusable = true;
}

static void on_refused(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    if (!m->pending)
        return;
    learn_flag(m);
    if (in->status == STATUS_STALE_TIMESTAMP && !m->stale_retry_used) {
        /* Our clock is behind the server's record (no RTC, or a restarted client that was
         * faster before): retry once with the server's minimum, and stamp later requests
         * relative to it. */
        int64_t shift = (int64_t)in->server_ts - (int64_t)in->real_ms;
        if (shift > m->request_ts_shift)
            m->request_ts_shift = shift;
        m->stale_retry_used = true;
        uint64_t ts = in->server_ts > m->last_request_ts ? in->server_ts : m->last_request_ts + 1;
        request(m, in, out, ts, m->request_flags);
        return;
    }
    /* Answered: a replay of this answer now finds no request pending. The next request goes
     * when the backoff of the last one is over. */
    out->todo |= SM_DO_FORGET_REQUEST;
    m->pending = false;
    m->answered = true;
    out->status = in->status;
    switch (refusal_decide(in->status, m->ever_connected, &m->refusals_in_a_row)) {
    case REFUSAL_EXIT:
        out->todo |= SM_DO_EXIT;
        out->note = NOTE_REFUSED_EXIT;
        break;
    case REFUSAL_RETRY_WARN:
        out->note = NOTE_REFUSED_RETRY_WARN;
        break;
    case REFUSAL_RETRY:
        out->note = NOTE_REFUSED_RETRY;
        break;
    }
    out->in_a_row = m->refusals_in_a_row;
}

static void on_cookie(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    if (!m->pending)
        return;
    bool resend = !m->cookie_at_ms || in->mono_ms - m->cookie_at_ms >= COOKIE_RESEND_MIN_MS;
    m->cookie_at_ms = in->mono_ms;
    if (!resend)
        return;
    /* A new request (new timestamp and ephemeral key) with mac2; the cookie comes from the
     * server's front door, not from whatever reads the flags, so it says nothing about them. */
    out->note = NOTE_COOKIE;
    request(m, in, out, next_request_ts(m, in), m->request_flags);
    m->next_attempt_ms = in->mono_ms + COOKIE_RETRY_MS;
}

/* SESSION_UNKNOWN (docs/PROTOCOL.md, extension 2) is not authenticated, so it is believed only
 * when it names our current session and a counter we have already sent, when nothing
 * authenticated has arrived for HINT_QUIET_MS, and when no hint started a handshake in the
 * last HINT_MIN_INTERVAL_MS; not during a handshake, nor while a refusal's backoff runs (both
 * are REKEYING). The current session stays in use until the new one is made: a forged hint
 * costs one handshake, nothing more. */
static void on_hint(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    uint64_t now = in->mono_ms;
    if (m->state != CLIENT_CONNECTED || in->sid != m->cur_sid || in->counter >= in->sent)
        return;
    if (now - m->last_rx_ms < HINT_QUIET_MS ||
        (m->last_hint_ms && now - m->last_hint_ms < HINT_MIN_INTERVAL_MS))
        return;
    m->last_hint_ms = now;
    out->note = NOTE_HINT;
    m->state = CLIENT_REKEYING;
    begin_handshake(m, in, true);
    attempt(m, in, out);
}

static void on_disconnect(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    if (has_session(m) && in->sid && in->sid == m->cur_sid) {
        out->note = NOTE_SERVER_ENDED;
        lose_sessions(m, in, out);
        /* A request already out may still be answered and is taken then; otherwise the first
         * request of the reconnect goes a little later. */
        begin_handshake(m, in, true);
        m->next_attempt_ms = in->mono_ms + RECONNECT_AFTER_DISCONNECT_MS;
    } else if (in->sid && in->sid == m->prev_sid) {
        out->todo |= SM_DO_RETIRE_PREVIOUS;
        m->prev_sid = 0;
    }
}

static void on_stop(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    if (has_session(m))
        out->todo |= SM_DO_DISCONNECT;
    if (m->pending)
        out->todo |= SM_DO_FORGET_REQUEST;
    m->pending = false;
    m->state = CLIENT_IDLE;
}

void client_sm_step(struct client_sm *m, const struct sm_input *in, struct sm_output *out)
{
    memset(out, 0, sizeof(*out));
    switch (in->type) {
    case SM_START: on_start(m, in, out); break;
    case SM_TICK: on_tick(m, in, out); break;
    case SM_ACCEPTED: on_accepted(m, in, out); break;
    case SM_UNUSABLE: on_unusable(m, in, out); break;
    case SM_REFUSED: on_refused(m, in, out); break;
    case SM_COOKIE: on_cookie(m, in, out); break;
    case SM_HINT: on_hint(m, in, out); break;
    case SM_DISCONNECT: on_disconnect(m, in, out); break;
    case SM_TRAFFIC:
        m->last_rx_ms = in->mono_ms;
        break;
    case SM_STOP: on_stop(m, in, out); break;
    }
}
