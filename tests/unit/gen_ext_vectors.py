#!/usr/bin/env python3
"""Computes the test vectors of docs/PROTOCOL.md extensions 1 to 6 independently of the C code
(Python's hashlib and the `cryptography` package, Debian's python3-cryptography) and writes
tests/unit/vectors_ext.inc. Inputs are the binding vectors' keys (shared/spec/vectors.json).

    python3 tests/unit/gen_ext_vectors.py [../shared/spec/vectors.json]
"""
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

from xchacha import xchacha20poly1305_encrypt

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/spec/vectors.json"
v = json.load(open(src))
h = bytes.fromhex


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, label):
    return hmac.new(prk, label.encode() + b"\x01", hashlib.sha256).digest()


def raw(pub):
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


s_priv = X25519PrivateKey.from_private_bytes(h(v["server_static_private"]))
s_pub = raw(s_priv.public_key())
e_priv = X25519PrivateKey.from_private_bytes(h(v["client_ephemeral_private"]))
e_pub = raw(e_priv.public_key())
token = h(v["auth_token_hex"])
ts = v["connect_req_timestamp"]

# CONNECT_REQ with extension 1.
header = bytes([0x01, 0x01]) + struct.pack(">HIQ", 256, 0, ts)
es = e_priv.exchange(X25519PublicKey.from_public_bytes(s_pub))
ck1 = hkdf_extract(hashlib.sha256(b"vpnse/1" + s_pub).digest(), es)
k_id = hkdf_expand(ck1, "vpnse/1 identity")
ext_hdr = bytes([1]) + bytes(15)                                  # version 1, no flags
identity = v["username"].encode().ljust(64, b"\0")
sealed = ChaCha20Poly1305(k_id).encrypt(bytes(12), identity, header + e_pub + ext_hdr)
body = e_pub + sealed + ext_hdr
mac1_key = hashlib.blake2b(b"vpnse/1 mac1" + s_pub, digest_size=32).digest()
mac1 = hashlib.blake2b(header + body, key=mac1_key, digest_size=16).digest()
body += mac1 + bytes(16) + bytes(64)                              # mac2 zero, zero tail
k_auth = hkdf_expand(hkdf_extract(ck1, token), "vpnse/1 auth")
auth_mac = hmac.new(k_auth, header + body, hashlib.sha256).digest()
req = header + body + auth_mac
assert len(req) == 272

# A failure to it (STALE_TIMESTAMP) with a fixed nonce, as the enclave draws a random one.
fail_ts = v["connect_resp_timestamp"]
nonce = bytes(range(0xa0, 0xac))
fail_hdr = bytes([0x02, 0x01]) + struct.pack(">HIQ", 32 + 12 + 32 + 16, 0, fail_ts)
config = bytes([5]) + bytes(31)
ct = ChaCha20Poly1305(k_id).encrypt(nonce, config, fail_hdr + bytes(32) + nonce + auth_mac)
fail = fail_hdr + bytes(32) + nonce + ct
assert len(fail) == 108

# Extension 2: SESSION_UNKNOWN for the binding vectors' session id and DATA counter 7.
hint = bytes([0x07, 0x01]) + struct.pack(">HIQ", 12, 0, fail_ts) + struct.pack(">IQ", 439041101, 7)
assert len(hint) == 28

# Extension 3: a COOKIE_REPLY to the extended request above, and the request again with mac2.
cookie_secret = bytes(range(0x40, 0x60))
src = bytes(10) + b"\xff\xff" + bytes([172, 31, 0, 11]) + struct.pack(">H", 40000)
cookie = hashlib.blake2b(src, key=cookie_secret, digest_size=16).digest()
reply_key = hashlib.blake2b(b"vpnse/1 cookie" + s_pub, digest_size=32).digest()
cnonce = bytes(range(0xc0, 0xd8))
chdr = bytes([0x08, 0x01]) + struct.pack(">HIQ", 56, 0, fail_ts)
creply = chdr + cnonce + xchacha20poly1305_encrypt(reply_key, cnonce, cookie, mac1)
assert len(creply) == 72
mac2 = hashlib.blake2b(req[:16 + 144], key=cookie, digest_size=16).digest()
req_mac2 = req[:16 + 144] + mac2 + req[16 + 160:]

# Extension 1's WINDOW flag: the same request with flags = 0x01, and the success response
# whose config carries the server's replay window (5000 ms) at offset 28.
def ext_request(flags):
    ext_hdr = bytes([1, flags]) + bytes(14)
    sealed = ChaCha20Poly1305(k_id).encrypt(bytes(12), identity, header + e_pub + ext_hdr)
    body = e_pub + sealed + ext_hdr
    mac1 = hashlib.blake2b(header + body, key=mac1_key, digest_size=16).digest()
    body += mac1 + bytes(16) + bytes(64)
    auth_mac = hmac.new(k_auth, header + body, hashlib.sha256).digest()
    return header + body + auth_mac, auth_mac


assert ext_request(0)[0] == req
req_w, auth_mac_w = ext_request(1)
se_priv = X25519PrivateKey.from_private_bytes(h(v["server_ephemeral_private"]))
se_pub = raw(se_priv.public_key())
ee = se_priv.exchange(X25519PublicKey.from_public_bytes(e_pub))
ck2 = hkdf_extract(ck1, ee + token)
k_resp = hkdf_expand(ck2, "vpnse/1 response")
f = v["connect_resp_config_fields"]


