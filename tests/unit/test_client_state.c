/* The client's connection state machine (client/state.c), fed inputs one at a time on a
 * simulated clock: which state it moves to, and which actions and log notes it asks for.
 * Jitter is 0, so the backoff is exactly 1, 2, 4 ... s. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../client/refusal.h"
#include "../../client/state.h"
#include "vpn/limits.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct client_sm m;
static struct sm_output out;
static uint64_t mono, real, last_tx;

/* The wall clock runs 1.7e12 ms ahead of the monotonic one, as it does in 2024. */
enum { REAL_BASE = 1700000000 };

static void setup(void)
{
    client_sm_init(&m);
    memset(&out, 0, sizeof(out));
    mono = 1000000;
    real = (uint64_t)REAL_BASE * 1000 + mono;
    last_tx = mono;
}

TestSuite(client_state, .init = setup);

static struct sm_input input(enum sm_input_type type)
{
    struct sm_input in = { .type = type, .mono_ms = mono, .real_ms = real,
                           .last_tx_ms = last_tx };
    return in;
}

static void feed(enum sm_input_type type)
{
    struct sm_input in = input(type);
    client_sm_step(&m, &in, &out);
}

static void later(uint64_t ms)
{
    mono += ms;
    real += ms;
}

static void tick_after(uint64_t ms)
{
    later(ms);
    feed(SM_TICK);
}

static void accept_session(uint32_t sid, uint16_t keepalive_s, uint32_t rekey_s)
{
    struct sm_input in = input(SM_ACCEPTED);
    in.sid = sid;
    in.keepalive_s = keepalive_s;
    in.rekey_s = rekey_s;
    in.server_ts = real;
    client_sm_step(&m, &in, &out);
}

static void refuse(uint8_t status, uint64_t server_ts)
{
    struct sm_input in = input(SM_REFUSED);
    in.status = status;
    in.server_ts = server_ts;
    client_sm_step(&m, &in, &out);
}

static void hint(uint32_t sid, uint64_t counter, uint64_t sent)
{
    struct sm_input in = input(SM_HINT);
    in.sid = sid;
    in.counter = counter;
    in.sent = sent;
    client_sm_step(&m, &in, &out);
}

static void disconnect(uint32_t sid)
{
    struct sm_input in = input(SM_DISCONNECT);
    in.sid = sid;
    client_sm_step(&m, &in, &out);
}

static bool asked(unsigned what)
{
    return (out.todo & what) == what;
}

/* Time passes with traffic both ways every second; stops at the first tick that asks for
 * something, or after ms. */
static void busy(uint64_t ms)
{
    uint64_t end = mono + ms;
    while (mono < end) {
        later(end - mono < 1000 ? end - mono : 1000);
        feed(SM_TRAFFIC);
        last_tx = mono;
        feed(SM_TICK);
        if (out.todo)
            return;
    }
}

/* Connected with session 0x101, keepalive 25 s, rekey every 600 s. */
static void connected(void)
{
    feed(SM_START);
    later(20);
    accept_session(0x101, 25, 600);
    cr_assert_eq(m.state, CLIENT_CONNECTED);
}

Test(client_state, start_sends_the_first_request_with_the_window_flag)
{
    cr_assert_eq(m.state, CLIENT_IDLE);
    feed(SM_START);
    cr_expect_eq(m.state, CLIENT_HANDSHAKE);
    cr_expect_eq(out.todo, SM_DO_REQUEST);
    cr_expect_eq(out.request_ts, real, "stamped with the wall clock");
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED);
    cr_expect_not(out.with_cookie);
    cr_expect(m.pending);
    feed(SM_START);
    cr_expect_eq(out.todo, 0, "a second START does nothing");
}

Test(client_state, unanswered_requests_back_off_and_alternate_the_flag)
{
    static const struct { uint64_t after; uint8_t flags; } want[] = {
        { 1000, 0 }, { 2000, REQ_FLAGS_WANTED }, { 4000, 0 }, { 8000, REQ_FLAGS_WANTED },
    };
    feed(SM_START);
    uint64_t ts = out.request_ts;
    for (unsigned i = 0; i < N(want); i++) {
        tick_after(want[i].after - 1);
        cr_expect_eq(out.todo, 0, "attempt %u: nothing before the backoff is over", i + 2);
        tick_after(1);
        cr_expect_eq(out.todo, SM_DO_REQUEST, "attempt %u after %llu ms", i + 2,
                     (unsigned long long)want[i].after);
        cr_expect_eq(out.request_flags, want[i].flags, "attempt %u: flags %u", i + 2,
                     out.request_flags);
        cr_expect_gt(out.request_ts, ts, "timestamps increase");
        cr_expect_eq(out.note, i == 0 ? NOTE_NO_ANSWER_YET : NOTE_NONE);
        ts = out.request_ts;
    }
}

