"""ikepeer -- a scripted IKEv1 peer for the hostile-peer suite.

Just enough IKEv1 to reach every Main Mode, Quick Mode and Informational
state of a real isakmpd legitimately, and then to say something wrong:

  * ISAKMP header and payload encoding (RFC 2408 3.1-3.15, RFC 2407 4.6);
  * Main Mode with pre-shared keys (RFC 2409 5, 5.4): SKEYID, SKEYID_d/a/e,
    the encryption key (Appendix B), HASH_I/HASH_R;
  * the CBC IV chain: phase 1 IV = hash(g^xi | g^xr), phase 2 and
    Informational IV = hash(last phase 1 block | M-ID) (Appendix B);
  * Quick Mode (RFC 2409 5.5): HASH(1..3), PFS, KEYMAT is not needed;
  * Informational with HASH(1) (RFC 2409 5.7);
  * NAT traversal (RFC 3947): vendor ID, NAT-D, the move to UDP 4500 with
    the 4-octet non-ESP marker.

The suite's default proposal only (README.md): phase 1 AES-CBC-128 /
SHA2-256 / MODP2048 / PSK, phase 2 ESP AES-CBC-128 / HMAC-SHA2-256 with PFS
MODP2048. Every builder takes overrides so that a test can break exactly one
thing. Run with /usr/bin/python3 (Debian's python3-cryptography).

Secrets (the PSK, SKEYID*, keys) are never printed.
"""

import hashlib
import hmac
import os
import secrets
import select
import socket
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# ---- numbers -----------------------------------------------------------------

# RFC 2408 3.1 exchange types.
EXCH_MAIN = 2
EXCH_INFO = 5
EXCH_QUICK = 32

# RFC 2408 3.1 payload types; RFC 3947 NAT-D/NAT-OA.
P_NONE, P_SA, P_PROP, P_TRANS, P_KE, P_ID, P_CERT, P_CR, P_HASH = 0, 1, 2, 3, 4, 5, 6, 7, 8
P_SIG, P_NONCE, P_N, P_D, P_VID, P_NATD, P_NATOA = 9, 10, 11, 12, 13, 20, 21

FLAG_ENC = 0x01

# RFC 2408 3.14.1 / RFC 3706 notify types used here.
N_INVALID_PAYLOAD_TYPE = 1
N_NO_PROPOSAL_CHOSEN = 14
N_PAYLOAD_MALFORMED = 16
N_INVALID_KEY_INFORMATION = 17
N_INVALID_ID_INFORMATION = 18
N_INVALID_HASH_INFORMATION = 23
N_AUTHENTICATION_FAILED = 24
N_INITIAL_CONTACT = 24578
N_R_U_THERE = 36136
N_R_U_THERE_ACK = 36137

PROTO_ISAKMP = 1
PROTO_ESP = 3

ID_IPV4_ADDR = 1
ID_IPV4_ADDR_SUBNET = 4

RFC3947_VID = bytes.fromhex("4a131c81070358455c5728f20e95452f")
# MD5("draft-ietf-ipsec-nat-t-ike-03"): a peer of the drafts numbers NAT-D 130
# and the UDP encapsulation modes 61443/61444 (RFC 3947: 20, 3/4).
DRAFT03_VID = bytes.fromhex("7d9419a65310ca6f2c179d9215529d56")
P_NATD_DRAFT = 130
P_FRAGMENT = 132  # IKEv1 fragmentation (Cisco's scheme)
# MD5("FRAGMENTATION") and the flags strongSwan and racoon send.
FRAGMENTATION_VID = bytes.fromhex("4048b7d56ebce88525e7de7f00d6c2d380000000")
ENCAP_UDP_TUNNEL_DRAFT = 61443

NAT_T_PORT = 4500

# RFC 3526 group 14 (MODP 2048), generator 2.
MODP2048_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)
MODP2048_LEN = 256

BLOCK = 16  # AES


def be32(v):
    return struct.pack("!I", v & 0xFFFFFFFF)


