/* The client's receive path (client/datapath.c) and its session slots (client/slots.c).
 *
 * The data path opens what the server sends in PROTOCOL.md's receiver order and only reports
 * what the connection must hear of, as events: it is fed datagrams sealed here with a
 * session's keys, and the events it reports, what reaches the TUN (one end of a socket pair)
 * and what it sends back (the other pair) are checked; the state machine's memory must stay
 * untouched. The slots: install, previous, release, and no key wiped while the TUN thread
 * may still seal with it. */
#include <sys/socket.h>

#include "testutil.h"

#include "../../client/client.h"
#include "../../client/datapath.h"
#include "vpn/transport.h"

static struct client c;
static int tun_peer, udp_peer;          /* the test's ends: TUN reads, what the client sends */
static struct session_keys keys_a, keys_b;

enum { MAX_EVENTS = 16 };
static struct client_event events[MAX_EVENTS];
static int n_events, fail_at = -1;
static int verdict = EV_TAKEN;      /* what the sink says of events other than traffic */

static int record(struct client *cl, const struct client_event *ev)
{
    cr_assert_eq(cl, &c);
    cr_assert_lt(n_events, MAX_EVENTS);
    events[n_events] = *ev;
    if (n_events++ == fail_at)
        return EV_EXIT;
    return ev->type == CEV_TRAFFIC ? EV_TAKEN : verdict;
}

static void setup(void)
{
    int tun[2], udp[2];
    cr_assert(sodium_init() >= 0);
    memset(&c, 0, sizeof(c));
    n_events = 0;
    fail_at = -1;
    verdict = EV_TAKEN;
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, tun), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, udp), 0);
    c.tun_fd = tun[0];
    tun_peer = tun[1];
    c.udp_fd = udp[0];
    c.udp_watch = -1;           /* no main thread asleep to keep from waking */
    udp_peer = udp[1];
    client_sm_init(&c.sm);
    randombytes_buf(&keys_a, sizeof(keys_a));
    randombytes_buf(&keys_b, sizeof(keys_b));
}

static void teardown(void)
{
    slots_wipe(&c.slots);
    close(c.tun_fd);
    close(c.udp_fd);
    close(tun_peer);
    close(udp_peer);
}

TestSuite(client_datapath, .init = setup, .fini = teardown);

/* The window a session gets for a server window of w ms (conn.c). */
static uint32_t tolerance(uint32_t w)
{
    return w + CLIENT_CLOCK_SLACK_MS;
}

/* An IPv4 packet of 28 bytes whose last byte is tag. */
static size_t ip_packet(uint8_t *p, uint8_t tag)
{
    static const uint8_t hdr[20] = { 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0,
                                     192, 168, 100, 10, 10, 8, 0, 10 };
    memcpy(p, hdr, 20);
    memset(p + 20, tag, 8);
    return 28;
}

/* A datagram from the server: type, session sid sealed with k (its k_s2c), at server time
 * now + skew_ms. */
static size_t from_server(uint8_t *out, uint8_t type, const struct session_keys *k, uint32_t sid,
                          uint64_t counter, int64_t skew_ms, const uint8_t *pt, size_t len)
{
    uint64_t ts = (uint64_t)((int64_t)client_server_time(&c) + skew_ms);
    return transport_seal(out, type, k->k_s2c, sid, counter, ts, pt, len);
}

static int receive(uint8_t *pkt, size_t len)
{
    return datapath_receive(&c, pkt, len, 4242, record);
}

/* What came out of the TUN side: the packet's length, 0 for none. */
static ssize_t tun_read(uint8_t *buf, size_t cap)
{
    ssize_t n = recv(tun_peer, buf, cap, MSG_DONTWAIT);
    return n < 0 ? 0 : n;
}

Test(client_datapath, authenticated_data_reaches_the_tun_once)
{
    uint8_t pkt[256], pt[64], got[256];
    slots_install(&c.slots, 0x101, &keys_a, tolerance(REPLAY_WINDOW_MS_DEFAULT), 1400);
    size_t n = from_server(pkt, MSG_DATA, &keys_a, 0x101, 0, 0, pt, ip_packet(pt, 0x77));
    uint8_t copy[256];
    memcpy(copy, pkt, n);
    struct client_sm before = c.sm;
    cr_assert_eq(receive(pkt, n), 0);
    cr_expect_eq(tun_read(got, sizeof(got)), 28);
    cr_expect_eq(got[27], 0x77);
    cr_expect_eq(c.rx_packets, 1);
    cr_assert_eq(n_events, 1, "one event");
    cr_expect_eq(events[0].type, CEV_TRAFFIC);
    cr_expect_eq(events[0].now_ms, 4242);
    cr_expect_eq(memcmp(&before, &c.sm, sizeof(before)), 0, "no state changed here");

    /* The same datagram again: a replay, dropped, nothing reported. */
    n_events = 0;
    cr_assert_eq(receive(copy, n), 0);
    cr_expect_eq(tun_read(got, sizeof(got)), 0);
    cr_expect_eq(c.rx_drops[CRX_REPLAY], 1);
    cr_expect_eq(client_rx_dropped(&c), 1);
    cr_expect_eq(n_events, 0);
}