Test(client_state, the_backoff_doubles_up_to_its_maximum_plus_jitter)
{
    cr_expect_eq(client_sm_backoff_ms(1, 0), 1000);
    cr_expect_eq(client_sm_backoff_ms(2, 0), 2000);
    cr_expect_eq(client_sm_backoff_ms(6, 0), 30000);
    cr_expect_eq(client_sm_backoff_ms(40, 0), 30000);
    cr_expect_eq(client_sm_backoff_ms(1, 250), 1250, "a quarter of jitter at most");
    cr_expect_eq(client_sm_backoff_ms(1, 251), 1000);
}

Test(client_state, no_first_connection_in_30_s_exits)
{
    feed(SM_START);
    uint64_t start = mono;
    while (!(out.todo & SM_DO_EXIT) && mono - start < 60000)
        tick_after(100);
    cr_expect(asked(SM_DO_EXIT));
    cr_expect_eq(out.note, NOTE_TIMEOUT);
    cr_expect_geq(mono - start, FIRST_CONNECT_TIMEOUT_MS);
    cr_expect_lt(mono - start, FIRST_CONNECT_TIMEOUT_MS + BACKOFF_MAX_MS + 1);
}

Test(client_state, a_refused_configuration_is_named_at_the_timeout)
{
    feed(SM_START);
    feed(SM_UNUSABLE);
    cr_expect_eq(out.todo, 0, "as if unanswered");
    cr_expect(m.pending, "the request stays pending");
    uint64_t start = mono;
    while (!(out.todo & SM_DO_EXIT) && mono - start < 60000) {
        tick_after(100);
        cr_expect_neq(out.note, NOTE_NO_ANSWER_YET, "it was answered");
    }
    cr_expect_eq(out.note, NOTE_TIMEOUT_UNUSABLE);
}

Test(client_state, accepted_installs_the_session_and_measures_the_clock_offset)
{
    feed(SM_START);
    uint64_t sent = real;
    later(40);
    struct sm_input in = input(SM_ACCEPTED);
    in.sid = 0x101;
    in.keepalive_s = 25;
    in.rekey_s = 600;
    in.server_ts = sent + 5020;     /* the server is 5 s ahead; 20 ms each way */
    client_sm_step(&m, &in, &out);
    cr_expect_eq(m.state, CLIENT_CONNECTED);
    cr_expect_eq(out.todo, SM_DO_FORGET_REQUEST | SM_DO_INSTALL);
    cr_expect_eq(out.note, NOTE_CONNECTED);
    cr_expect_eq(out.clock_offset, 5000);
    cr_expect_not(m.pending);
    accept_session(0x102, 25, 600);
    cr_expect_eq(out.todo, 0, "a second answer finds no request pending");
    cr_expect_eq(m.cur_sid, 0x101);
}

Test(client_state, an_old_server_is_found_out_once)
{
    /* A server that predates the WINDOW flag drops flagged requests without a word. */
    feed(SM_START);
    cr_assert_eq(out.request_flags, REQ_FLAGS_WANTED);
    tick_after(1000);
    cr_assert_eq(out.request_flags, 0, "the fallback");
    later(10);
    accept_session(0x101, 25, 600);
    cr_expect_not(m.flags_understood);
    /* A reconnect (urgent) starts without the flag at once ... */
    tick_after(76000);
    cr_expect_eq(out.note, NOTE_DEAD_PEER);
    cr_expect(asked(SM_DO_DROP_SESSIONS | SM_DO_REQUEST));
    cr_expect_eq(out.request_flags, 0);
    later(10);
    accept_session(0x102, 25, 600);
    /* ... a rekey (the session carries on meanwhile) tries the flag first, then not. */
    busy(600000);
    cr_expect_eq(m.state, CLIENT_REKEYING);
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED);
    busy(1000);
    cr_expect(asked(SM_DO_REQUEST));
    cr_expect_eq(out.request_flags, 0);
}

