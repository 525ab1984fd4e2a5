#!/usr/bin/env python3
"""Computes test vectors for WireGuard's handshake, transport and cookie replies (the whitepaper,
section 5.4) independently of the C code: Python's hashlib (BLAKE2s), hmac and the
`cryptography` package (X25519, ChaCha20-Poly1305; Debian's python3-cryptography). Both sides
of the handshake are written here from the whitepaper: an initiator makes the initiation, a
responder the response, and the script checks that both derive the same transport keys before
it writes tests/unit/vectors_wg.inc. XChaCha20-Poly1305 (cookie replies, 5.4.7) comes from
xchacha.py (HChaCha20 written from its draft, checked against the draft's vectors).

    python3 tests/unit/gen_wg_vectors.py > tests/unit/vectors_wg.inc
"""
import hashlib
import hmac
import socket
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from xchacha import xchacha20poly1305_decrypt, xchacha20poly1305_encrypt

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"
ZERO_NONCE = bytes(12)


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, msg):
    return hashlib.blake2s(msg, key=key, digest_size=16).digest()


def HMAC(key, msg):
    return hmac.new(key, msg, hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def seed(label):
    """A fixed 32-byte value per label: the vectors never change between runs."""
    return hashlib.sha256(b"vpnse wireguard vectors " + label).digest()


def pub_of(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


def AEAD(key, counter, pt, ad):
    return ChaCha20Poly1305(key).encrypt(bytes(4) + struct.pack("<Q", counter), pt, ad)


def cookie_source(ip, port):
    """The cookie's input, A_m (5.4.7): the source address as it came (4 bytes for IPv4, 16 for
    IPv6) and the source port, big-endian as in the UDP header."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    return socket.inet_pton(family, ip) + struct.pack(">H", port)


def cookie_reply(init_msg, s_pub_r, r_m, src, nonce):
    """5.4.7, the responder under load: (the reply, the cookie it carries)."""
    cookie = MAC(r_m, src)
    sealed = xchacha20poly1305_encrypt(HASH(LABEL_COOKIE, s_pub_r), nonce, cookie,
                                       init_msg[116:132])
    receiver = struct.unpack("<I", init_msg[4:8])[0]     # the initiation's sender index
    return struct.pack("<B3xI", 3, receiver) + nonce + sealed, cookie


def tai64n(unix_s, ns):
    return struct.pack(">QI", 0x400000000000000A + unix_s, ns & ~0xFFFFFF)


def initiation(s_pub_r, s_priv_i, e_priv_i, sender, stamp):
    """Whitepaper 5.4.2, the initiator: the message and the state it keeps."""
    c = HASH(CONSTRUCTION)
    h = HASH(HASH(c, IDENTIFIER), s_pub_r)
    e_pub = pub_of(e_priv_i)
    (c,) = KDF(1, c, e_pub)
    h = HASH(h, e_pub)
    c, k = KDF(2, c, DH(e_priv_i, s_pub_r))
    static = AEAD(k, 0, pub_of(s_priv_i), h)
    h = HASH(h, static)
    c, k = KDF(2, c, DH(s_priv_i, s_pub_r))
    ts = AEAD(k, 0, stamp, h)
    h = HASH(h, ts)
    msg = struct.pack("<B3xI", 1, sender) + e_pub + static + ts
    msg += MAC(HASH(LABEL_MAC1, s_pub_r), msg) + bytes(16)
    return msg, c, h


def consume_initiation(s_priv_r, msg):
    """The responder's reading of 5.4.2: (initiator static, timestamp, C, H)."""
    s_pub_r = pub_of(s_priv_r)
    assert MAC(HASH(LABEL_MAC1, s_pub_r), msg[:116]) == msg[116:132]
    c = HASH(CONSTRUCTION)
    h = HASH(HASH(c, IDENTIFIER), s_pub_r)
    e_pub = msg[8:40]
    (c,) = KDF(1, c, e_pub)
    h = HASH(h, e_pub)
    c, k = KDF(2, c, DH(s_priv_r, e_pub))
    s_pub_i = ChaCha20Poly1305(k).decrypt(ZERO_NONCE, msg[40:88], h)
    h = HASH(h, msg[40:88])
    c, k = KDF(2, c, DH(s_priv_r, s_pub_i))
    stamp = ChaCha20Poly1305(k).decrypt(ZERO_NONCE, msg[88:116], h)
    h = HASH(h, msg[88:116])
    return s_pub_i, stamp, e_pub, c, h


def response(init_msg, s_priv_r, e_priv_r, sender, psk):
    """Whitepaper 5.4.3 and 5.4.5, the responder: the message, (send, recv) keys."""
    s_pub_i, _, e_pub_i, c, h = consume_initiation(s_priv_r, init_msg)
    receiver = struct.unpack("<I", init_msg[4:8])[0]
    e_pub = pub_of(e_priv_r)
    (c,) = KDF(1, c, e_pub)
    h = HASH(h, e_pub)
    (c,) = KDF(1, c, DH(e_priv_r, e_pub_i))
    (c,) = KDF(1, c, DH(e_priv_r, s_pub_i))
    c, tau, k = KDF(3, c, psk)
    h = HASH(h, tau)
    empty = AEAD(k, 0, b"", h)
    msg = struct.pack("<B3xII", 2, sender, receiver) + e_pub + empty
    msg += MAC(HASH(LABEL_MAC1, s_pub_i), msg) + bytes(16)
    recv, send = KDF(2, c, b"")
    return msg, send, recv


def initiator_keys(c, h, s_priv_i, e_priv_i, resp, psk):
    """The initiator's reading of the response (5.4.4): its (send, recv) keys."""
    assert MAC(HASH(LABEL_MAC1, pub_of(s_priv_i)), resp[:60]) == resp[60:76]
    e_pub_r = resp[12:44]
    (c,) = KDF(1, c, e_pub_r)
    h = HASH(h, e_pub_r)
    (c,) = KDF(1, c, DH(e_priv_i, e_pub_r))
    (c,) = KDF(1, c, DH(s_priv_i, e_pub_r))
    c, tau, k = KDF(3, c, psk)
    h = HASH(h, tau)
    ChaCha20Poly1305(k).decrypt(ZERO_NONCE, resp[44:60], h)
    send, recv = KDF(2, c, b"")
    return send, recv


def transport(key, receiver, counter, packet, mtu):
    padded = -(-len(packet) // 16) * 16
    if padded > mtu:
        padded = max(len(packet), mtu)
    packet = packet + bytes(padded - len(packet))
    return struct.pack("<B3xIQ", 4, receiver, counter) + AEAD(key, counter, packet, b"")


def c_hex(name, value):
    print('#define %s "%s"' % (name, value.hex()))


s_priv_r, s_priv_i = seed(b"server static"), seed(b"peer static")
e_priv_i, e_priv_r = seed(b"peer ephemeral"), seed(b"server ephemeral")
psk = seed(b"preshared key")
stamp = tai64n(1734220800, 123456789)
init_sender, resp_sender = 0x11223344, 0xA1B2C3D4

init_msg, c_i, h_i = initiation(pub_of(s_priv_r), s_priv_i, e_priv_i, init_sender, stamp)
assert len(init_msg) == 148
resp_psk, send_psk, recv_psk = response(init_msg, s_priv_r, e_priv_r, resp_sender, psk)
resp_nopsk, send_nopsk, recv_nopsk = response(init_msg, s_priv_r, e_priv_r, resp_sender, bytes(32))
assert len(resp_psk) == 92
assert initiator_keys(c_i, h_i, s_priv_i, e_priv_i, resp_psk, psk) == (recv_psk, send_psk)
assert initiator_keys(c_i, h_i, s_priv_i, e_priv_i, resp_nopsk, bytes(32)) == (recv_nopsk, send_nopsk)

# An ICMP echo request 10.8.0.2 -> 192.168.50.1 from the peer (its counter 7), 28 bytes padded
# to 32, and a 1420-byte packet back (padding capped at the MTU of 1420, not 1424).
ping = bytes.fromhex("4500001c000000004001000a0a080002c0a83201") + bytes.fromhex("0800f7ff00000000")
data_in = transport(recv_psk, resp_sender, 7, ping, 1420)
big = bytes((i * 7) & 0xFF for i in range(1420))
data_out = transport(send_psk, init_sender, 0, big, 1420)
assert len(data_out) == 16 + 1420 + 16
keepalive = transport(recv_psk, resp_sender, 8, b"", 1420)

# For the worker's WireGuard ops (tests/unit/test_wg_worker.c): three peers of the same server,
# A with a preshared key, B without, C unknown to the server; initiations at known times; the
# response for a fixed server ephemeral (the worker's test seam); A's keys as its initiator
# derives them, and transport messages A sends. Our index (the response's sender, a transport
# message's receiver) is the worker's random session id: the test writes it into those fields,
# which no AEAD covers, and computes the response's mac1 again with the key given here.
a_priv, b_priv, c_priv = seed(b"worker peer a"), seed(b"worker peer b"), seed(b"worker peer c")
a_psk = seed(b"worker peer a psk")
w_e_priv = seed(b"worker server ephemeral")
w_base = 1734220800
w_t0, w_t1, w_t2 = tai64n(w_base + 50, 0), tai64n(w_base + 100, 0), tai64n(w_base + 200, 0)


def w_init(s_priv_i, stamp, label, sender):
    msg, c, h = initiation(pub_of(s_priv_r), s_priv_i, seed(label), sender, stamp)
    return msg, c, h


a1_msg, a1_c, a1_h = w_init(a_priv, w_t1, b"worker a1 eph", 0x0A0A0A01)
a2_msg, _, _ = w_init(a_priv, w_t2, b"worker a2 eph", 0x0A0A0A02)
a0_msg, _, _ = w_init(a_priv, w_t0, b"worker a0 eph", 0x0A0A0A00)
b1_msg, b1_c, b1_h = w_init(b_priv, w_t1, b"worker b1 eph", 0x0B0B0B01)
c1_msg, _, _ = w_init(c_priv, w_t1, b"worker c1 eph", 0x0C0C0C01)
W_SENDER = 0x5EED0000
a1_resp, a1_r_send, a1_r_recv = response(a1_msg, s_priv_r, w_e_priv, W_SENDER, a_psk)
a1_i_send, a1_i_recv = initiator_keys(a1_c, a1_h, a_priv, seed(b"worker a1 eph"), a1_resp, a_psk)
assert (a1_i_send, a1_i_recv) == (a1_r_recv, a1_r_send)
b1_resp, _, _ = response(b1_msg, s_priv_r, w_e_priv, W_SENDER, bytes(32))
b1_i_send, b1_i_recv = initiator_keys(b1_c, b1_h, b_priv, seed(b"worker b1 eph"), b1_resp, bytes(32))
# A's device address 10.8.0.31: a UDP packet to 192.168.50.1 (33 bytes, padded to 48), one from
# another source (spoofed), and a keepalive; receiver 0 (the test writes the session id).
w_udp = bytes.fromhex("45000021000000004011000a0a08001fc0a83201") + bytes.fromhex("d431003500000000") + b"hello"
w_spoof = w_udp[:12] + bytes([10, 8, 0, 99]) + w_udp[16:]
w_data0 = transport(a1_i_send, 0, 0, w_udp, 1420)
w_data1 = transport(a1_i_send, 0, 1, w_spoof, 1420)
w_keep2 = transport(a1_i_send, 0, 2, b"", 1420)
assert len(w_data0) == 16 + 48 + 16

# Under load (5.4.7): a cookie reply to that initiation from 172.31.0.11:40000 for a fixed R_m and
# nonce, what the initiator makes of it (5.4.4: the cookie opened with its last mac1, mac2 over
# everything before mac2), and the cookie of an IPv6 source under the same R_m.
r_m = seed(b"cookie secret")
cookie_nonce = seed(b"cookie reply nonce")[:24]
reply, cookie4 = cookie_reply(init_msg, pub_of(s_priv_r), r_m, cookie_source("172.31.0.11", 40000),
                              cookie_nonce)
assert len(reply) == 64 and reply[4:8] == struct.pack("<I", init_sender)
cookie_key = HASH(LABEL_COOKIE, pub_of(s_priv_r))
assert xchacha20poly1305_decrypt(cookie_key, reply[8:32], reply[32:], init_msg[116:132]) == cookie4
init_mac2 = init_msg[:132] + MAC(cookie4, init_msg[:132])
cookie6 = MAC(r_m, cookie_source("2001:db8:5::11", 51820))

print("/* Generated by tests/unit/gen_wg_vectors.py (WireGuard whitepaper 5.4); do not edit. */")
c_hex("WGV_SERVER_PRIV", s_priv_r)
c_hex("WGV_SERVER_PUB", pub_of(s_priv_r))
c_hex("WGV_MAC1_KEY", HASH(LABEL_MAC1, pub_of(s_priv_r)))
c_hex("WGV_PEER_PUB", pub_of(s_priv_i))
c_hex("WGV_TIMESTAMP", stamp)
print("#define WGV_INIT_SENDER 0x%08xu" % init_sender)
c_hex("WGV_INITIATION", init_msg)
c_hex("WGV_SERVER_EPH_PRIV", e_priv_r)
print("#define WGV_RESP_SENDER 0x%08xu" % resp_sender)
c_hex("WGV_PSK", psk)
c_hex("WGV_RESPONSE_PSK", resp_psk)
c_hex("WGV_SEND_PSK", send_psk)
c_hex("WGV_RECV_PSK", recv_psk)
c_hex("WGV_RESPONSE_NOPSK", resp_nopsk)
c_hex("WGV_SEND_NOPSK", send_nopsk)
c_hex("WGV_RECV_NOPSK", recv_nopsk)
c_hex("WGV_PING", ping)
c_hex("WGV_DATA_IN", data_in)
c_hex("WGV_KEEPALIVE_IN", keepalive)
c_hex("WGV_BIG", big)
c_hex("WGV_DATA_OUT", data_out)
c_hex("WGW_PEER_A_PUB", pub_of(a_priv))
c_hex("WGW_PEER_A_PSK", a_psk)
c_hex("WGW_PEER_B_PUB", pub_of(b_priv))
c_hex("WGW_PEER_C_PUB", pub_of(c_priv))
c_hex("WGW_A_MAC1_KEY", HASH(LABEL_MAC1, pub_of(a_priv)))
c_hex("WGW_B_MAC1_KEY", HASH(LABEL_MAC1, pub_of(b_priv)))
print("#define WGW_BASE_UNIX_S %du" % w_base)
c_hex("WGW_INIT_A_T0", a0_msg)
c_hex("WGW_INIT_A_T1", a1_msg)
c_hex("WGW_INIT_A_T2", a2_msg)
c_hex("WGW_INIT_B_T1", b1_msg)
c_hex("WGW_INIT_C_T1", c1_msg)
c_hex("WGW_SERVER_EPH_PRIV", w_e_priv)
print("#define WGW_RESP_SENDER 0x%08xu" % W_SENDER)
c_hex("WGW_RESPONSE_A_T1", a1_resp)
c_hex("WGW_A_SEND", a1_i_send)
c_hex("WGW_A_RECV", a1_i_recv)
c_hex("WGW_RESPONSE_B_T1", b1_resp)
c_hex("WGW_B_SEND", b1_i_send)
c_hex("WGW_B_RECV", b1_i_recv)
c_hex("WGW_UDP", w_udp)
c_hex("WGW_DATA_A0", w_data0)
c_hex("WGW_SPOOF_A1", w_data1)
c_hex("WGW_KEEPALIVE_A2", w_keep2)
c_hex("WGV_COOKIE_KEY", cookie_key)
c_hex("WGV_COOKIE_SECRET", r_m)
c_hex("WGV_COOKIE_NONCE", cookie_nonce)
c_hex("WGV_COOKIE_V4", cookie4)         # 172.31.0.11 port 40000
c_hex("WGV_COOKIE_V6", cookie6)         # 2001:db8:5::11 port 51820
c_hex("WGV_COOKIE_REPLY", reply)
c_hex("WGV_INITIATION_MAC2", init_mac2)