Test(client_datapath, forged_or_unknown_transport_messages_report_nothing)
{
    uint8_t pkt[256], pt[64], got[256];
    static const uint8_t reason = 0;
    slots_install(&c.slots, 0x101, &keys_a, tolerance(REPLAY_WINDOW_MS_DEFAULT), 1400);
    size_t n = from_server(pkt, MSG_DISCONNECT, &keys_b, 0x101, 0, 0, &reason, 1);
    receive(pkt, n);
    n = from_server(pkt, MSG_DATA, &keys_a, 0x999, 0, 0, pt, ip_packet(pt, 1));
    receive(pkt, n);
    n = from_server(pkt, MSG_DATA, &keys_a, 0x101, 1, 0, pt, ip_packet(pt, 1));
    pkt[n - 1] ^= 1;
    receive(pkt, n);
    pkt[0] = 0x42;      /* an unknown type */
    receive(pkt, n);
    cr_expect_eq(n_events, 0);
    cr_expect_eq(c.rx_drops[CRX_AUTH], 2, "wrong key, flipped bit");
    cr_expect_eq(c.rx_drops[CRX_NO_SESSION], 1);
    cr_expect_eq(c.rx_drops[CRX_HEADER], 1, "unknown type");
    cr_expect_eq(client_rx_dropped(&c), 4);
    cr_expect_eq(c.rx_packets + c.rx_other, 0);
    cr_expect_eq(tun_read(got, sizeof(got)), 0);
}

/* Receiver step 6 against the session's window: the server's (pushed or default) plus our
 * clock estimate's error. */
Test(client_datapath, the_timestamp_window_is_the_sessions)
{
    uint8_t pkt[256], pt[64], got[256];
    slots_install(&c.slots, 0x101, &keys_a, tolerance(300), 1400);  /* pushed: 300 ms */
    static const struct { int64_t skew; bool taken; } cases[] = {
        { 0, true }, { -2000, true }, { 2000, true }, { -2800, false }, { 2800, false },
        { -7000, false },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = from_server(pkt, MSG_DATA, &keys_a, 0x101, i, cases[i].skew, pt,
                               ip_packet(pt, (uint8_t)i));
        receive(pkt, n);
        cr_expect_eq(tun_read(got, sizeof(got)) == 28, cases[i].taken, "%lld ms off",
                     (long long)cases[i].skew);
    }
    /* The default window (a server that did not say) takes 2.8 s off, not 7.5 s. */
    slots_install(&c.slots, 0x102, &keys_b, tolerance(REPLAY_WINDOW_MS_DEFAULT), 1400);
    size_t n = from_server(pkt, MSG_DATA, &keys_b, 0x102, 0, -2800, pt, ip_packet(pt, 1));
    receive(pkt, n);
    cr_expect_eq(tun_read(got, sizeof(got)), 28);
    n = from_server(pkt, MSG_DATA, &keys_b, 0x102, 1, -7500, pt, ip_packet(pt, 1));
    receive(pkt, n);
    cr_expect_eq(tun_read(got, sizeof(got)), 0);
}

Test(client_datapath, a_ping_is_answered_with_a_pong)
{
    uint8_t pkt[256], out[256], pt[16];
    slots_install(&c.slots, 0x101, &keys_a, tolerance(REPLAY_WINDOW_MS_DEFAULT), 1400);
    size_t n = from_server(pkt, MSG_PING, &keys_a, 0x101, 0, 0, NULL, 0);
    uint64_t ping_ts = get_be64(pkt + 8);
    receive(pkt, n);
    ssize_t m = recv(udp_peer, out, sizeof(out), MSG_DONTWAIT);
    cr_assert_eq(m, TRANSPORT_OVERHEAD + PONG_PLAINTEXT);
    cr_expect_eq(out[0], MSG_PONG);
    cr_assert(transport_open(pt, out, (size_t)m, keys_a.k_c2s), "sealed with k_c2s");
    cr_expect_eq(get_be64(pt), ping_ts, "it carries the PING's timestamp");
    cr_expect_eq(n_events, 1);
    cr_expect_eq(events[0].type, CEV_TRAFFIC);
}