Test(client_state, a_new_server_keeps_the_flag_and_a_rekey_restores_it)
{
    feed(SM_START);
    later(10);
    accept_session(0x101, 25, 600);
    cr_expect(m.flags_understood);
    /* A loss during a reconnect makes the unflagged retry win ... */
    tick_after(76000);
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED);
    tick_after(1000);
    cr_expect_eq(out.request_flags, 0);
    accept_session(0x102, 25, 600);
    cr_expect_not(m.flags_understood);
    /* ... until the next rekey asks again and is answered. */
    busy(600000);
    cr_expect_eq(m.state, CLIENT_REKEYING);
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED);
    accept_session(0x103, 25, 600);
    cr_expect(m.flags_understood);
    cr_expect_eq(out.note, NOTE_REKEYED);
}

Test(client_state, a_refusal_shows_the_flag_is_understood)
{
    m.flags_understood = false;
    feed(SM_START);
    cr_expect_eq(out.request_flags, 0);
    tick_after(1000);
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED, "unanswered: the other choice");
    refuse(STATUS_RATE_LIMITED, real);
    cr_expect(m.flags_understood);
    tick_after(2000);
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED, "answered: kept");
}

Test(client_state, refusals_before_the_first_connection)
{
    static const struct { uint8_t status; bool exits; } cases[] = {
        { STATUS_AUTH_FAILED, true },   { STATUS_SERVER_FULL, true },
        { STATUS_POOL_EXHAUSTED, true }, { STATUS_RATE_LIMITED, false },
    };
    for (unsigned i = 0; i < N(cases); i++) {
        setup();
        feed(SM_START);
        later(10);
        refuse(cases[i].status, real);
        cr_expect(asked(SM_DO_FORGET_REQUEST), "status %u", cases[i].status);
        cr_expect_eq(asked(SM_DO_EXIT), cases[i].exits, "status %u", cases[i].status);
        cr_expect_eq(out.status, cases[i].status);
        cr_expect_not(m.pending);
        if (cases[i].exits)
            continue;
        cr_expect_eq(out.note, NOTE_REFUSED_RETRY_WARN);
        tick_after(900);
        cr_expect_eq(out.todo, 0, "the retry waits for the backoff");
        tick_after(90);
        cr_expect_eq(out.todo, SM_DO_REQUEST);
    }
}

Test(client_state, stale_timestamp_is_retried_at_once_with_the_servers_time)
{
    feed(SM_START);
    uint64_t server_min = real + 3600000;  /* our clock is an hour behind the server's record */
    later(10);
    refuse(STATUS_STALE_TIMESTAMP, server_min);
    cr_expect_eq(out.todo, SM_DO_REQUEST, "no FORGET: the retry replaces the request");
    cr_expect_eq(out.request_ts, server_min);
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED);
    cr_expect(m.pending);
    later(10);
    refuse(STATUS_STALE_TIMESTAMP, server_min + 20);
    cr_expect(asked(SM_DO_EXIT), "only once per attempt");
    /* Later requests are stamped relative to the server's minimum. */
    setup();
    connected();
    busy(600000);
    cr_assert_eq(m.state, CLIENT_REKEYING);
    uint64_t before = out.request_ts;
    later(10);
    refuse(STATUS_STALE_TIMESTAMP, before + 3600000);
    later(10);
    refuse(STATUS_STALE_TIMESTAMP, before + 3600000);
    cr_expect_eq(out.note, NOTE_REFUSED_RETRY, "once connected, retried");
    busy(1000);
    cr_expect(asked(SM_DO_REQUEST));
    cr_expect_geq(out.request_ts, before + 3600000 + 1000);
}

Test(client_state, request_timestamps_increase_when_the_clock_steps_back)
{
    feed(SM_START);
    uint64_t ts = out.request_ts;
    real -= 3600000;
    tick_after(1000);
    cr_expect_eq(out.request_ts, ts + 1);
}

Test(client_state, keepalive_pings_after_a_quiet_interval)
{
    connected();
    last_tx = mono;
    tick_after(24999);
    cr_expect_not(asked(SM_DO_PING));
    tick_after(1);
    cr_expect(asked(SM_DO_PING));
}