def ip4(text):
    return bytes(int(x) for x in text.split("."))


window = 5000
config_w = (struct.pack(">BBH", f["status"], f["prefix_len"], f["mtu"]) +
            struct.pack(">I", f["session_id"]) + ip4(f["client_ip"]) + ip4(f["server_tun_ip"]) +
            struct.pack(">HBB", f["keepalive_s"], len(f["routes"]), 0) +
            struct.pack(">III", f["idle_timeout_s"], f["rekey_s"], window))
for r in f["routes"]:
    net, prefix = r.split("/")
    config_w += ip4(net) + bytes([int(prefix)])
resp_ts = v["connect_resp_timestamp"]
resp_hdr = bytes([0x02, 0x01]) + struct.pack(">HIQ", 32 + len(config_w) + 16, 0, resp_ts)
resp_w = resp_hdr + se_pub + ChaCha20Poly1305(k_resp).encrypt(bytes(12), config_w,
                                                             resp_hdr + se_pub + auth_mac_w)

# Extension 4: the request with flags WINDOW | DNS, and the success response whose config
# carries the window and, after the routes, the DNS block: two resolvers and a search list.
req_d, auth_mac_d = ext_request(0x03)
dns = ["10.8.0.1", "9.9.9.9"]
search = b"home.lan corp.example"
config_d = config_w + bytes([len(dns)]) + b"".join(ip4(a) for a in dns) + bytes([len(search)]) + search
resp_hdr_d = bytes([0x02, 0x01]) + struct.pack(">HIQ", 32 + len(config_d) + 16, 0, resp_ts)
resp_d = resp_hdr_d + se_pub + ChaCha20Poly1305(k_resp).encrypt(bytes(12), config_d,
                                                               resp_hdr_d + se_pub + auth_mac_d)
assert len(resp_d) < len(req_d)


# Extension 6: an AUTH_FAILED refusal that says why (config offset 1 = 1, the data quota), to
# the same request, with the same fixed nonce.
config_q = bytes([1, 1]) + bytes(30)
ct_q = ChaCha20Poly1305(k_id).encrypt(nonce, config_q, fail_hdr + bytes(32) + nonce + auth_mac)
fail_quota = fail_hdr + bytes(32) + nonce + ct_q

# Extension 5: the WINDOW and DEVICE flags (0x05) with a device id sealed under k_id, nonce
# 0...02, ad = header || E_c_pub || ext_hdr, at payload offset 160; the rest of the tail zero.
device_id = bytes(range(0xd0, 0xe0))
ext_hdr_dev = bytes([1, 0x05]) + bytes(14)
ad_dev = header + e_pub + ext_hdr_dev
sealed_dv = ChaCha20Poly1305(k_id).encrypt(bytes(12), identity, ad_dev)
sealed_dev = ChaCha20Poly1305(k_id).encrypt(bytes(11) + b"\x02", device_id, ad_dev)
assert len(sealed_dev) == 32
body_dev = e_pub + sealed_dv + ext_hdr_dev
mac1_dev = hashlib.blake2b(header + body_dev, key=mac1_key, digest_size=16).digest()
body_dev += mac1_dev + bytes(16) + sealed_dev + bytes(32)
auth_mac_dev = hmac.new(k_auth, header + body_dev, hashlib.sha256).digest()
req_dev = header + body_dev + auth_mac_dev
assert len(req_dev) == 272

out = ["/* Generated by tests/unit/gen_ext_vectors.py (docs/PROTOCOL.md, extensions 1 to 6); do not edit. */",
       '#define VX_MAC1_KEY "%s"' % mac1_key.hex(),
       '#define VX_CONNECT_REQ "%s"' % req.hex(),
       '#define VX_AUTH_MAC "%s"' % auth_mac.hex(),
       '#define VX_FAILURE_NONCE "%s"' % nonce.hex(),
       "#define VX_FAILURE_TIMESTAMP %dULL" % fail_ts,
       '#define VX_STALE_FAILURE "%s"' % fail.hex(),
       '#define VX_QUOTA_FAILURE "%s"' % fail_quota.hex(),
       '#define VX_SESSION_UNKNOWN "%s"' % hint.hex(),
       '#define VX_COOKIE_SECRET "%s"' % cookie_secret.hex(),
       '#define VX_COOKIE "%s"' % cookie.hex(),
       '#define VX_COOKIE_NONCE "%s"' % cnonce.hex(),
       '#define VX_COOKIE_REPLY "%s"' % creply.hex(),
       '#define VX_CONNECT_REQ_MAC2 "%s"' % req_mac2.hex(),
       '#define VX_CONNECT_REQ_WINDOW "%s"' % req_w.hex(),
       "#define VX_WINDOW_MS %d" % window,
       '#define VX_CONNECT_RESP_WINDOW "%s"' % resp_w.hex(),
       '#define VX_CONNECT_REQ_DNS "%s"' % req_d.hex(),
       '#define VX_DNS_SEARCH "%s"' % search.decode(),
       '#define VX_CONNECT_RESP_DNS "%s"' % resp_d.hex(),
       '#define VX_DEVICE_ID "%s"' % device_id.hex(),
       '#define VX_CONNECT_REQ_DEVICE "%s"' % req_dev.hex()]
open("tests/unit/vectors_ext.inc", "w").write("\n".join(out) + "\n")