Test(client_datapath, a_disconnect_is_reported_after_the_traffic_before_it)
{
    uint8_t pkt[256], pt[64];
    static const uint8_t reason = DISCONNECT_REASON_KEY_RETIRED;
    slots_install(&c.slots, 0x101, &keys_a, tolerance(REPLAY_WINDOW_MS_DEFAULT), 1400);
    slots_install(&c.slots, 0x102, &keys_b, tolerance(REPLAY_WINDOW_MS_DEFAULT), 1400);
    /* On the previous session (its rekey overlap): still opened, reported with its id. */
    size_t n = from_server(pkt, MSG_DATA, &keys_a, 0x101, 0, 0, pt, ip_packet(pt, 1));
    receive(pkt, n);
    n = from_server(pkt, MSG_DISCONNECT, &keys_a, 0x101, 1, 0, &reason, 1);
    receive(pkt, n);
    cr_assert_eq(n_events, 3);
    cr_expect_eq(events[0].type, CEV_TRAFFIC);
    cr_expect_eq(events[1].type, CEV_TRAFFIC, "reported before the DISCONNECT");
    cr_expect_eq(events[2].type, CEV_DISCONNECT);
    cr_expect_eq(events[2].sid, 0x101);
    cr_expect_eq(events[2].reason, DISCONNECT_REASON_KEY_RETIRED);
    cr_expect_eq(c.slots.prev, slots_find(&c.slots, 0x101), "the data path retired nothing");
}

Test(client_datapath, handshake_messages_are_passed_on_unopened)
{
    uint8_t pkt[CONNECT_RESP_MAX];
    static const struct { uint8_t type; uint16_t len; enum client_event_type ev; } cases[] = {
        { MSG_CONNECT_RESP, CONNECT_FAIL_EXT_LEN - HDR_LEN, CEV_RESPONSE },
        { MSG_COOKIE_REPLY, COOKIE_REPLY_PAYLOAD, CEV_COOKIE_REPLY },
        { MSG_SESSION_UNKNOWN, SESSION_UNKNOWN_PAYLOAD, CEV_SESSION_UNKNOWN },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(pkt, 0, sizeof(pkt));
        proto_hdr_write(pkt, cases[i].type, cases[i].len, 0, 1);
        put_be32(pkt + HDR_LEN, 0x1234);
        put_be64(pkt + HDR_LEN + 4, 77);
        n_events = 0;
        receive(pkt, HDR_LEN + cases[i].len);
        cr_assert_eq(n_events, 1, "type %u", cases[i].type);
        cr_expect_eq(events[0].type, cases[i].ev);
        cr_expect_eq(events[0].len, HDR_LEN + cases[i].len);
        cr_expect_eq(events[0].buf, pkt);
        if (cases[i].ev == CEV_SESSION_UNKNOWN)
            cr_expect(events[0].sid == 0x1234 && events[0].counter == 77);
    }
}

/* Every datagram lands in one counter: the sink's verdict on an event decides between its
 * reason and rx_other; a PING is taken. */
Test(client_datapath, every_datagram_is_counted_once_by_the_sinks_verdict)
{
    uint8_t pkt[CONNECT_RESP_MAX];
    static const struct { uint8_t type; uint16_t len; enum client_rx_drop why; } cases[] = {
        { MSG_CONNECT_RESP, CONNECT_FAIL_EXT_LEN - HDR_LEN, CRX_RESPONSE },
        { MSG_COOKIE_REPLY, COOKIE_REPLY_PAYLOAD, CRX_COOKIE },
        { MSG_SESSION_UNKNOWN, SESSION_UNKNOWN_PAYLOAD, CRX_HINT },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(pkt, 0, sizeof(pkt));
        proto_hdr_write(pkt, cases[i].type, cases[i].len, 0, 1);
        verdict = EV_DROPPED;
        receive(pkt, HDR_LEN + cases[i].len);
        cr_expect_eq(c.rx_drops[cases[i].why], 1, "type %u dropped", cases[i].type);
        verdict = EV_TAKEN;
        receive(pkt, HDR_LEN + cases[i].len);
        cr_expect_eq(c.rx_other, i + 1, "type %u taken", cases[i].type);
    }
    cr_expect_eq(client_rx_dropped(&c), 3);
    /* A CONNECT_REQ is for servers; a PING on a session is taken and answered. */
    proto_hdr_write(pkt, MSG_CONNECT_REQ, CONNECT_REQ_LEN - HDR_LEN, 0, 1);
    receive(pkt, CONNECT_REQ_LEN);
    cr_expect_eq(c.rx_drops[CRX_UNEXPECTED], 1);
    slots_install(&c.slots, 0x101, &keys_a, tolerance(REPLAY_WINDOW_MS_DEFAULT), 1400);
    size_t n = from_server(pkt, MSG_PING, &keys_a, 0x101, 0, 0, NULL, 0);
    receive(pkt, n);
    cr_expect_eq(c.rx_other, 4);
    cr_expect_eq(client_rx_dropped(&c), 4);
}