Test(client_state, three_quiet_keepalives_reconnect)
{
    connected();
    for (int i = 0; i < 10; i++) {
        tick_after(20000);
        feed(SM_TRAFFIC);
    }
    cr_expect_eq(m.state, CLIENT_CONNECTED, "traffic keeps it alive");
    tick_after(75000);
    cr_expect_eq(m.state, CLIENT_CONNECTED, "75 s is still three intervals");
    tick_after(1);
    cr_expect_eq(m.state, CLIENT_HANDSHAKE);
    cr_expect(asked(SM_DO_DROP_SESSIONS | SM_DO_REQUEST));
    cr_expect_eq(out.note, NOTE_DEAD_PEER);
    cr_expect_eq(out.quiet_ms, 75001);
    cr_expect_eq(m.cur_sid, 0);
    later(10);
    accept_session(0x102, 25, 600);
    cr_expect_eq(out.note, NOTE_RECONNECTED);
}

Test(client_state, rekey_overlap_and_the_previous_session)
{
    connected();
    busy(599999);
    cr_expect_eq(m.state, CLIENT_CONNECTED);
    cr_expect_eq(out.todo, 0);
    busy(1);
    cr_expect_eq(m.state, CLIENT_REKEYING);
    cr_expect_eq(out.todo, SM_DO_REQUEST);
    cr_expect_eq(out.request_flags, REQ_FLAGS_WANTED);
    hint(0x101, 1, 10);
    cr_expect_eq(out.todo, 0, "no hint while rekeying");
    later(20);
    accept_session(0x102, 25, 600);
    cr_expect_eq(m.state, CLIENT_CONNECTED);
    cr_expect_eq(out.note, NOTE_REKEYED);
    cr_expect_eq(m.cur_sid, 0x102);
    cr_expect_eq(m.prev_sid, 0x101);
    busy(REKEY_OVERLAP_MS - 1);
    cr_expect_eq(out.todo, 0);
    busy(1);
    cr_expect_eq(out.todo, SM_DO_RETIRE_PREVIOUS);
    cr_expect_eq(m.prev_sid, 0);
}

Test(client_state, refused_rekeys_retry_until_five_in_a_row)
{
    connected();
    busy(600000);
    cr_assert_eq(m.state, CLIENT_REKEYING);
    for (unsigned i = 1; i <= REFUSALS_IN_A_ROW_MAX; i++) {
        later(5);
        refuse(STATUS_AUTH_FAILED, real);
        cr_expect_eq(out.in_a_row, i);
        if (i < REFUSALS_IN_A_ROW_MAX) {
            cr_expect_eq(out.note, NOTE_REFUSED_RETRY_WARN, "refusal %u", i);
            cr_expect_eq(m.state, CLIENT_REKEYING, "the session carries on");
            busy(client_sm_backoff_ms(i, 0));
            cr_expect(asked(SM_DO_REQUEST), "retry %u", i);
        }
    }
    cr_expect(asked(SM_DO_EXIT));
    cr_expect_eq(out.note, NOTE_REFUSED_EXIT);
}

Test(client_state, server_disconnect)
{
    connected();
    disconnect(0x999);
    cr_expect_eq(out.todo, 0, "an unknown session: nothing");
    disconnect(0x101);
    cr_expect_eq(m.state, CLIENT_HANDSHAKE);
    cr_expect_eq(out.todo, SM_DO_DROP_SESSIONS, "no request at once");
    cr_expect_eq(out.note, NOTE_SERVER_ENDED);
    tick_after(RECONNECT_AFTER_DISCONNECT_MS - 1);
    cr_expect_eq(out.todo, 0);
    tick_after(1);
    cr_expect_eq(out.todo, SM_DO_REQUEST);
    later(10);
    accept_session(0x102, 25, 600);
    cr_expect_eq(out.note, NOTE_RECONNECTED);
}

Test(client_state, disconnect_on_the_previous_session_only_retires_it)
{
    connected();
    busy(600000);
    accept_session(0x102, 25, 600);
    disconnect(0x101);
    cr_expect_eq(out.todo, SM_DO_RETIRE_PREVIOUS);
    cr_expect_eq(m.state, CLIENT_CONNECTED);
    cr_expect_eq(m.prev_sid, 0);
    cr_expect_eq(m.cur_sid, 0x102);
}

Test(client_state, disconnect_during_a_rekey_keeps_the_request)
{
    connected();
    busy(600000);
    cr_assert_eq(m.state, CLIENT_REKEYING);
    disconnect(0x101);
    cr_expect_eq(m.state, CLIENT_HANDSHAKE);
    cr_expect(m.pending);
    later(10);
    accept_session(0x102, 25, 600);
    cr_expect_eq(out.note, NOTE_RECONNECTED, "the answer to the rekey's request is taken");
    cr_expect_eq(m.prev_sid, 0, "nothing to overlap with");
}

