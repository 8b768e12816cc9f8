#!/usr/bin/env python3
"""Independent known-answer vectors for tests/unit/keymat_derive_test.cc.

Written straight from RFC 2409 (sections 5, 5.5, 5.7 and Appendix B) with
only Python's hmac and hashlib modules; it shares no code with the C++
implementation. Run:  python3 tests/unit/vectors/keymat_kat.py
and paste the printed constants into the test. Inputs are fixed patterns,
so the output is deterministic.
"""
import hashlib
import hmac

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256}


def seq(start, n):
    """start, start+1, ... (mod 256): the Seq() helper of the C++ test."""
    return bytes((start + i) & 0xFF for i in range(n))


def prf(alg, key, *parts):
    return hmac.new(key, b"".join(parts), HASHES[alg]).digest()


def be32(v):
    return v.to_bytes(4, "big")


# Inputs (mirrored in the C++ test).
PSK = b"ike-unit-test-pre-shared-key"
NI_B = seq(0x00, 16)
NR_B = seq(0x80, 20)
G_XY = seq(0x40, 128)
G_XI = seq(0x11, 128)
G_XR = seq(0x22, 128)
CKY_I = bytes.fromhex("0011223344556677")
CKY_R = bytes.fromhex("8899aabbccddeeff")
SAI_B = seq(0xA0, 40)
IDII_B = bytes.fromhex("01000000c0000201")
IDIR_B = bytes.fromhex("01000000c0000202")
M_ID = 0x1A2B3C4D
LAST_BLOCK = seq(0xF0, 16)
QM_REST = seq(0x30, 60)
INFO_REST = seq(0x60, 28)
SPI = 0xC0FFEE01
PROTOCOL = 3  # PROTO_IPSEC_ESP
G_QM = seq(0x55, 256)


def appendix_b(alg, skeyid_e, n):
    """RFC 2409 Appendix B: Ka = K1 | K2 | ..., K1 = prf(SKEYID_e, 0)."""
    ka, k = b"", prf(alg, skeyid_e, b"\x00")
    while True:
        ka += k
        if len(ka) >= n:
            return ka[:n]
        k = prf(alg, skeyid_e, k)


def keymat(alg, skeyid_d, g_qm, n):
    """RFC 2409 5.5: K1 = prf(SKEYID_d, [g_qm |] protocol | SPI | Ni_b | Nr_b)."""
    seed = g_qm + bytes([PROTOCOL]) + be32(SPI) + NI_B + NR_B
    out, k = b"", prf(alg, skeyid_d, seed)
    while True:
        out += k
        if len(out) >= n:
            return out[:n]
        k = prf(alg, skeyid_d, k, seed)


def emit(name, value):
    print(f'{name}: "{value.hex()}"')


for alg in ("SHA1", "SHA256"):
    print(f"# prf HMAC-{alg}")
    skeyid = prf(alg, PSK, NI_B, NR_B)
    d = prf(alg, skeyid, G_XY, CKY_I, CKY_R, b"\x00")
    a = prf(alg, skeyid, d, G_XY, CKY_I, CKY_R, b"\x01")
    e = prf(alg, skeyid, a, G_XY, CKY_I, CKY_R, b"\x02")
    emit("skeyid", skeyid)
    emit("skeyid_d", d)
    emit("skeyid_a", a)
    emit("skeyid_e", e)
    emit("enc_key aes128 (16)", appendix_b(alg, e, 16) if len(e) < 16 else e[:16])
    emit("enc_key aes256 (32)", appendix_b(alg, e, 32) if len(e) < 32 else e[:32])
    emit("enc_key 3des (24)", appendix_b(alg, e, 24) if len(e) < 24 else e[:24])
    emit("hash_i", prf(alg, skeyid, G_XI, G_XR, CKY_I, CKY_R, SAI_B, IDII_B))
    emit("hash_r", prf(alg, skeyid, G_XR, G_XI, CKY_R, CKY_I, SAI_B, IDIR_B))
    emit("phase1_iv (16)", HASHES[alg](G_XI + G_XR).digest()[:16])
    emit("phase1_iv (8)", HASHES[alg](G_XI + G_XR).digest()[:8])
    emit("phase2_iv (16)", HASHES[alg](LAST_BLOCK + be32(M_ID)).digest()[:16])
    emit("qm_hash1", prf(alg, a, be32(M_ID), QM_REST))
    emit("qm_hash2", prf(alg, a, be32(M_ID), NI_B, QM_REST))
    emit("qm_hash3", prf(alg, a, b"\x00", be32(M_ID), NI_B, NR_B))
    emit("info_hash", prf(alg, a, be32(M_ID), INFO_REST))
    emit("keymat no pfs (48)", keymat(alg, d, b"", 48))
    emit("keymat pfs (48)", keymat(alg, d, G_QM, 48))
