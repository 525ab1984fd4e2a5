"""XChaCha20-Poly1305 for the vector generators (gen_ext_vectors.py, gen_wg_vectors.py): Debian's
python3-cryptography has ChaCha20-Poly1305 but not its extended-nonce form, so HChaCha20 is
written here from draft-irtf-cfrg-xchacha and checked against that draft's own vectors when
this module is imported. The C side uses libsodium's; this keeps it from being checked
against itself."""
import struct

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305


def rotl(v, n):
    return ((v << n) & 0xffffffff) | (v >> (32 - n))


def hchacha20(key, nonce16):
    """Draft section 2.2: ChaCha20's state from the constants, the key and 16 nonce bytes; its
    20 rounds with no final addition; words 0..3 and 12..15 are the subkey."""
    st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    st += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        st[a] = (st[a] + st[b]) & 0xffffffff; st[d] = rotl(st[d] ^ st[a], 16)
        st[c] = (st[c] + st[d]) & 0xffffffff; st[b] = rotl(st[b] ^ st[c], 12)
        st[a] = (st[a] + st[b]) & 0xffffffff; st[d] = rotl(st[d] ^ st[a], 8)
        st[c] = (st[c] + st[d]) & 0xffffffff; st[b] = rotl(st[b] ^ st[c], 7)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(st[0:4] + st[12:16]))


def _inner(key, nonce24):
    """Draft section 2.3: ChaCha20-Poly1305 under the subkey of the nonce's first 16 bytes,
    with 4 zero bytes and the nonce's last 8 as its own nonce."""
    return ChaCha20Poly1305(hchacha20(key, nonce24[:16])), bytes(4) + nonce24[16:]


def xchacha20poly1305_encrypt(key, nonce24, plaintext, ad):
    aead, nonce = _inner(key, nonce24)
    return aead.encrypt(nonce, plaintext, ad)


def xchacha20poly1305_decrypt(key, nonce24, sealed, ad):
    aead, nonce = _inner(key, nonce24)
    return aead.decrypt(nonce, sealed, ad)


# The draft's vectors (2.2.1 and A.3.1) before anything is built on this.
assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")) == \
    bytes.fromhex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
_sealed = xchacha20poly1305_encrypt(
    bytes(range(0x80, 0xa0)), bytes(range(0x40, 0x58)),
    b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    b"future, sunscreen would be it.", bytes.fromhex("50515253c0c1c2c3c4c5c6c7"))
assert _sealed[:16] == bytes.fromhex("bd6d179d3e83d43b9576579493c0e939")
assert _sealed[-16:] == bytes.fromhex("c0875924c1c7987947deafd8780acf49")