Test(client_datapath, an_exit_asked_by_the_sink_is_returned)
{
    uint8_t pkt[CONNECT_RESP_MAX] = { 0 };
    proto_hdr_write(pkt, MSG_CONNECT_RESP, CONNECT_FAIL_EXT_LEN - HDR_LEN, 0, 1);
    fail_at = 0;
    cr_expect_eq(receive(pkt, CONNECT_FAIL_EXT_LEN), -1);
}

/* --- slots --- */

TestSuite(client_slots, .init = setup, .fini = teardown);

static bool zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

Test(client_slots, install_makes_current_previous_and_releases_the_one_before)
{
    struct client_session *a = slots_install(&c.slots, 1, &keys_a, 7000, 1400);
    cr_assert(a);
    cr_expect_eq(c.slots.cur, a);
    cr_expect_eq(c.slots.tx, a, "the TUN thread sends on it");
    cr_expect_eq(a->ts_window_ms, 7000);
    cr_expect_eq(a->mtu, 1400);
    struct client_session *b = slots_install(&c.slots, 2, &keys_b, 7000, 1400);
    cr_expect_eq(c.slots.cur, b);
    cr_expect_eq(c.slots.prev, a);
    cr_expect_eq(slots_find(&c.slots, 1), a);
    cr_expect_eq(slots_find(&c.slots, 2), b);
    cr_expect_null(slots_find(&c.slots, 3));
    struct client_session *s3 = slots_install(&c.slots, 3, &keys_a, 7000, 1400);
    cr_expect_eq(c.slots.prev, b);
    cr_expect_null(slots_find(&c.slots, 1), "two handshakes old: gone");
    cr_expect(zero(a->k_s2c, KEY_LEN) && zero(a->k_c2s, KEY_LEN), "and its keys wiped");
    slots_retire_previous(&c.slots);
    cr_expect_null(slots_find(&c.slots, 2));
    cr_expect(zero(b->k_s2c, KEY_LEN));
    cr_expect_eq(slots_find(&c.slots, 3), s3);
    slots_drop(&c.slots);
    cr_expect_null(c.slots.tx);
    cr_expect_null(slots_find(&c.slots, 3));
    cr_expect(zero(s3->k_c2s, KEY_LEN));
}

Test(client_slots, no_key_is_wiped_while_the_tun_thread_may_seal_with_it)
{
    struct client_session *a = slots_install(&c.slots, 1, &keys_a, 7000, 1400);
    struct client_session *in_use = slots_tx_begin(&c.slots);      /* a batch begins */
    cr_assert_eq(in_use, a);
    slots_drop(&c.slots);
    slots_tick(&c.slots);
    cr_expect_eq(memcmp(a->k_c2s, keys_a.k_c2s, KEY_LEN), 0, "still sealing with it");
    /* Handshakes go on meanwhile; the slots released during the batch wait too. */
    for (uint32_t id = 2; id <= CLIENT_SESSION_SLOTS; id++) {
        cr_assert(slots_available(&c.slots), "slot for session %u", id);
        cr_assert(slots_install(&c.slots, id, &keys_b, 7000, 1400));
        slots_drop(&c.slots);
    }
    cr_expect_not(slots_available(&c.slots), "every slot waits for the batch to end");
    cr_expect_null(slots_install(&c.slots, 99, &keys_b, 7000, 1400));
    slots_tx_end(&c.slots);
    slots_tick(&c.slots);
    cr_expect(zero(a->k_c2s, KEY_LEN), "wiped once the batch is over");
    cr_expect(slots_available(&c.slots));
    /* A slot released while no batch runs is wiped at once. */
    struct client_session *b = slots_install(&c.slots, 100, &keys_b, 7000, 1400);
    slots_drop(&c.slots);
    slots_tick(&c.slots);
    cr_expect(zero(b->k_c2s, KEY_LEN));
}