def prf(key, *parts):
    """HMAC-SHA2-256, the negotiated prf (RFC 2409 4)."""
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def hsh(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def aes_cbc(key, iv, data, decrypt=False):
    c = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = c.decryptor() if decrypt else c.encryptor()
    return op.update(data) + op.finalize()


def ip_bytes(addr):
    return socket.inet_aton(addr)


# ---- attributes, payloads ----------------------------------------------------------


def attr(atype, value, force_long=False):
    """RFC 2408 3.3: TV when it fits 16 bits, else TLV with the shortest value."""
    if not force_long and 0 <= value <= 0xFFFF:
        return struct.pack("!HH", 0x8000 | atype, value)
    n = max(1, (value.bit_length() + 7) // 8)
    return struct.pack("!HH", atype, n) + value.to_bytes(n, "big")


def attr_raw(atype, data):
    return struct.pack("!HH", atype, len(data)) + data


def transform(number, tid, attrs, last=True):
    body = struct.pack("!BBH", number, tid, 0) + b"".join(attrs)
    return struct.pack("!BBH", 0 if last else P_TRANS, 0, 4 + len(body)) + body


def proposal(number, protocol, spi, transforms, last=True):
    body = struct.pack("!BBBB", number, protocol, len(spi), len(transforms)) + spi
    body += b"".join(transforms)
    return struct.pack("!BBH", 0 if last else P_PROP, 0, 4 + len(body)) + body


def sa_body(proposals, doi=1, situation=1):
    return struct.pack("!II", doi, situation) + b"".join(proposals)


def ike_sa_body(life=28800, group=14, life_attr=None):
    """Phase 1 SA (RFC 2409 Appendix A): AES-CBC-128, SHA2-256, PSK, group 14."""
    attrs = [attr(1, 7), attr(14, 128), attr(2, 4), attr(3, 1), attr(4, group)]
    if life_attr is not None:
        attrs += [attr(11, 1), life_attr]
    elif life:
        attrs += [attr(11, 1), attr(12, life)]
    return sa_body([proposal(1, PROTO_ISAKMP, b"", [transform(1, 1, attrs)])])


def esp_sa_body(spi, encap=1, group=14, life=3600, life_attr=None):
    """Phase 2 SA (RFC 2407 4.5): ESP AES-CBC-128 / HMAC-SHA2-256, PFS group 14."""
    attrs = []
    if life_attr is not None:
        attrs += [attr(1, 1), life_attr]
    elif life:
        attrs += [attr(1, 1), attr(2, life)]
    if group:
        attrs.append(attr(3, group))
    attrs += [attr(4, encap), attr(5, 5), attr(6, 128)]
    return sa_body([proposal(1, PROTO_ESP, be32(spi), [transform(1, 12, attrs)])])


def id_body(id_type, data, protocol=0, port=0):
    return struct.pack("!BBH", id_type, protocol, port) + data


def id_addr(addr, protocol=0, port=0):
    return id_body(ID_IPV4_ADDR, ip_bytes(addr), protocol, port)


def notify_body(ntype, protocol=PROTO_ISAKMP, spi=b"", data=b"", doi=1):
    return struct.pack("!IBBH", doi, protocol, len(spi), ntype) + spi + data


def delete_body(protocol, spis, spi_size=None, doi=1, count=None):
    size = spi_size if spi_size is not None else (len(spis[0]) if spis else 0)
    n = len(spis) if count is None else count
    return struct.pack("!IBBH", doi, protocol, size, n) + b"".join(spis)


def encode_chain(payloads):
    """[(type, body), ...] -> (first type, bytes); the generic headers are
    filled in (RFC 2408 3.2)."""
    out = b""
    for i, (ptype, body) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else P_NONE
        out += struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
    return (payloads[0][0] if payloads else P_NONE), out


def fragments(message, frag_id, max_len, exch=EXCH_MAIN, number_from=1, last_flag=True):
    """|message| (a whole ISAKMP message) cut into fragment messages of at most
    |max_len| octets: carriers with its cookies, |exch|, message ID 0, one
    FRAGMENT payload each (id, number, flags 1 on the last)."""
    slice_len = max_len - 36
    parts = [message[i:i + slice_len] for i in range(0, len(message), slice_len)]
    out = []
    for n, part in enumerate(parts, number_from):
        last = last_flag and n == number_from + len(parts) - 1
        body = struct.pack("!BBHHBB", 0, 0, 8 + len(part), frag_id, n, 1 if last else 0) + part
        out.append(header(message[:8], message[8:16], P_FRAGMENT, exch, 0, 0, 28 + len(body)) +
                   body)
    return out


def raw_payload(nxt, body):
    return struct.pack("!BBH", nxt, 0, 4 + len(body)) + body


def header(icookie, rcookie, next_payload, exch, flags, msgid, length):
    return icookie + rcookie + struct.pack("!BBBBII", next_payload, 0x10, exch, flags, msgid,
                                           length)


class Message:
    """A received ISAKMP message, decrypted when we could."""

    def __init__(self, data, src):
        self.data = data
        self.src = src
        self.icookie = data[0:8]
        self.rcookie = data[8:16]
        (self.next_payload, self.version, self.exch, self.flags, self.msgid,
         self.length) = struct.unpack("!BBBBII", data[16:28])
        self.body = data[28:]
        self.payloads = None  # [(type, body, raw)]
        self.plain = None

    def parse(self, body=None):
        body = self.body if body is None else body
        self.payloads = parse_chain(self.next_payload, body)
        return self.payloads

    def find(self, ptype):
        for t, b, _ in self.payloads or []:
            if t == ptype:
                return b
        return None

    def find_all(self, ptype):
        return [b for t, b, _ in self.payloads or [] if t == ptype]

    def notifies(self):
        return [struct.unpack("!IBBH", b[:8])[3] for b in self.find_all(P_N)]

    def __repr__(self):
        return "<%s msgid %08x from %s, payloads %s>" % (
            {2: "MM", 5: "INFO", 32: "QM"}.get(self.exch, self.exch), self.msgid, self.src,
            [t for t, _, _ in self.payloads] if self.payloads is not None else "?")


def parse_chain(first, body):
    out = []
    t, off = first, 0
    while t != P_NONE:
        if off + 4 > len(body):
            raise ValueError("truncated payload header")
        nxt, _, ln = struct.unpack("!BBH", body[off:off + 4])
        if ln < 4 or off + ln > len(body):
            raise ValueError("bad payload length")
        out.append((t, body[off + 4:off + ln], body[off:off + ln]))
        t, off = nxt, off + ln
    return out


def parse_sa_spi(sa):
    """The first proposal's SPI and its transform's attributes (phase 2 reply)."""
    off = 8  # DOI, situation; then the proposal's generic header
    _, _, spi_size, _ = struct.unpack("!BBBB", sa[off + 4:off + 8])
    return sa[off + 8:off + 8 + spi_size]


# ---- the peer ------------------------------------------------------------------------


class Timeout(Exception):
    pass


class Peer:
    """UDP endpoint(s) of the scripted peer. Keeps every message that did not
    match what a caller waited for in |backlog|."""

    def __init__(self, local, remote, port=500, nat_port=None):
        self.local = local
        self.remote = remote
        self.port = port
        self.socks = {}
        self.backlog = []
        self.sent = 0
        self.bind(port)
        if nat_port:
            self.bind(nat_port)

    def bind(self, port):
        if port in self.socks:
            return self.socks[port]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((self.local, port))
        self.socks[port] = s
        return s

    def close(self):
        for s in self.socks.values():
            s.close()
        self.socks = {}

    def send(self, data, sport=None, dport=500):
        """Sends |data|; to port 4500 with the non-ESP marker (RFC 3948 2.2)."""
        sport = sport or (NAT_T_PORT if dport == NAT_T_PORT else self.port)
        s = self.bind(sport)
        if dport == NAT_T_PORT or sport == NAT_T_PORT:
            data = b"\0\0\0\0" + data
        s.sendto(data, (self.remote, dport))
        self.sent += 1

    def _read(self, timeout):
        r, _, _ = select.select(list(self.socks.values()), [], [], max(0.0, timeout))
        out = []
        for s in r:
            while True:
                try:
                    data, src = s.recvfrom(70000)
                except BlockingIOError:
                    break
                port = s.getsockname()[1]
                if port == NAT_T_PORT:
                    if data[:4] != b"\0\0\0\0":
                        continue  # ESP or keepalive
                    data = data[4:]
                if len(data) >= 28:
                    m = Message(data, src)
                    m.dst_port = port
                    m.received = time.monotonic()
                    out.append(m)
                s.setblocking(False)
            s.setblocking(True)
        return out

    def recv(self, match, timeout=2.0):
        """The first message (backlog first) for which match(m) is true."""
        for i, m in enumerate(self.backlog):
            if match(m):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no matching message within %.1f s" % timeout)
            for m in self._read(left):
                if match(m):
                    return m
                self.backlog.append(m)

    def drain(self, timeout=0.0):
        for m in self._read(timeout):
            self.backlog.append(m)


class Phase1:
    """One ISAKMP SA with the scripted peer's view of the keys."""

    def __init__(self, peer, psk, initiator=True, nat=False, local_id=None, draft=False):
        self.peer = peer
        self.psk = psk
        self.initiator = initiator
        self.icookie = secrets.token_bytes(8) if initiator else None
        self.rcookie = b"\0" * 8 if initiator else secrets.token_bytes(8)
        self.fake_nat = nat  # claim a NAT: the daemon then floats to 4500
        self.draft = draft   # NAT-T as draft-03 only (no RFC 3947 vendor ID)
        self.natd_type = P_NATD_DRAFT if draft else P_NATD
        self.dport = 500
        self.local_id = local_id or peer.local
        self.x = secrets.randbits(256) | (1 << 255)
        self.gx = pow(2, self.x, MODP2048_P).to_bytes(MODP2048_LEN, "big")
        self.nonce = secrets.token_bytes(32)
        self.sai_b = None
        self.gxi = self.gxr = self.ni = self.nr = None
        self.skeyid = self.skeyid_d = self.skeyid_a = self.skeyid_e = self.key = None
        self.iv = None       # phase 1 CBC chain
        self.p1_last = None  # last CBC block of phase 1: seed of phase 2 IVs
        self.sent = {}       # our messages as sent, by name (for replays)
        self.got = {}        # the daemon's messages, by name

    # ---- message plumbing ----
    def cookies_match(self, m):
        if m.icookie != self.icookie:
            return False
        return self.rcookie == b"\0" * 8 or m.rcookie == self.rcookie or \
            m.rcookie == b"\0" * 8

    def build(self, exch, payloads, msgid=0, iv=None, flags=None, pad=None, trailing=b""):
        """Header + payloads; encrypted with |iv| when given. |pad| is the number
        of padding octets (default 1..16 as RFC 2409 Appendix B leaves it open
        and strongSwan does); |trailing| plaintext octets go after the padding.
        Returns (packet, last cipher block)."""
        first, body = encode_chain(payloads) if isinstance(payloads, list) else payloads
        fl = (FLAG_ENC if iv is not None else 0) if flags is None else flags
        last = None
        if iv is not None:
            body += trailing
            if pad is None:
                pad = BLOCK - (len(body) % BLOCK)  # 1..16
            body += b"\0" * pad
            if len(body) % BLOCK:
                raise ValueError("padding leaves a partial block")
            body = aes_cbc(self.key, iv, body)
            last = body[-BLOCK:]
        h = header(self.icookie, self.rcookie, first, exch, fl, msgid, 28 + len(body))
        return h + body, last

    def open(self, m, iv):
        """Decrypts |m| with |iv|; returns the next IV (its last block)."""
        if not m.flags & FLAG_ENC:
            m.parse()
            return iv
        if len(m.body) % BLOCK or not m.body:
            raise ValueError("ciphertext not a whole number of blocks")
        m.plain = aes_cbc(self.key, iv, m.body, decrypt=True)
        m.parse(m.plain)
        return m.body[-BLOCK:]

    def send(self, packet, **kw):
        self.peer.send(packet, dport=kw.pop("dport", self.dport), **kw)

    def wait(self, exch, msgid=0, timeout=2.0, resend=None, tries=3, first=None):
        """The daemon's next message of |exch|/|msgid| on this SA (whose first
        payload is |first|, if given); resends |resend| on each timeout (our
        retransmission)."""
        def match(m):
            return (self.cookies_match(m) and m.exch == exch and m.msgid == msgid and
                    (first is None or m.next_payload == first))
        for i in range(tries):
            try:
                return self.peer.recv(match, timeout)
            except Timeout:
                if resend is None or i + 1 == tries:
                    raise
                self.send(resend)
        raise Timeout("unreachable")

    # ---- keys (RFC 2409 5, Appendix B) ----
    def nat_d(self, addr, port, wrong=False):
        h = hsh(self.icookie, self.rcookie, ip_bytes(addr), struct.pack("!H", port))
        return hsh(h) if wrong else h

    def derive(self, gy):
        gxy = pow(int.from_bytes(gy, "big"), self.x, MODP2048_P).to_bytes(MODP2048_LEN, "big")
        self.skeyid = prf(self.psk, self.ni, self.nr)
        c = self.icookie + self.rcookie
        self.skeyid_d = prf(self.skeyid, gxy, c, b"\0")
        self.skeyid_a = prf(self.skeyid, self.skeyid_d, gxy, c, b"\1")
        self.skeyid_e = prf(self.skeyid, self.skeyid_a, gxy, c, b"\2")
        self.key = self.skeyid_e[:16]
        self.iv = hsh(self.gxi, self.gxr)[:BLOCK]

    def hash_i(self, id_b):
        return prf(self.skeyid, self.gxi, self.gxr, self.icookie, self.rcookie, self.sai_b, id_b)

    def hash_r(self, id_b):
        return prf(self.skeyid, self.gxr, self.gxi, self.rcookie, self.icookie, self.sai_b, id_b)

    def phase2_iv(self, msgid):
        return hsh(self.p1_last, be32(msgid))[:BLOCK]

    # ---- Main Mode, initiator ----
    def mm1(self, sa=None, vid=True, extra_vids=()):
        self.sai_b = sa or ike_sa_body()
        p = [(P_SA, self.sai_b)]
        if vid:
            p.append((P_VID, DRAFT03_VID if self.draft else RFC3947_VID))
        p += [(P_VID, v) for v in extra_vids]
        pkt, _ = self.build(EXCH_MAIN, p)
        self.sent["mm1"] = pkt
        return pkt

    def take_mm2(self, m):
        m.parse()
        if m.find(P_SA) is None:
            raise ValueError("MM2 without SA: %r notifies %s" % (m, m.notifies()))
        self.rcookie = m.rcookie
        self.got["mm2"] = m

    def mm3(self, ke=None, nonce=None, natd=True, extra=()):
        self.gxi, self.ni = self.gx, self.nonce
        p = [(P_KE, self.gx if ke is None else ke), (P_NONCE, self.nonce if nonce is None else nonce)]
        if natd:
            # RFC 3947 3.2: the first NAT-D names the peer, then our own address.
            p.append((self.natd_type, self.nat_d(self.peer.remote, 500)))
            p.append((self.natd_type, self.nat_d(self.peer.local, self.peer.port,
                                                 wrong=self.fake_nat)))
        p += list(extra)
        pkt, _ = self.build(EXCH_MAIN, p)
        self.sent["mm3"] = pkt
        return pkt

    def take_mm4(self, m):
        m.parse()
        ke, nr = m.find(P_KE), m.find(P_NONCE)
        if ke is None or nr is None:
            raise ValueError("MM4 without KE/Nr: %r notifies %s" % (m, m.notifies()))
        self.gxr, self.nr = ke, nr
        self.derive(ke)
        self.got["mm4"] = m

    def mm5(self, id_b=None, hash_=None, extra=(), **kw):
        id_b = id_b if id_b is not None else id_addr(self.local_id)
        h = self.hash_i(id_b) if hash_ is None else hash_
        pkt, last = self.build(EXCH_MAIN, [(P_ID, id_b), (P_HASH, h)] + list(extra), iv=self.iv, **kw)
        self.mm5_last = last
        self.sent["mm5"] = pkt
        return pkt

    def take_mm6(self, m):
        nxt = self.open(m, self.mm5_last)
        id_b, h = m.find(P_ID), m.find(P_HASH)
        if id_b is None or h is None or not hmac.compare_digest(h, self.hash_r(id_b)):
            raise ValueError("MM6 HASH_R did not verify")
        self.iv = nxt
        self.p1_last = nxt
        self.got["mm6"] = m

    def main_mode(self, timeout=2.0, sa=None):
        """A complete, legitimate Main Mode as initiator."""
        pkt = self.mm1(sa)
        self.send(pkt)
        self.take_mm2(self.wait(EXCH_MAIN, timeout=timeout, resend=pkt, first=P_SA))
        pkt = self.mm3()
        self.send(pkt)
        self.take_mm4(self.wait(EXCH_MAIN, timeout=timeout, resend=pkt, first=P_KE))
        if self.fake_nat:
            self.dport = NAT_T_PORT  # RFC 3947 4: message 5 on goes to 4500
        pkt = self.mm5()
        self.send(pkt)
        self.take_mm6(self.wait_mm6(timeout, pkt))
        return self

    def wait_mm6(self, timeout, resend):
        def match(m):
            return (self.cookies_match(m) and m.exch == EXCH_MAIN and m.msgid == 0 and
                    m.flags & FLAG_ENC)
        for i in range(3):
            try:
                return self.peer.recv(match, timeout)
            except Timeout:
                if i == 2 or resend is None:
                    raise
                self.send(resend)

    # ---- Informational (RFC 2409 5.7) ----
    def informational(self, payloads, msgid=None, hash_=None, **kw):
        msgid = secrets.randbits(32) | 1 if msgid is None else msgid
        first, rest = encode_chain(payloads)
        h = prf(self.skeyid_a, be32(msgid), rest) if hash_ is None else hash_
        body = raw_payload(first, h) + rest
        pkt, _ = self.build(EXCH_INFO, (P_HASH, body), msgid=msgid, iv=self.phase2_iv(msgid), **kw)
        return pkt

    def plain_informational(self, payloads):
        pkt, _ = self.build(EXCH_INFO, payloads)
        return pkt

    def open_info(self, m):
        """Decrypts and checks an Informational from the daemon; True if HASH(1) verified."""
        if not m.flags & FLAG_ENC:
            m.parse()
            return False
        self.open(m, self.phase2_iv(m.msgid))
        pl = m.payloads
        if not pl or pl[0][0] != P_HASH:
            return False
        rest = b"".join(r for _, _, r in pl[1:])
        return hmac.compare_digest(pl[0][1], prf(self.skeyid_a, be32(m.msgid), rest))

    def ping(self, timeout=2.0):
        """R-U-THERE / R-U-THERE-ACK (RFC 3706) over this SA: True if answered.
        Datagrams are handled in order, so an answer also proves that the
        daemon processed everything we sent before."""
        # RFC 3706 5.2: a random start, then one more per R-U-THERE (the
        # daemon drops a lower number as a replay).
        self.dpd_seq = getattr(self, "dpd_seq", secrets.randbits(30)) + 1
        seq = self.dpd_seq
        pkt = self.informational([(P_N, notify_body(N_R_U_THERE, spi=self.icookie + self.rcookie,
                                                     data=be32(seq)))])
        self.send(pkt)

        def match(m):
            if not (m.icookie == self.icookie and m.rcookie == self.rcookie and
                    m.exch == EXCH_INFO):
                return False
            try:
                if not self.open_info(m):
                    return False
            except ValueError:
                return False
            for b in m.find_all(P_N):
                doi, proto, ssz, nt = struct.unpack("!IBBH", b[:8])
                if nt == N_R_U_THERE_ACK and b[8 + ssz:] == be32(seq):
                    return True
            return False
        try:
            self.peer.recv(match, timeout)
            return True
        except Timeout:
            return False

    def delete_isakmp(self):
        return self.informational([(P_D, delete_body(PROTO_ISAKMP, [self.icookie + self.rcookie]))])


class QuickMode:
    """One Quick Mode on an established Phase1 (initiator or responder)."""

    def __init__(self, p1, local_net, remote_net, msgid=None, pfs=True, encap=None):
        self.p1 = p1
        self.msgid = secrets.randbits(32) | 0x100 if msgid is None else msgid
        self.local_net = local_net
        self.remote_net = remote_net
        self.spi = secrets.randbits(32) | 0x10000
        self.peer_spi = None
        self.ni = secrets.token_bytes(32)
        self.nr = None
        self.x = secrets.randbits(256) | (1 << 255)
        self.gx = pow(2, self.x, MODP2048_P).to_bytes(MODP2048_LEN, "big") if pfs else None
        udp = ENCAP_UDP_TUNNEL_DRAFT if p1.draft else 3
        self.encap = encap if encap is not None else (udp if p1.fake_nat else 1)
        self.iv = p1.phase2_iv(self.msgid)
        self.sent = {}

    def hash1(self, rest):
        return prf(self.p1.skeyid_a, be32(self.msgid), rest)

    def hash2(self, rest):
        return prf(self.p1.skeyid_a, be32(self.msgid), self.ni, rest)

    def hash3(self):
        return prf(self.p1.skeyid_a, b"\0", be32(self.msgid), self.ni, self.nr)

    def qm1(self, sa=None, nonce=None, ke=None, ids=None, hash_=None, msgid=None, **kw):
        """HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]."""
        if nonce is not None:
            self.ni = nonce
        rest = [(P_SA, sa or esp_sa_body(self.spi, encap=self.encap)), (P_NONCE, self.ni)]
        if ke is not None or self.gx is not None:
            rest.append((P_KE, self.gx if ke is None else ke))
        if ids is None:
            ids = [id_addr(self.local_net), id_addr(self.remote_net)]
        rest += [(P_ID, i) for i in ids]
        first, body = encode_chain(rest)
        h = self.hash1(body) if hash_ is None else hash_
        mid = self.msgid if msgid is None else msgid
        pkt, last = self.p1.build(EXCH_QUICK, (P_HASH, raw_payload(first, h) + body), msgid=mid,
                                  iv=self.iv, **kw)
        self.iv_after_qm1 = last
        self.sent["qm1"] = pkt
        return pkt

    def take_qm2(self, m):
        self.iv = self.p1.open(m, self.iv_after_qm1)
        pl = m.payloads
        if not pl or pl[0][0] != P_HASH:
            raise ValueError("QM2 without HASH(2): %r" % m)
        rest = b"".join(r for _, _, r in pl[1:])
        if not hmac.compare_digest(pl[0][1], self.hash2(rest)):
            raise ValueError("QM2 HASH(2) did not verify")
        self.nr = m.find(P_NONCE)
        self.peer_spi = int.from_bytes(parse_sa_spi(m.find(P_SA)), "big")
        self.qm2 = m

    def qm3(self, hash_=None, **kw):
        h = self.hash3() if hash_ is None else hash_
        pkt, last = self.p1.build(EXCH_QUICK, [(P_HASH, h)], msgid=self.msgid, iv=self.iv, **kw)
        self.sent["qm3"] = pkt
        return pkt

    def run(self, timeout=2.0):
        """A complete, legitimate Quick Mode as initiator."""
        pkt = self.qm1()
        self.p1.send(pkt)
        self.take_qm2(self.p1.wait(EXCH_QUICK, self.msgid, timeout=timeout, resend=pkt))
        self.p1.send(self.qm3())
        return self


# ---- responder side (the daemon initiates) ----------------------------------------------


class Responder:
    """The scripted peer as Main Mode / Quick Mode responder. Each step takes
    overrides so a test can answer wrongly at exactly one message."""

    def __init__(self, peer, psk, nat=False):
        self.peer = peer
        self.psk = psk
        self.p1 = None
        self.fake_nat = nat

    def wait_mm1(self, timeout=10.0):
        def match(m):
            return m.exch == EXCH_MAIN and m.rcookie == b"\0" * 8 and m.msgid == 0
        m = self.peer.recv(match, timeout)
        m.parse()
        p1 = Phase1(self.peer, self.psk, initiator=False, nat=self.fake_nat)
        p1.icookie = m.icookie
        p1.sai_b = m.find(P_SA)
        p1.got["mm1"] = m
        self.p1 = p1
        return p1

    def mm2(self):
        p1 = self.p1
        # The daemon offers one proposal with one transform: choose it as is.
        pkt, _ = p1.build(EXCH_MAIN, [(P_SA, p1.sai_b), (P_VID, RFC3947_VID)])
        p1.sent["mm2"] = pkt
        return pkt

    def wait_mm3(self, timeout=5.0):
        p1 = self.p1
        m = p1.wait(EXCH_MAIN, timeout=timeout, resend=p1.sent["mm2"], first=P_KE)
        m.parse()
        p1.gxi, p1.ni = m.find(P_KE), m.find(P_NONCE)
        p1.got["mm3"] = m
        return m

    def mm4(self, ke=None, nonce=None):
        p1 = self.p1
        p1.gxr, p1.nr = p1.gx, p1.nonce
        p1.derive(p1.gxi)
        p = [(P_KE, p1.gx if ke is None else ke), (P_NONCE, p1.nonce if nonce is None else nonce),
             (P_NATD, p1.nat_d(self.peer.remote, 500)),
             (P_NATD, p1.nat_d(self.peer.local, 500, wrong=self.fake_nat))]
        pkt, _ = p1.build(EXCH_MAIN, p)
        p1.sent["mm4"] = pkt
        return pkt

    def wait_mm5(self, timeout=5.0):
        p1 = self.p1

        def match(m):
            return p1.cookies_match(m) and m.exch == EXCH_MAIN and m.flags & FLAG_ENC
        m = self.peer.recv(match, timeout)
        if m.src[1] == NAT_T_PORT:
            p1.dport = NAT_T_PORT
        nxt = p1.open(m, p1.iv)
        id_b, h = m.find(P_ID), m.find(P_HASH)
        if id_b is None or h is None or not hmac.compare_digest(h, p1.hash_i(id_b)):
            raise ValueError("MM5 HASH_I did not verify")
        p1.iv = nxt
        p1.got["mm5"] = m
        return m

    def mm6(self, id_b=None, hash_=None, **kw):
        p1 = self.p1
        id_b = id_b if id_b is not None else id_addr(p1.local_id)
        h = p1.hash_r(id_b) if hash_ is None else hash_
        pkt, last = p1.build(EXCH_MAIN, [(P_ID, id_b), (P_HASH, h)], iv=p1.iv, **kw)
        p1.iv = last
        p1.p1_last = last
        p1.sent["mm6"] = pkt
        return pkt

    def main_mode(self, timeout=10.0):
        self.wait_mm1(timeout)
        self.p1.send(self.mm2())
        self.wait_mm3()
        self.p1.send(self.mm4())
        self.wait_mm5()
        self.p1.send(self.mm6())
        return self.p1

    def wait_qm1(self, timeout=5.0):
        """The daemon's QM1 on our SA; returns a QuickMode in responder role."""
        p1 = self.p1

        def match(m):
            return m.icookie == p1.icookie and m.rcookie == p1.rcookie and m.exch == EXCH_QUICK
        m = self.peer.recv(match, timeout)
        qm = QuickMode(p1, None, None, msgid=m.msgid)
        qm.iv_after_qm1 = p1.open(m, p1.phase2_iv(m.msgid))
        pl = m.payloads
        rest = b"".join(r for _, _, r in pl[1:])
        if pl[0][0] != P_HASH or not hmac.compare_digest(pl[0][1], qm.hash1(rest)):
            raise ValueError("QM1 HASH(1) did not verify")
        qm.ni = m.find(P_NONCE)
        qm.peer_spi = int.from_bytes(parse_sa_spi(m.find(P_SA)), "big")
        qm.peer_sa = m.find(P_SA)
        qm.peer_ke = m.find(P_KE)
        qm.peer_ids = m.find_all(P_ID)
        qm.qm1 = m
        return qm

    def qm2(self, qm, ids=None, hash_=None, nonce=None, ke=None, **kw):
        """HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]: our choice echoes the
        daemon's proposal with our SPI."""
        qm.nr = secrets.token_bytes(32) if nonce is None else nonce
        sa = qm.peer_sa
        # replace the SPI (4 octets after the proposal header) with ours
        off = 8 + 8
        sa = sa[:off] + be32(qm.spi) + sa[off + 4:]
        rest = [(P_SA, sa), (P_NONCE, qm.nr)]
        if qm.peer_ke is not None:
            rest.append((P_KE, qm.gx if ke is None else ke))
        ids = qm.peer_ids if ids is None else ids
        rest += [(P_ID, i) for i in ids]
        first, body = encode_chain(rest)
        h = qm.hash2(body) if hash_ is None else hash_
        pkt, last = self.p1.build(EXCH_QUICK, (P_HASH, raw_payload(first, h) + body),
                                  msgid=qm.msgid, iv=qm.iv_after_qm1, **kw)
        qm.iv = last
        qm.sent["qm2"] = pkt
        return pkt

    def wait_qm3(self, qm, timeout=5.0):
        p1 = self.p1
        m = p1.wait(EXCH_QUICK, qm.msgid, timeout=timeout, resend=qm.sent["qm2"])
        p1.open(m, qm.iv)
        if m.find(P_HASH) != qm.hash3():
            raise ValueError("QM3 HASH(3) did not verify")
        return m


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None:
        raise SystemExit("ikepeer: environment variable %s is not set" % name)
    return v