Test(client_state, a_hint_is_believed_only_when_every_rule_holds)
{
    static const struct {
        const char *what;
        uint32_t sid;
        uint64_t counter, sent, quiet_ms;
        bool believed;
    } cases[] = {
        { "names our session, a counter we sent, after 1 s quiet", 0x101, 5, 10, 1000, true },
        { "another session", 0x102, 5, 10, 1000, false },
        { "a counter we never sent", 0x101, 10, 10, 1000, false },
        { "traffic less than 1 s ago", 0x101, 5, 10, 999, false },
    };
    for (unsigned i = 0; i < N(cases); i++) {
        setup();
        connected();
        later(cases[i].quiet_ms);
        hint(cases[i].sid, cases[i].counter, cases[i].sent);
        cr_expect_eq(m.state == CLIENT_REKEYING, cases[i].believed, "%s", cases[i].what);
        cr_expect_eq(asked(SM_DO_REQUEST), cases[i].believed, "%s", cases[i].what);
        if (cases[i].believed) {
            cr_expect_eq(out.note, NOTE_HINT);
            cr_expect_not(asked(SM_DO_DROP_SESSIONS), "the session stays in use");
        }
    }
}

Test(client_state, at_most_one_hint_handshake_per_5_s)
{
    connected();
    later(1000);
    hint(0x101, 1, 10);
    cr_assert_eq(out.note, NOTE_HINT);
    later(10);
    accept_session(0x102, 25, 600);
    later(2000);
    hint(0x102, 1, 10);
    cr_expect_eq(out.todo, 0, "3 s after the last one");
    later(3000);
    hint(0x102, 1, 10);
    cr_expect_eq(out.note, NOTE_HINT, "5 s after");
}

Test(client_state, a_hint_during_a_handshake_or_before_connecting_is_ignored)
{
    feed(SM_START);
    later(2000);
    hint(0, 0, 10);
    cr_expect_eq(out.todo, 0);
    cr_expect_eq(m.state, CLIENT_HANDSHAKE);
}

Test(client_state, a_cookie_sends_the_request_again_at_once)
{
    feed(SM_COOKIE);
    cr_expect_eq(out.todo, 0, "no request pending: ignored");
    feed(SM_START);
    uint8_t flags = out.request_flags;
    later(5);
    feed(SM_COOKIE);
    cr_expect_eq(out.todo, SM_DO_REQUEST);
    cr_expect(out.with_cookie);
    cr_expect_eq(out.request_flags, flags);
    cr_expect_eq(out.note, NOTE_COOKIE);
    later(COOKIE_RESEND_MIN_MS - 1);
    feed(SM_COOKIE);
    cr_expect_eq(out.todo, 0, "at most one resend per 200 ms");
    tick_after(COOKIE_RETRY_MS - COOKIE_RESEND_MIN_MS);
    cr_expect_eq(out.todo, 0);
    tick_after(COOKIE_RESEND_MIN_MS);
    cr_expect(asked(SM_DO_REQUEST), "the next attempt soon, not after the backoff");
    cr_expect(out.with_cookie);
    later(COOKIE_USE_MS);
    accept_session(0x101, 25, 0);
    later(1000);
    hint(0x101, 1, 10);
    cr_expect(asked(SM_DO_REQUEST));
    cr_expect_not(out.with_cookie, "a cookie is used for 110 s at most");
}

Test(client_state, stop)
{
    feed(SM_START);
    feed(SM_STOP);
    cr_expect_eq(out.todo, SM_DO_FORGET_REQUEST, "no session: no DISCONNECT");
    cr_expect_eq(m.state, CLIENT_IDLE);
    setup();
    connected();
    feed(SM_STOP);
    cr_expect_eq(out.todo, SM_DO_DISCONNECT);
    cr_expect_eq(m.state, CLIENT_IDLE);
    tick_after(100000);
    cr_expect_eq(out.todo, 0, "idle: no timers");
}

Test(client_state, state_names)
{
    cr_expect_str_eq(client_sm_state_name(CLIENT_IDLE), "idle");
    cr_expect_str_eq(client_sm_state_name(CLIENT_HANDSHAKE), "connecting");
    cr_expect_str_eq(client_sm_state_name(CLIENT_CONNECTED), "connected");
    cr_expect_str_eq(client_sm_state_name(CLIENT_REKEYING), "connected (rekeying)");
}
