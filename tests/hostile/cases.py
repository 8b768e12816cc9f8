#!/usr/bin/python3
"""The hostile-peer cases (issue 7, items 4 and 6), run by hostile_test.sh.

  cases.py list        the case names, one a line, in run order
  cases.py run CASE    run one case against host B (192.0.2.2)

Each case reaches a state legitimately, sends the bad message, and checks
what RFC 2408/2409 and issue 7 item 4 ask for: a notify, or a drop with its
log line on B. Then (every case) a fresh legitimate Main Mode + Quick Mode
from the peer must succeed. Exit status 0 when every check held.

Environment (set by hostile_test.sh): HOSTILE_PSK, HOSTILE_SYSLOG_B (B's
syslog file), HOSTILE_IKE_B (command prefix running `ike` on B),
HOSTILE_STATE (a file to create when B should be restarted after the case).
"""

import os
import re
import secrets
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ikepeer as ip  # noqa: E402

B = "192.0.2.2"
B_NET = "203.0.113.1"
PY = "192.0.2.3"       # the peer as initiator ("py" on B)
PY_NET = "198.51.100.3"
PYR = "192.0.2.4"      # the peer as responder: B initiates ("pyr")
PYR_NET = "198.51.100.4"
PYF = "192.0.2.5"      # the flooded peer address ("pyf")
PYF_NET = "198.51.100.5"
P = ip.MODP2048_P


class Ctx:
    def __init__(self, name):
        self.name = name
        self.psk = ip.env("HOSTILE_PSK").encode()
        self.syslog = ip.env("HOSTILE_SYSLOG_B")
        self.ike_b = ip.env("HOSTILE_IKE_B").split()
        self.state = ip.env("HOSTILE_STATE", "/dev/null")
        self.start = self.log_pos()
        self.failures = 0
        self.peers = []

    # ---- reporting ----
    def ok(self, cond, what):
        print(("  ok: " if cond else "  NOT OK: ") + what, flush=True)
        if not cond:
            self.failures += 1
        return cond

    def info(self, text):
        print("  .. " + text, flush=True)

    def restart_after(self):
        open(self.state, "w").close()

    # ---- B's syslog ----
    def log_pos(self):
        try:
            return os.path.getsize(self.syslog)
        except OSError:
            return 0

    def log_lines(self, since=None):
        with open(self.syslog, "rb") as f:
            f.seek(self.start if since is None else since)
            return f.read().decode("utf-8", "replace").splitlines()

    def grep(self, regex, since=None):
        flags = re.I if "(?i)" in regex else 0
        r = re.compile(regex.replace("(?i)", ""), flags)
        return [line for line in self.log_lines(since) if r.search(line)]

    def wait_log(self, regex, timeout=5.0, since=None):
        deadline = time.monotonic() + timeout
        while True:
            found = self.grep(regex, since)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def expect_log(self, regex, what, timeout=3.0, since=None):
        found = self.wait_log(regex, timeout, since)
        self.ok(bool(found), "B logs %s (/%s/)" % (what, regex))
        for line in found[:3]:
            self.info("log: " + line[-220:])
        return found

    def expect_no_log(self, regex, what, since=None):
        found = self.grep(regex, since)
        self.ok(not found, "B does not log %s (/%s/)" % (what, regex))
        for line in found[:3]:
            self.info("log: " + line[-220:])

    # ---- ike on B ----
    def ike(self, *args):
        r = subprocess.run(self.ike_b + list(args), capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def cache_has_spi(self, spi):
        _, out = self.ike("cmd=list", "cache")
        return ("0x%08x" % spi) in out

    def list_rows(self, phase, remote):
        """Rows of `ike cmd=list` on B for PHASE whose remote id mentions REMOTE."""
        _, out = self.ike("cmd=list")
        return [line for line in out.splitlines()
                if line.split()[:1] == [str(phase)] and remote in line]

    def wait_status(self, phase, remote, status, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            rows = self.list_rows(phase, remote)
            if any(r.split()[2] == status for r in rows if len(r.split()) > 2):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    # ---- the peer ----
    def peer(self, addr=PY):
        """The peer's UDP endpoint on |addr| (port 500; 4500 bound on first use).
        One per address: the case and the check afterwards share it."""
        for p in self.peers:
            if p.local == addr:
                return p
        p = ip.Peer(addr, B, 500)
        self.peers.append(p)
        return p

    def cookies(self, p1):
        return "%s:%s" % (p1.icookie.hex(), p1.rcookie.hex())

    def phase1(self, peer=None, nat=False, psk=None, **kw):
        return ip.Phase1(peer or self.peer(), psk or self.psk, nat=nat, **kw)

    def established(self, peer=None, nat=False):
        """A legitimate Main Mode (the peer initiates)."""
        return self.phase1(peer, nat).main_mode()

    def legit(self, peer=None, nat=False, net=PY_NET, what="legitimate"):
        """A fresh, legitimate Main Mode + Quick Mode; True when B logged the
        phase 2 as established. That line also serves as a log barrier: B
        logs in order, so every line about what came before is in the file."""
        try:
            p1 = self.established(peer, nat)
            qm = ip.QuickMode(p1, net, B_NET).run()
        except (ip.Timeout, ValueError) as e:
            self.ok(False, "%s Main Mode + Quick Mode: %s" % (what, e))
            return None, None
        line = self.wait_log(r"cookies %s: .*phase 2 tunnel \S+ established .*%08x \(out\)" % (
            self.cookies(p1), qm.spi), timeout=5.0, since=self.start)
        self.ok(bool(line), "%s Main Mode + Quick Mode complete (B: phase 2 established, "
                "its outbound SPI %08x)" % (what, qm.spi))
        return p1, qm

    def barrier(self):
        """Everything sent so far was processed and logged by B."""
        return self.legit(what="barrier")

    def expect_notify(self, p1, ntype, timeout=3.0, plain=None):
        """An Informational on |p1|'s cookies carrying notify |ntype|."""
        def match(m):
            if m.icookie != p1.icookie or m.exch != ip.EXCH_INFO:
                return False
            try:
                if m.flags & ip.FLAG_ENC:
                    if p1.skeyid_a is None or not p1.open_info(m):
                        return False
                else:
                    m.parse()
            except ValueError:
                return False
            return ntype in m.notifies()
        try:
            m = p1.peer.recv(match, timeout)
            self.ok(True, "B sends notify %d (%s)" % (ntype, "protected" if m.flags & 1 else
                                                        "unprotected"))
            return m
        except ip.Timeout:
            self.ok(False, "B sends notify %d within %.1f s" % (ntype, timeout))
            return None

    def replies(self, p1, exch, msgid=0):
        """Messages of |exch|/|msgid| on p1's cookies already received."""
        p1.peer.drain(0.05)
        return [m for m in p1.peer.backlog if m.icookie == p1.icookie and m.exch == exch and
                m.msgid == msgid]

    def close(self):
        for p in self.peers:
            p.close()


CASES = []


def case(letter=""):
    def register(fn):
        fn.letter = letter
        CASES.append(fn)
        return fn
    return register


# ---- baseline ------------------------------------------------------------------------


@case()
def baseline(c):
    """A legitimate Main Mode + Quick Mode + R-U-THERE, nothing hostile."""
    p1, qm = c.legit()
    if p1:
        c.ok(p1.ping(), "R-U-THERE answered on the new SA")
        c.ok(c.cache_has_spi(qm.spi), "B's tunnel cache lists the SA (SPI %08x)" % qm.spi)


# ---- helpers for the cases ----------------------------------------------------------------


def with_extra(pkt, extra):
    """|pkt| with |extra| octets appended and the header length fixed."""
    out = pkt + extra
    return out[:24] + struct.pack("!I", len(out)) + out[28:]


def to_mm2(c, p1=None, sa=None):
    p1 = p1 or c.phase1()
    pkt = p1.mm1(sa)
    p1.send(pkt)
    p1.take_mm2(p1.wait(ip.EXCH_MAIN, resend=pkt, first=ip.P_SA))
    return p1


def to_mm4(c, p1=None):
    p1 = to_mm2(c, p1)
    pkt = p1.mm3()
    p1.send(pkt)
    p1.take_mm4(p1.wait(ip.EXCH_MAIN, resend=pkt, first=ip.P_KE))
    return p1


def finish_mm(c, p1, what="the genuine MM5 afterwards is answered with a valid MM6"):
    """Sends the genuine MM5 and checks B's MM6 decrypts and verifies."""
    pkt = p1.mm5()
    p1.send(pkt)
    try:
        p1.take_mm6(p1.wait_mm6(1.0, pkt))
        c.ok(True, what)
        return True
    except (ip.Timeout, ValueError) as e:
        c.ok(False, "%s: %s" % (what, e))
        return False


def mine(c, p1):
    """A regex prefix for B's log lines about |p1|."""
    return r"cookies %s: .*" % c.cookies(p1)


def no_qm2(c, p1, msgid, what):
    """After a ping barrier: B sent no Quick Mode message 2 for |msgid|."""
    c.ok(p1.ping(), "R-U-THERE answered afterwards (B processed the message)")
    got = c.replies(p1, ip.EXCH_QUICK, msgid)
    c.ok(not got, "B sends no Quick Mode message 2 for %s" % what)
    return not got


# ---- Main Mode 1 -----------------------------------------------------------------------


@case()
def mm1_no_proposal(c):
    """MM1 offering only 3DES/SHA1/MODP1024: NO-PROPOSAL-CHOSEN."""
    p1 = c.phase1()
    attrs = [ip.attr(1, 5), ip.attr(2, 2), ip.attr(3, 1), ip.attr(4, 2)]
    sa = ip.sa_body([ip.proposal(1, ip.PROTO_ISAKMP, b"", [ip.transform(1, 1, attrs)])])
    p1.send(p1.mm1(sa))
    c.expect_notify(p1, ip.N_NO_PROPOSAL_CHOSEN)
    c.expect_log(r"no proposal chosen for peer %s" % PY, "the refusal")


@case()
def mm1_aggressive_mode(c):
    """An Aggressive Mode message 1 where the protection says MAIN: INVALID-EXCHANGE-TYPE
    (RFC 2408 3.14.1), the tunnel and protection named in the log (issue 10.1)."""
    p1 = c.phase1()
    pkt, _ = p1.build(4, [(ip.P_SA, ip.ike_sa_body()), (ip.P_KE, p1.gx), (ip.P_NONCE, p1.nonce),
                          (ip.P_ID, ip.id_addr(PY))])
    p1.send(pkt)
    c.expect_notify(p1, 7)
    c.expect_log(r"Aggressive Mode from %s.* refused: phase 1 tunnel .* allows Main Mode only" % PY,
                 "the refusal and its reason")


@case()
def am1_without_identity(c):
    """An Aggressive Mode message 1 without its ID payload: dropped, logged, no SA (issue 10.1)."""
    p1 = c.phase1()
    pkt, _ = p1.build(4, [(ip.P_SA, ip.ike_sa_body()), (ip.P_KE, p1.gx), (ip.P_NONCE, p1.nonce)])
    p1.send(pkt)
    c.expect_log(r"dropped Aggressive Mode message 1 from %s.*: no readable identity" % PY,
                 "the drop")
    c.ok(not c.replies(p1, 4) and not c.replies(p1, ip.EXCH_INFO), "no answer at all")


@case()
def mm1_burst_same(c):
    """The same MM1 50 times at once: one half-open SA (one responder cookie)."""
    p1 = c.phase1()
    pkt = p1.mm1()
    for _ in range(50):
        p1.send(pkt)
    first = p1.wait(ip.EXCH_MAIN, first=ip.P_SA)
    p1.take_mm2(first)
    rest = c.replies(p1, ip.EXCH_MAIN)
    c.ok(all(m.rcookie == first.rcookie for m in rest),
         "every answer carries the same responder cookie (%d answers)" % (len(rest) + 1))
    pkt = p1.mm3()
    p1.send(pkt)
    p1.take_mm4(p1.wait(ip.EXCH_MAIN, resend=pkt, first=ip.P_KE))
    finish_mm(c, p1, "the exchange completes")


@case()
def mm1_replay_after_done(c):
    """The genuine MM1 replayed after Main Mode completed: the SA is untouched."""
    p1 = c.established()
    p1.send(p1.sent["mm1"])
    c.ok(p1.ping(), "the established SA still answers R-U-THERE")


@case("e")
def mm1_lifetime_2p32(c):
    """Phase 1 proposing a lifetime of 2^32 s (5-octet attribute): capped, not 0."""
    sa = ip.ike_sa_body(life_attr=ip.attr(12, 2 ** 32))
    p1 = c.phase1()
    p1.main_mode(sa=sa)
    c.expect_log(mine(c, p1) + r".*phase 1 established .*lifetime (\d+) s", "phase 1 established")
    c.ok(p1.ping(), "the SA is alive after establishment (R-U-THERE answered)")
    c.expect_no_log(mine(c, p1) + r".*lifetime 0 s", "a lifetime of 0 s")
    c.expect_no_log(mine(c, p1) + r".*lifetime expired", "the SA expiring at once")


@case("j")
def mm2_retransmit_jitter(c):
    """Eight MM1 at once, left unanswered: B's first MM2 retransmissions must
    not all come exactly one interval later (retransmissions with jitter)."""
    peer = c.peer()
    sas = [c.phase1(peer) for _ in range(8)]
    for p1 in sas:
        p1.send(p1.mm1())
    # Everything B sends for 2.5 s: each SA's MM2 and its retransmissions
    # (0.5 s, then 1 s later). Read all at once, not SA by SA, and tolerate a
    # lost datagram: a case that waited for each SA's copies in turn timed
    # out now and then under load, when one copy of 24 went missing.
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        peer.drain(deadline - time.monotonic())
    intervals = []
    for p1 in sas:
        times = sorted(m.received for m in peer.backlog
                       if p1.cookies_match(m) and m.exch == ip.EXCH_MAIN and m.next_payload == ip.P_SA)
        if len(times) >= 2:
            intervals.append(times[1] - times[0])
    c.info("retransmission intervals: %s" % ", ".join("%.3f" % i for i in intervals))
    c.ok(len(intervals) >= 6, "B retransmitted MM2 for %d of the 8 SAs (at least 6)" % len(intervals))
    spread = max(intervals) - min(intervals) if intervals else 0.0
    c.ok(spread > 0.005, "the intervals differ by more than 5 ms (spread %.1f ms)" % (spread * 1000))


# ---- Main Mode 3 -----------------------------------------------------------------------


def bad_mm3(c, regex, ntype, what, **kw):
    p1 = to_mm2(c)
    p1.send(p1.mm3(**kw))
    c.expect_notify(p1, ntype)
    c.expect_log(mine(c, p1) + ".*" + regex, what)


@case()
def mm3_ke_short(c):
    """MM3 with a 255-octet KE for MODP2048: INVALID-KEY-INFORMATION."""
    bad_mm3(c, r"KE payload of 255 octets", ip.N_INVALID_KEY_INFORMATION, "the KE length",
            ke=os.urandom(255))


@case()
def mm3_ke_empty(c):
    """MM3 with an empty KE payload: INVALID-KEY-INFORMATION."""
    bad_mm3(c, r"KE payload of 0 octets", ip.N_INVALID_KEY_INFORMATION, "the KE length", ke=b"")


def ke_value(v):
    return v.to_bytes(ip.MODP2048_LEN, "big")


@case()
def mm3_ke_zero(c):
    """MM3 with g^x = 0: INVALID-KEY-INFORMATION (SP 800-56A checks)."""
    bad_mm3(c, r"invalid DH public value", ip.N_INVALID_KEY_INFORMATION, "the bad value",
            ke=ke_value(0))


@case()
def mm3_ke_one(c):
    """MM3 with g^x = 1: INVALID-KEY-INFORMATION."""
    bad_mm3(c, r"invalid DH public value", ip.N_INVALID_KEY_INFORMATION, "the bad value",
            ke=ke_value(1))


@case()
def mm3_ke_p_minus_1(c):
    """MM3 with g^x = p-1 (order 2): INVALID-KEY-INFORMATION."""
    bad_mm3(c, r"invalid DH public value", ip.N_INVALID_KEY_INFORMATION, "the bad value",
            ke=ke_value(P - 1))


@case()
def mm3_ke_p(c):
    """MM3 with g^x = p: INVALID-KEY-INFORMATION."""
    bad_mm3(c, r"invalid DH public value", ip.N_INVALID_KEY_INFORMATION, "the bad value",
            ke=ke_value(P))


def nonce_case(n):
    def fn(c):
        # A malformed plaintext message is dropped with a line naming the
        # fault (anyone who saw the cookies could send it: it must not end
        # the exchange); the peer's retransmission decides.
        p1 = to_mm2(c)
        p1.send(p1.mm3(nonce=os.urandom(n)))
        c.expect_log(mine(c, p1) + r".*dropped malformed Main Mode message 3: nonce of %d octets" % n,
                     "the drop naming the nonce length")
    fn.__name__ = "mm3_nonce_%d" % n
    fn.__doc__ = "MM3 with a %d-octet nonce (RFC 2409 5: 8-256): dropped, logged." % n
    return case()(fn)


for _n in (0, 7, 257, 300):
    nonce_case(_n)


@case()
def mm3_with_hash(c):
    """MM3 carrying a HASH payload: dropped as malformed; the genuine MM3 proceeds."""
    p1 = to_mm2(c)
    p1.send(p1.mm3(extra=[(ip.P_HASH, os.urandom(32))]))
    c.expect_log(mine(c, p1) + r"dropped malformed Main Mode message 3: unexpected HASH",
                 "the drop")
    pkt = p1.mm3()
    p1.send(pkt)
    p1.take_mm4(p1.wait(ip.EXCH_MAIN, resend=pkt, first=ip.P_KE))
    finish_mm(c, p1)


@case()
def mm3_replay(c):
    """MM3 repeated after MM4: B repeats its MM4 unchanged; the exchange goes on."""
    p1 = to_mm4(c)
    first = p1.got["mm4"].data
    p1.send(p1.sent["mm3"])
    again = p1.wait(ip.EXCH_MAIN, first=ip.P_KE)
    c.ok(again.data == first, "the repeated MM4 is the same message")
    finish_mm(c, p1)


@case("h")
def mm3_junk_evicts_duplicate(c):
    """Junk with the right cookies, then a genuine MM3 retransmission: B must
    still answer it with its MM4 (only accepted messages are remembered)."""
    p1 = to_mm2(c)
    pkt = p1.mm3()
    p1.send(pkt)
    m4 = p1.wait(ip.EXCH_MAIN, resend=pkt, first=ip.P_KE)
    junk, _ = p1.build(ip.EXCH_MAIN, [(ip.P_KE, os.urandom(40))])
    p1.send(junk)
    p1.send(pkt)
    # B's own retransmission timer fires 500 ms after its MM4; an answer to
    # our retransmission comes well before that.
    try:
        again = p1.wait(ip.EXCH_MAIN, timeout=0.3, first=ip.P_KE)
        c.ok(again.data == m4.data, "B repeats its MM4 for the retransmitted MM3")
    except ip.Timeout:
        c.ok(False, "B repeats its MM4 at once for the retransmitted MM3 (no answer in 0.3 s)")
    p1.take_mm4(m4)
    finish_mm(c, p1)
    c.barrier()
    n = len(c.grep(mine(c, p1) + r"wrong encryption flag"))
    c.ok(n <= 1, "B drops only the junk for its encryption flag, not the retransmitted MM3 "
         "(%d such lines)" % n)


# ---- Main Mode 5 -----------------------------------------------------------------------


@case()
def mm5_bad_hash(c):
    """MM5 with a wrong HASH_I: dropped (logged); the genuine MM5 then completes."""
    p1 = to_mm4(c)
    p1.send(p1.mm5(hash_=os.urandom(32)))
    c.expect_log(mine(c, p1) + r"HASH_I from %s did not verify" % PY, "the bad HASH_I")
    finish_mm(c, p1)


@case()
def mm5_wrong_psk(c):
    """The peer uses another PSK: MM5 does not decrypt; AUTHENTICATION-FAILED."""
    p1 = to_mm4(c, c.phase1(psk=b"not the right key at all"))
    pkt = p1.mm5()
    p1.send(pkt)
    p1.send(pkt)  # our retransmission: the second copy decides
    c.expect_notify(p1, ip.N_AUTHENTICATION_FAILED)
    c.expect_log(mine(c, p1) + r"phase 1 failed .*pre-shared keys differ", "the failure")


@case()
def mm5_bad_id(c):
    """MM5 naming another identity (192.0.2.99): dropped; the genuine MM5 completes."""
    p1 = to_mm4(c)
    p1.send(p1.mm5(id_b=ip.id_addr("192.0.2.99")))
    c.expect_log(mine(c, p1) + r"identified itself as '192\.0\.2\.99'", "the wrong identity")
    finish_mm(c, p1)


@case()
def mm5_bad_padding(c):
    """MM5 whose ciphertext is not a whole number of blocks: dropped."""
    p1 = to_mm4(c)
    p1.send(with_extra(p1.mm5(), b"\x01\x02\x03\x04\x05"))
    c.expect_log(mine(c, p1) + r"not a whole number of blocks", "the drop")
    finish_mm(c, p1)


@case()
def mm5_truncated(c):
    """MM5 whose decrypted HASH payload claims 64 octets more than there are."""
    p1 = to_mm4(c)
    id_b = ip.id_addr(PY)
    first, body = ip.encode_chain([(ip.P_ID, id_b), (ip.P_HASH, p1.hash_i(id_b))])
    at = 4 + len(id_b)
    body = body[:at + 2] + struct.pack("!H", 4 + 32 + 64) + body[at + 4:]
    pkt, _ = p1.build(ip.EXCH_MAIN, (first, body), iv=p1.iv)
    p1.send(pkt)
    c.expect_log(mine(c, p1) + r"Main Mode message 5 (rejected|dropped)", "the drop")
    finish_mm(c, p1)


@case("i")
def mm5_trailing_garbage(c):
    """MM5 with two cipher blocks of garbage after the last payload: dropped
    (at most one block may follow the last payload); the genuine MM5 completes."""
    p1 = to_mm4(c)
    p1.send(p1.mm5(trailing=os.urandom(32)))
    c.expect_log(mine(c, p1) + r"(?i)(trailing|after the last payload|padding|rejected|dropped)",
                 "the drop")
    finish_mm(c, p1, "B's MM6 follows the genuine MM5 (its IV is the genuine MM5's last block)")


@case("h")
def mm5_junk_evicts_duplicate(c):
    """MM6 lost; encrypted junk with the right cookies; then the MM5
    retransmission must still get B's MM6 again."""
    p1 = to_mm4(c)
    pkt = p1.mm5()
    p1.send(pkt)
    m6 = p1.wait_mm6(1.0, pkt)
    junk, _ = p1.build(ip.EXCH_MAIN, (ip.P_ID, os.urandom(48)), flags=ip.FLAG_ENC)
    p1.send(junk)
    p1.send(pkt)
    try:
        again = p1.wait_mm6(1.5, None)
        c.ok(again.data == m6.data, "B repeats its MM6")
    except ip.Timeout:
        c.ok(False, "B repeats its MM6 for the retransmitted MM5 (no answer)")


@case()
def mm5_replay_after_qm(c):
    """MM5 replayed after the first Quick Mode: nothing answered, SA intact."""
    p1 = c.established()
    ip.QuickMode(p1, PY_NET, B_NET).run()
    p1.send(p1.sent["mm5"])
    c.ok(p1.ping(), "R-U-THERE answered afterwards")
    c.ok(not [m for m in c.replies(p1, ip.EXCH_MAIN) if m.flags & 1],
         "B does not answer the replayed MM5")


# ---- Quick Mode --------------------------------------------------------------------------


def qm_ready(c, **kw):
    p1 = c.established()
    return p1, ip.QuickMode(p1, PY_NET, B_NET, **kw)


@case()
def qm1_bad_hash(c):
    """QM1 with a wrong HASH(1): dropped with a log line; a genuine QM1 proceeds."""
    p1, qm = qm_ready(c)
    p1.send(qm.qm1(hash_=os.urandom(32)))
    c.expect_log(mine(c, p1) + r"HASH\(1\) did not verify", "the drop")
    no_qm2(c, p1, qm.msgid, "the forged QM1")
    ip.QuickMode(p1, PY_NET, B_NET).run()
    c.ok(True, "a genuine Quick Mode then completes")


def qm_nonce_case(n):
    def fn(c):
        p1, qm = qm_ready(c)
        p1.send(qm.qm1(nonce=os.urandom(n)))
        no_qm2(c, p1, qm.msgid, "a %d-octet nonce" % n)
        c.expect_log(mine(c, p1) + r"(?i)nonce", "the bad nonce", timeout=1.0)
    fn.__name__ = "qm1_nonce_%d" % n
    fn.__doc__ = "QM1 with a %d-octet nonce (RFC 2409 5: 8-256): refused." % n
    return case("c")(fn)


for _n in (0, 7, 257, 300):
    qm_nonce_case(_n)


@case()
def qm1_bad_ids(c):
    """QM1 with IDci 10.0.0.1, outside every policy: INVALID-ID-INFORMATION."""
    p1, qm = qm_ready(c)
    p1.send(qm.qm1(ids=[ip.id_addr("10.0.0.1"), ip.id_addr(B_NET)]))
    c.expect_notify(p1, ip.N_INVALID_ID_INFORMATION)
    c.expect_log(mine(c, p1) + r"refused: selectors 10\.0\.0\.1", "the refusal")


@case()
def qm1_three_ids(c):
    """QM1 with three ID payloads: dropped as malformed."""
    p1, qm = qm_ready(c)
    p1.send(qm.qm1(ids=[ip.id_addr(PY_NET), ip.id_addr(B_NET), ip.id_addr(B_NET)]))
    c.expect_log(mine(c, p1) + r"3 ID payloads", "the drop")
    no_qm2(c, p1, qm.msgid, "three IDs")


@case("j")
def qm1_noncontiguous_mask(c):
    """IDci 198.51.100.0 mask 255.0.255.0 (non-contiguous): refused, not read as /8."""
    p1, qm = qm_ready(c)
    idci = ip.id_body(ip.ID_IPV4_ADDR_SUBNET, ip.ip_bytes("198.51.100.0") + bytes([255, 0, 255, 0]))
    p1.send(qm.qm1(ids=[idci, ip.id_addr(B_NET)]))
    no_qm2(c, p1, qm.msgid, "a non-contiguous mask")
    c.expect_log(mine(c, p1) + r"(?i)(mask|contiguous|INVALID-ID|unreadable|refused)", "the refusal", timeout=1.0)


def qm_ke_case(name, ke, doc):
    def fn(c):
        p1, qm = qm_ready(c)
        p1.send(qm.qm1(ke=ke))
        c.expect_notify(p1, ip.N_INVALID_KEY_INFORMATION)
        c.expect_log(mine(c, p1) + r"invalid PFS public value", "the bad PFS value")
        c.ok(not c.cache_has_spi(qm.spi), "no SA installed")
    fn.__name__ = name
    fn.__doc__ = doc
    return case()(fn)


qm_ke_case("qm1_ke_short", os.urandom(255), "QM1 with a 255-octet PFS KE: INVALID-KEY-INFORMATION.")
qm_ke_case("qm1_ke_p_minus_1", ke_value(P - 1), "QM1 with PFS g^x = p-1: INVALID-KEY-INFORMATION.")
qm_ke_case("qm1_ke_zero", ke_value(0), "QM1 with PFS g^x = 0: INVALID-KEY-INFORMATION.")


@case("i")
def qm1_trailing_garbage(c):
    """QM1 with two cipher blocks after the last payload: dropped with a log line."""
    p1, qm = qm_ready(c)
    p1.send(qm.qm1(trailing=os.urandom(32)))
    no_qm2(c, p1, qm.msgid, "trailing garbage")
    c.expect_log(mine(c, p1) + r"(?i)(trailing|after the last payload|padding|dropped|malformed)",
                 "the drop", timeout=1.0)


@case()
def qm1_bad_padding(c):
    """QM1 whose ciphertext is not a whole number of blocks: dropped with a log line."""
    p1, qm = qm_ready(c)
    p1.send(with_extra(qm.qm1(), b"\x01\x02\x03"))
    no_qm2(c, p1, qm.msgid, "a partial block")
    c.expect_log(mine(c, p1) + r"(?i)(whole number of blocks|decrypt)", "the drop", timeout=1.0)


@case()
def qm1_truncated(c):
    """QM1 whose decrypted last ID payload claims more octets than there are."""
    p1, qm = qm_ready(c)
    rest = [(ip.P_SA, ip.esp_sa_body(qm.spi)), (ip.P_NONCE, qm.ni), (ip.P_KE, qm.gx),
            (ip.P_ID, ip.id_addr(PY_NET)), (ip.P_ID, ip.id_addr(B_NET))]
    first, body = ip.encode_chain(rest)
    body = body[:-12 + 2] + struct.pack("!H", 12 + 80) + body[-12 + 4:]
    h = qm.hash1(body)
    pkt, _ = p1.build(ip.EXCH_QUICK, (ip.P_HASH, ip.raw_payload(first, h) + body), msgid=qm.msgid,
                      iv=qm.iv)
    p1.send(pkt)
    c.expect_log(mine(c, p1) + r"dropped malformed Quick Mode message 1", "the drop")
    no_qm2(c, p1, qm.msgid, "a truncated payload")


@case()
def qm3_bad_hash(c):
    """QM3 with a wrong HASH(3): the SA is not installed; logged."""
    p1, qm = qm_ready(c)
    pkt = qm.qm1()
    p1.send(pkt)
    qm.take_qm2(p1.wait(ip.EXCH_QUICK, qm.msgid, resend=pkt))
    p1.send(qm.qm3(hash_=os.urandom(32)))
    c.expect_log(mine(c, p1) + r"HASH\(3\) from %s did not verify" % PY, "the bad HASH(3)")
    c.ok(p1.ping(), "R-U-THERE answered afterwards")
    c.ok(not c.cache_has_spi(qm.spi), "no SA installed for the forged QM3")


@case()
def qm3_replay(c):
    """QM3 replayed after the Quick Mode completed: nothing changes."""
    p1, qm = qm_ready(c)
    qm.run()
    c.wait_log(mine(c, p1) + r"phase 2 tunnel \S+ established", 3.0)
    p1.send(qm.sent["qm3"])
    c.ok(p1.ping(), "R-U-THERE answered afterwards")
    c.ok(c.cache_has_spi(qm.spi), "the SA is still installed")


@case("3")
def qm1_replay_after_done(c):
    """The genuine QM1 replayed after its Quick Mode finished: dropped, logged."""
    p1, qm = qm_ready(c)
    qm.run()
    c.wait_log(mine(c, p1) + r"phase 2 tunnel \S+ established", 3.0)
    p1.send(qm.sent["qm1"])
    no_qm2(c, p1, qm.msgid, "the replayed QM1")
    c.expect_log(mine(c, p1) + r"(?i)((replay|already|finished|recent|used|closed|duplicate).*message id|"
                 r"message id.*(replay|already|finished|recent|used|closed|duplicate))", "the replay", timeout=1.0)


@case("3")
def qm1_replay_after_delete(c):
    """The genuine QM1 replayed after its SA was deleted: no fresh SAs."""
    p1, qm = qm_ready(c)
    qm.run()
    c.wait_log(mine(c, p1) + r"phase 2 tunnel \S+ established", 3.0)
    p1.send(p1.informational([(ip.P_D, ip.delete_body(ip.PROTO_ESP, [ip.be32(qm.spi)]))]))
    c.expect_log(mine(c, p1) + r"peer deleted phase 2 tunnel", "the Delete")
    p1.send(qm.sent["qm1"])
    no_qm2(c, p1, qm.msgid, "the replayed QM1")


@case("j")
def qm_message_id_zero(c):
    """A Quick Mode with message id 0: dropped, logged as such."""
    p1, qm = qm_ready(c, msgid=0)
    p1.send(qm.qm1())
    no_qm2(c, p1, 0, "message id 0")
    c.expect_log(mine(c, p1) + r"(?i)message id 0\b", "message id 0", timeout=1.0)


@case("e")
def qm1_lifetime_2p32(c):
    """Phase 2 proposing a lifetime of 2^32 s: capped to our policy (3600 s), not 0."""
    p1, qm = qm_ready(c)
    pkt = qm.qm1(sa=ip.esp_sa_body(qm.spi, life_attr=ip.attr(2, 2 ** 32)))
    p1.send(pkt)
    qm.take_qm2(p1.wait(ip.EXCH_QUICK, qm.msgid, resend=pkt))
    p1.send(qm.qm3())
    line = c.expect_log(mine(c, p1) + r"phase 2 tunnel \S+ established .*%08x \(out\)" % qm.spi,
                        "phase 2 established")
    c.ok(bool(line) and "lifetime 3600 s" in line[0], "the lifetime is our 3600 s")


@case()
def qm1_burst_same(c):
    """The same QM1 30 times: one responder Quick Mode (one SPI in every answer)."""
    p1, qm = qm_ready(c)
    pkt = qm.qm1()
    for _ in range(30):
        p1.send(pkt)
    first = p1.wait(ip.EXCH_QUICK, qm.msgid)
    c.ok(p1.ping(), "R-U-THERE answered afterwards")
    rest = c.replies(p1, ip.EXCH_QUICK, qm.msgid)
    c.ok(all(m.data == first.data for m in rest), "every answer is the same QM2 (%d)" %
         (len(rest) + 1))
    qm.take_qm2(first)
    p1.send(qm.qm3())


@case()
def qm1_flood(c):
    """300 genuine QM1 with distinct message ids at once: B survives and a
    legitimate tunnel comes up right after."""
    p1 = c.established()
    for _ in range(300):
        p1.send(ip.QuickMode(p1, PY_NET, B_NET).qm1())
    c.ok(p1.ping(timeout=10.0), "R-U-THERE answered after the flood")


# ---- Informational -------------------------------------------------------------------------


@case()
def info_bad_hash(c):
    """A Delete of our ISAKMP SA with a wrong HASH(1): dropped, logged; SA alive."""
    p1 = c.established()
    p1.send(p1.informational([(ip.P_D, ip.delete_body(ip.PROTO_ISAKMP, [p1.icookie + p1.rcookie]))],
                             hash_=os.urandom(32)))
    c.expect_log(mine(c, p1) + r"HASH\(1\) did not verify", "the drop")
    c.ok(p1.ping(), "the SA still answers R-U-THERE")


@case("b")
def notify_unprotected_established(c):
    """Unprotected PAYLOAD-MALFORMED on an established SA: logged, nothing ends."""
    p1, qm = qm_ready(c)
    qm.run()
    p1.send(p1.plain_informational([(ip.P_N, ip.notify_body(ip.N_PAYLOAD_MALFORMED))]))
    c.ok(p1.ping(), "the SA still answers R-U-THERE")
    c.ok(c.cache_has_spi(qm.spi), "the phase 2 SA is still installed")
    c.expect_log(mine(c, p1) + r"PAYLOAD-MALFORMED", "the notify", timeout=1.0)


@case("b")
def notify_unprotected_in_ke(c):
    """Unprotected PAYLOAD-MALFORMED while B waits for MM5 (IN KE): must not end
    phase 1; the genuine MM5 then completes."""
    p1 = to_mm4(c)
    p1.send(p1.plain_informational([(ip.P_N, ip.notify_body(ip.N_PAYLOAD_MALFORMED))]))
    c.expect_log(mine(c, p1) + r"PAYLOAD-MALFORMED", "the notify")
    c.expect_no_log(mine(c, p1) + r"probably differ", "'the pre-shared keys probably differ'")
    finish_mm(c, p1)


@case("b")
def notify_unprotected_in_ke_timeout(c):
    """Unprotected PAYLOAD-MALFORMED in IN KE and no MM5 ever: B keeps
    retransmitting MM4 and fails only at its retransmission limit, naming the
    notify as the likely reason."""
    p1 = to_mm4(c)
    p1.send(p1.plain_informational([(ip.P_N, ip.notify_body(ip.N_PAYLOAD_MALFORMED))]))
    try:
        again = p1.wait(ip.EXCH_MAIN, timeout=2.0, first=ip.P_KE)
        c.ok(again.data == p1.got["mm4"].data, "B retransmits MM4 after the notify")
    except ip.Timeout:
        c.ok(False, "B retransmits MM4 after the notify (nothing within 2 s)")
    found = c.expect_log(mine(c, p1) + r"phase 1 failed", "the failure", timeout=6.0)
    c.ok(bool(found) and "PAYLOAD-MALFORMED" in found[0] and
         re.search(r"(?i)not answering|no reply|tries|retransmi", found[0]) is not None,
         "the failure is the retransmission limit and names PAYLOAD-MALFORMED")


@case("k")
def delete_unprotected(c):
    """An unprotected Delete of our ISAKMP SA: ignored, and logged once."""
    p1 = c.established()
    p1.send(p1.plain_informational([(ip.P_D, ip.delete_body(ip.PROTO_ISAKMP,
                                                            [p1.icookie + p1.rcookie]))]))
    c.ok(p1.ping(), "the SA still answers R-U-THERE")
    found = c.expect_log(mine(c, p1) + r"(?i)((unprotected|unauthenticated|plain).*delete|delete.*(unprotected|unauthenticated|ignored))",
                         "the ignored Delete", timeout=1.0)
    c.ok(len(found) <= 1, "at most one line (%d)" % len(found))


def delete_size_case(size):
    def fn(c):
        p1, qm = qm_ready(c)
        if size == 3:
            qm.spi = secrets.randbits(24) | 0x100  # so that 3 octets could name it
        qm.run()
        c.wait_log(mine(c, p1) + r"phase 2 tunnel \S+ established", 3.0)
        spi = qm.spi.to_bytes(4, "big")
        value = (os.urandom(size - 4) + spi) if size >= 4 else spi[4 - size:]
        d = ip.delete_body(ip.PROTO_ESP, [value] if size else [], spi_size=size)
        p1.send(p1.informational([(ip.P_D, d)]))
        c.ok(p1.ping(), "R-U-THERE answered afterwards")
        c.ok(c.cache_has_spi(qm.spi), "the live SA (SPI %08x) is still installed" % qm.spi)
        c.expect_log(mine(c, p1) + r"(?i)(malformed|SPI size)", "the malformed Delete", timeout=1.0)
    fn.__name__ = "delete_spi_size_%d" % size
    fn.__doc__ = ("An authenticated ESP Delete with SPI size %d naming (the tail of) a live "
                  "SPI: malformed, nothing deleted." % size)
    return case("d")(fn)


for _n in (0, 3, 5, 200):
    delete_size_case(_n)


@case()
def delete_isakmp_unknown_cookies(c):
    """An authenticated ISAKMP Delete (SPI size 16) naming unknown cookies: the SA
    it arrived on stays."""
    p1 = c.established()
    p1.send(p1.informational([(ip.P_D, ip.delete_body(ip.PROTO_ISAKMP, [os.urandom(16)]))]))
    c.ok(p1.ping(), "the SA still answers R-U-THERE")


@case("k")
def delete_16300_unknown(c):
    """One authenticated Delete of 16,300 unknown ESP SPIs: bounded logging."""
    p1 = c.established()
    spis = [secrets.randbits(32).to_bytes(4, "big") for _ in range(16300)]
    p1.send(p1.informational([(ip.P_D, ip.delete_body(ip.PROTO_ESP, spis))]))
    c.ok(p1.ping(timeout=5.0), "R-U-THERE answered afterwards")
    c.barrier()
    n = len(c.grep(mine(c, p1) + r"(?i)unknown ESP SA"))
    c.ok(n <= 10, "at most 10 log lines for the unknown SPIs (%d)" % n)
    c.restart_after()  # the log queue may still be draining


@case()
def rut_ack_wrong_sequence(c):
    """An R-U-THERE-ACK with a sequence number we never sent: ignored; SA alive."""
    p1 = c.established()
    p1.send(p1.informational([(ip.P_N, ip.notify_body(ip.N_R_U_THERE_ACK,
                                                      spi=p1.icookie + p1.rcookie,
                                                      data=ip.be32(secrets.randbits(31))))]))
    c.ok(p1.ping(), "the SA still answers R-U-THERE")
    c.expect_log(mine(c, p1) + r"R-U-THERE-ACK", "the stray acknowledgement", timeout=1.0)


@case()
def rut_short_sequence(c):
    """An R-U-THERE with a 2-octet sequence number: answered or dropped, SA alive."""
    p1 = c.established()
    p1.send(p1.informational([(ip.P_N, ip.notify_body(ip.N_R_U_THERE, spi=p1.icookie + p1.rcookie,
                                                      data=b"\x12\x34"))]))
    c.ok(p1.ping(), "the SA still answers R-U-THERE")


# ---- NAT traversal (RFC 3947) ---------------------------------------------------------------


@case()
def natt_baseline(c):
    """Main Mode claiming a NAT: B follows to 4500; Quick Mode negotiates UDP encapsulation."""
    p1, qm = c.legit(nat=True, what="NAT-T")
    if not p1:
        return
    c.ok(qm.qm2.dst_port == ip.NAT_T_PORT, "B's QM2 came to our port 4500")
    _, out = c.ike("cmd=list", "cache")
    c.ok("tunnel-in-UDP" in out, "B's tunnel cache shows ESP/tunnel-in-UDP")


@case()
def natt_draft03_only(c):
    """A peer of draft-ietf-ipsec-nat-t-ike-03 only (no RFC 3947 vendor ID) behind
    a NAT: B answers with the draft's vendor ID, NAT-D as payload 130, floats
    to 4500 and agrees UDP-Encapsulated-Tunnel as the draft numbers it (61443)."""
    try:
        p1 = c.phase1(nat=True, draft=True).main_mode()
        qm = ip.QuickMode(p1, PY_NET, B_NET).run()
    except (ip.Timeout, ValueError) as e:
        c.ok(False, "draft-03 Main Mode + Quick Mode: %s" % e)
        return
    c.ok(ip.DRAFT03_VID in p1.got["mm2"].find_all(ip.P_VID), "B's MM2 carries the draft-03 VID")
    c.ok(ip.RFC3947_VID not in p1.got["mm2"].find_all(ip.P_VID), "and not RFC 3947's")
    c.ok(len(p1.got["mm4"].find_all(ip.P_NATD_DRAFT)) == 2 and not p1.got["mm4"].find_all(ip.P_NATD),
         "B's MM4 carries two NAT-D payloads of type 130, none of type 20")
    c.ok(qm.qm2.dst_port == ip.NAT_T_PORT, "B's QM2 came to our port 4500")
    c.expect_log(mine(c, p1) + r"NAT traversal draft-03: NAT detected in front of the peer",
                 "B's log names draft-03 and the NAT")
    _, out = c.ike("cmd=list", "cache")
    c.ok("tunnel-in-UDP" in out, "B's tunnel cache shows ESP/tunnel-in-UDP")


@case("i")
def natt_copy_moves_endpoint(c):
    """A copy of a genuine Informational with one cipher block appended, sent
    from another source port: must not move the peer's endpoint."""
    p1, qm = c.legit(nat=True, what="NAT-T")
    if not p1:
        return
    pkt = p1.informational([(ip.P_N, ip.notify_body(ip.N_R_U_THERE, spi=p1.icookie + p1.rcookie,
                                                    data=ip.be32(7)))])
    p1.send(pkt, dport=ip.NAT_T_PORT)
    p1.send(with_extra(pkt, os.urandom(16)), sport=4501, dport=ip.NAT_T_PORT)
    qm2 = ip.QuickMode(p1, PY_NET, B_NET)
    try:
        qm2.run(timeout=1.0)
        c.ok(qm2.qm2.dst_port == ip.NAT_T_PORT,
             "B's next QM2 still comes to port 4500 (it came to %d)" % qm2.qm2.dst_port)
    except (ip.Timeout, ValueError) as e:
        c.ok(False, "a Quick Mode from port 4500 afterwards: %s" % e)
    c.expect_no_log(mine(c, p1) + r"peer now at %s\[4501\]" % PY, "the endpoint moving to 4501")


# ---- floods --------------------------------------------------------------------------------


def flood(addr, seconds, rate):
    """Child process: MM1 with fresh initiator cookies from addr:501."""
    peer = ip.Peer(addr, B, 501)
    p1 = ip.Phase1(peer, b"x")
    pkt = bytearray(p1.mm1())
    s = peer.socks[501]
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate)
        while sent < due:
            pkt[0:8] = os.urandom(8)
            try:
                s.sendto(pkt, (B, 500))
            except OSError:
                pass
            sent += 1
        time.sleep(0.002)
    print("  .. flood: %d MM1 in %.1f s" % (sent, time.monotonic() - start))
    return 0


@case("a")
def mm1_flood_lockout(c):
    """5,000 MM1 per second from the peer's own address (other port, fresh
    cookies): a legitimate tunnel from that address still comes up within 2x
    its normal time (at least 1 s), and B logs the cap, not one line per drop."""
    peer = c.peer(PYF)
    t0 = time.monotonic()
    p1, _ = c.legit(peer, net=PYF_NET, what="before the flood: a legitimate")
    normal = time.monotonic() - t0
    since = c.log_pos()
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "flood", PYF, "5", "5000"])
    try:
        hit = c.wait_log(r"half-open cap reached for %s\b" % re.escape(PYF), timeout=5.0,
                         since=since)
        c.ok(bool(hit), "the flood reaches B's per-peer half-open cap")
        t1 = time.monotonic()
        try:
            q1 = c.phase1(peer).main_mode(timeout=0.5)
            ip.QuickMode(q1, PYF_NET, B_NET).run(timeout=0.5)
            took = time.monotonic() - t1
            limit = max(2 * normal, 1.0)
            c.ok(took <= limit, "a legitimate tunnel during the flood in %.2f s (normal %.2f s, "
                 "limit %.2f s)" % (took, normal, limit))
        except (ip.Timeout, ValueError) as e:
            c.ok(False, "a legitimate tunnel during the flood: %s" % e)
    finally:
        child.wait(timeout=30)
    n = len(c.grep(r"%s\S*.*(unknown cookies|dropped|half-open cap)" % re.escape(PYF), since))
    c.ok(n <= 20, "B logs the drops in at most 20 lines (%d)" % n)
    c.restart_after()


# ---- IKE fragmentation (issue 10.8) ---------------------------------------------------


def send_all(p1, packets):
    for pkt in packets:
        p1.send(pkt)


@case()
def frag_mm3_in_fragments(c):
    """A peer announcing FRAGMENTATION sends MM3 in fragments, in reverse
    order and one twice: B's MM2 announces FRAGMENTATION too, B answers MM4
    and the Main Mode completes."""
    p1 = c.phase1()
    pkt = p1.mm1(extra_vids=[ip.FRAGMENTATION_VID])
    p1.send(pkt)
    try:
        p1.take_mm2(p1.wait(ip.EXCH_MAIN, resend=pkt, first=ip.P_SA))
    except (ip.Timeout, ValueError) as e:
        c.ok(False, "MM2: %s" % e)
        return
    c.ok(any(v.startswith(ip.FRAGMENTATION_VID[:16]) for v in p1.got["mm2"].find_all(ip.P_VID)),
         "B's MM2 carries the FRAGMENTATION vendor ID")
    frags = ip.fragments(p1.mm3(), 0x4242, 160)
    c.ok(len(frags) >= 3, "MM3 cut into %d fragments of at most 160 octets" % len(frags))
    order = frags[::-1] + [frags[0]]  # the last first, and one twice
    try:
        send_all(p1, order)
        try:
            m4 = p1.wait(ip.EXCH_MAIN, first=ip.P_KE, tries=1)
        except ip.Timeout:
            send_all(p1, order)  # our retransmission, as a peer would
            m4 = p1.wait(ip.EXCH_MAIN, first=ip.P_KE, tries=1)
        p1.take_mm4(m4)
        c.ok(True, "B answers the rebuilt MM3 with MM4")
    except (ip.Timeout, ValueError) as e:
        c.ok(False, "MM4 after a fragmented MM3: %s" % e)
        return
    finish_mm(c, p1)
    c.expect_log(r"Main Mode message \(%d octets\) from %s\[500\] reassembled from %d fragments"
                 % (len(p1.sent["mm3"]), re.escape(PY), len(frags)), "the rebuilt MM3")


@case()
def frag_hostile(c):
    """Bad fragments: number 0, a length that lies, a fragment inside a
    fragment, another SA's cookies inside, 40 fragments of one message, and
    3,000 fragments of messages that never complete. Each is dropped with its
    reason (at most one line a second), nothing crashes, and B carries on."""
    peer = c.peer()
    ck = secrets.token_bytes(8)
    whole = ip.header(ck, b"\0" * 8, ip.P_SA, ip.EXCH_MAIN, 0, 0, 28 + 100) + b"\1" * 100

    def one(what, pkt, regex):
        since = c.log_pos()
        peer.send(pkt)
        c.expect_log(r"dropped IKE fragment from %s\[500\] .*%s" % (re.escape(PY), regex), what,
                     since=since)
        time.sleep(1.1)  # past the one-line-a-second fold

    number0 = ip.fragments(whole, 1, 600)[0]
    number0 = number0[:34] + b"\0" + number0[35:]
    one("a fragment numbered 0", number0, r"fragment number 0")
    lying = bytearray(ip.fragments(whole, 2, 600)[0])
    lying[30:32] = struct.pack("!H", 9)
    one("a fragment payload whose length lies", bytes(lying), r"fragment payload length 9")
    nested = ip.fragments(whole, 3, 600)[0]
    one("a fragment of a fragment", ip.fragments(nested, 4, 600)[0], r"itself a fragment")
    foreign = ip.header(secrets.token_bytes(8), b"\0" * 8, ip.P_SA, ip.EXCH_MAIN, 0, 0, 128) + \
        b"\1" * 100
    inner = ip.fragments(foreign, 5, 600)[0]
    one("a rebuilt message naming other cookies",
        ip.header(ck, b"\0" * 8, ip.P_FRAGMENT, ip.EXCH_MAIN, 0, 0, 28 + 8 + len(foreign)) +
        inner[28:], r"other cookies")
    many = ip.fragments(whole * 3, 6, 40, last_flag=False)  # 4-octet slices
    since = c.log_pos()
    for pkt in many[:40]:
        peer.send(pkt)
    c.expect_log(r"dropped IKE fragment from %s\[500\] .*too many fragments" % re.escape(PY),
                 "40 fragments of one message", since=since)
    time.sleep(1.1)
    since = c.log_pos()
    for i in range(3000):
        cki = secrets.token_bytes(8)
        peer.send(ip.fragments(ip.header(cki, b"\0" * 8, ip.P_SA, ip.EXCH_MAIN, 0, 0, 1028) +
                               b"\2" * 1000, i & 0xffff, 600)[0])
        if i % 500 == 499:
            time.sleep(0.01)
    time.sleep(0.5)
    n = len(c.grep(r"IKE fragment", since))
    c.ok(n <= 5, "3,000 incomplete messages' fragments: %d log lines (at most 5)" % n)
    rc, _ = c.ike("cmd=list")
    c.ok(rc == 0, "B still answers ike cmd=list after the fragments")


# ---- B initiates: the peer answers -------------------------------------------------------------


def activate_pyr(c):
    c.ike("cmd=remove", "ipaddr=%s,%s" % (B, PYR))  # what an earlier case left
    rc, out = c.ike("cmd=activate", "namelist=pyr-net")
    c.ok(rc == 0, "B: ike cmd=activate namelist=pyr-net (%s)" % out.strip().splitlines()[-1:])
    return ip.Responder(c.peer(PYR), c.psk)


def resp_to_qm1(c):
    r = activate_pyr(c)
    p1 = r.main_mode()
    return r, p1, r.wait_qm1()


@case()
def init_baseline(c):
    """B initiates Main Mode and Quick Mode towards the peer: both Active."""
    r, p1, qm = resp_to_qm1(c)
    p1.send(r.qm2(qm))
    r.wait_qm3(qm)
    c.ok(c.wait_status(2, PYR_NET, "Active"), "B lists phase 2 pyr-net Active")


@case("g")
def init_qm2_other_ids(c):
    """The peer answers QM2 with IDs other than B's (10.1.1.1 / 10.2.2.2): B
    must fail phase 2 with INVALID-ID-INFORMATION naming both."""
    r, p1, qm = resp_to_qm1(c)
    p1.send(r.qm2(qm, ids=[ip.id_addr("10.1.1.1"), ip.id_addr("10.2.2.2")]))
    c.expect_notify(p1, ip.N_INVALID_ID_INFORMATION)
    c.ok(c.wait_status(2, PYR_NET, "Failed", 3.0), "B lists phase 2 pyr-net Failed")
    c.expect_log(mine(c, p1) + r"10\.1\.1\.1.*10\.2\.2\.2", "a reason naming the returned IDs",
                 timeout=1.0)


@case("c")
def init_qm2_nonce_300(c):
    """The peer answers QM2 with a 300-octet nonce: B must refuse it."""
    r, p1, qm = resp_to_qm1(c)
    p1.send(r.qm2(qm, nonce=os.urandom(300)))
    # Dropped with a line (a forged QM2 must not end the exchange); the
    # Quick Mode then ends by its own retransmission limit.
    c.expect_log(mine(c, p1) + r"dropped malformed Quick Mode message 2: nonce of 300 octets",
                 "the bad nonce", timeout=3.0)
    c.ok(not c.wait_status(2, PYR_NET, "Active", 1.0), "B does not list phase 2 pyr-net Active")


@case("e")
def init_qm2_lifetime_2p32(c):
    """The peer's QM2 sets a lifetime of 2^32 s: B keeps its own 3600 s."""
    r, p1, qm = resp_to_qm1(c)
    qm.peer_sa = ip.esp_sa_body(qm.peer_spi, life_attr=ip.attr(2, 2 ** 32))
    p1.send(r.qm2(qm))
    r.wait_qm3(qm)
    line = c.expect_log(mine(c, p1) + r"phase 2 tunnel \S+ established", "phase 2 established")
    c.ok(bool(line) and "lifetime 3600 s" in line[0], "the lifetime is B's 3600 s")


@case()
def init_qm2_bad_hash(c):
    """The peer's QM2 has a wrong HASH(2): B fails phase 2 (INVALID-HASH-INFORMATION)."""
    r, p1, qm = resp_to_qm1(c)
    p1.send(r.qm2(qm, hash_=os.urandom(32)))
    c.expect_notify(p1, ip.N_INVALID_HASH_INFORMATION)
    c.ok(c.wait_status(2, PYR_NET, "Failed", 3.0), "B lists phase 2 pyr-net Failed")
    c.expect_log(mine(c, p1) + r"HASH\(2\) from %s did not verify" % PYR, "the bad HASH(2)")


@case("b")
def init_notify_unprotected_qm_pending(c):
    """While B's Quick Mode waits for QM2, an unprotected PAYLOAD-MALFORMED:
    must not fail it; the genuine QM2 then completes."""
    r, p1, qm = resp_to_qm1(c)
    p1.send(p1.plain_informational([(ip.P_N, ip.notify_body(ip.N_PAYLOAD_MALFORMED))]))
    c.expect_log(mine(c, p1) + r"PAYLOAD-MALFORMED", "the notify")
    p1.send(r.qm2(qm))
    try:
        r.wait_qm3(qm, timeout=1.5)
        c.ok(True, "B answers the genuine QM2 with QM3")
    except (ip.Timeout, ValueError) as e:
        c.ok(False, "B answers the genuine QM2 with QM3: %s" % e)
    c.ok(c.wait_status(2, PYR_NET, "Active", 3.0), "B lists phase 2 pyr-net Active")


@case("b")
def init_notify_before_keys(c):
    """Before any key exists (B waits for MM2), an unprotected NO-PROPOSAL-CHOSEN
    may end the exchange with its reason."""
    r = activate_pyr(c)
    p1 = r.wait_mm1()
    p1.rcookie = b"\0" * 8
    pkt, _ = p1.build(ip.EXCH_INFO, [(ip.P_N, ip.notify_body(ip.N_NO_PROPOSAL_CHOSEN))])
    p1.send(pkt)
    c.ok(c.wait_status(1, PYR, "Failed", 3.0), "B lists phase 1 pyr Failed")
    c.expect_log(mine(c, p1) + r"sent NO-PROPOSAL-CHOSEN", "the reason")


@case()
def init_mm4_bad_ke(c):
    """The peer's MM4 carries g^y = p-1: B fails phase 1 with INVALID-KEY-INFORMATION."""
    r = activate_pyr(c)
    p1 = r.wait_mm1()
    p1.send(r.mm2())
    r.wait_mm3()
    p1.send(r.mm4(ke=ke_value(P - 1)))
    c.expect_notify(p1, ip.N_INVALID_KEY_INFORMATION)
    c.ok(c.wait_status(1, PYR, "Failed", 3.0), "B lists phase 1 pyr Failed")


@case()
def init_mm4_bad_nonce(c):
    """The peer's MM4 carries a 300-octet nonce: dropped with a line; phase 1 fails by timeout."""
    r = activate_pyr(c)
    p1 = r.wait_mm1()
    p1.send(r.mm2())
    r.wait_mm3()
    p1.send(r.mm4(nonce=os.urandom(300)))
    c.expect_log(mine(c, p1) + r"dropped malformed Main Mode message 4: nonce of 300 octets",
                 "the drop naming the nonce length")
    c.ok(c.wait_status(1, PYR, "Failed", 10.0), "B lists phase 1 pyr Failed (its retransmissions "
         "of MM3 unanswered)")


@case()
def init_mm6_bad_hash(c):
    """The peer's MM6 has a wrong HASH_R (twice): B fails phase 1, AUTHENTICATION-FAILED."""
    r = activate_pyr(c)
    p1 = r.wait_mm1()
    p1.send(r.mm2())
    r.wait_mm3()
    p1.send(r.mm4())
    r.wait_mm5()
    bad = r.mm6(hash_=os.urandom(32))
    p1.send(bad)
    # B drops the first; its MM5 retransmission gets the same bad answer.
    m = p1.wait(ip.EXCH_MAIN, timeout=3.0, first=ip.P_ID)
    c.ok(bool(m.flags & ip.FLAG_ENC), "B retransmits MM5 after the first bad MM6")
    p1.send(bad)
    c.expect_notify(p1, ip.N_AUTHENTICATION_FAILED)
    c.ok(c.wait_status(1, PYR, "Failed", 3.0), "B lists phase 1 pyr Failed")


@case()
def init_mm6_bad_id(c):
    """The peer's MM6 names another identity (192.0.2.99), twice: B fails phase 1."""
    r = activate_pyr(c)
    p1 = r.wait_mm1()
    p1.send(r.mm2())
    r.wait_mm3()
    p1.send(r.mm4())
    r.wait_mm5()
    bad = r.mm6(id_b=ip.id_addr("192.0.2.99"))
    p1.send(bad)
    m = p1.wait(ip.EXCH_MAIN, timeout=3.0, first=ip.P_ID)
    c.ok(bool(m.flags & ip.FLAG_ENC), "B retransmits MM5 after the first bad MM6")
    p1.send(bad)
    c.expect_notify(p1, ip.N_INVALID_ID_INFORMATION)
    c.ok(c.wait_status(1, PYR, "Failed", 3.0), "B lists phase 1 pyr Failed")
    c.expect_log(mine(c, p1) + r"identified itself as '192\.0\.2\.99'", "the wrong identity")


@case()
def init_wrong_psk(c):
    """The peer answers with another PSK: B cannot decrypt MM6 and fails phase 1,
    naming the pre-shared keys."""
    r = activate_pyr(c)
    r.psk = b"not the right key at all"
    p1 = r.wait_mm1()
    p1.send(r.mm2())
    r.wait_mm3()
    p1.send(r.mm4())
    try:
        r.wait_mm5()
        c.ok(False, "B's MM5 should not verify with another PSK")
    except ValueError:
        c.ok(True, "B's MM5 does not verify with our (other) PSK")
    bad = r.mm6()
    p1.send(bad)
    p1.wait(ip.EXCH_MAIN, timeout=3.0, first=ip.P_ID)  # B's MM5 retransmission
    p1.send(bad)
    c.ok(c.wait_status(1, PYR, "Failed", 5.0), "B lists phase 1 pyr Failed")
    c.expect_log(mine(c, p1) + r"(?i)pre-shared keys", "a reason naming the pre-shared keys")


# ---- runner ------------------------------------------------------------------------


def main(argv):
    if len(argv) >= 2 and argv[1] == "list":
        for fn in CASES:
            print(fn.__name__)
        return 0
    if len(argv) == 5 and argv[1] == "flood":
        return flood(argv[2], float(argv[3]), int(argv[4]))
    if len(argv) >= 2 and argv[1] == "letters":
        for fn in CASES:
            print("%s %s" % (fn.__name__, fn.letter or "-"))
        return 0
    if len(argv) != 3 or argv[1] != "run":
        print(__doc__)
        return 2
    by_name = {fn.__name__: fn for fn in CASES}
    fn = by_name.get(argv[2])
    if fn is None:
        print("unknown case %s" % argv[2])
        return 2
    c = Ctx(fn.__name__)
    started = time.monotonic()
    print("  case %s (issue 7 item 4 %s): %s" % (fn.__name__, fn.letter or "-",
                                                   (fn.__doc__ or "").strip().splitlines()[0]))
    try:
        fn(c)
    except Exception as e:  # a broken case is a failed case, not a crashed runner
        c.ok(False, "case stopped: %s: %s" % (type(e).__name__, e))
    recovered = True
    if fn.__name__ != "baseline":
        before = c.failures
        c.legit(what="afterwards: a legitimate")
        recovered = c.failures == before
    c.close()
    c.info("%.1f s" % (time.monotonic() - started))
    if not recovered:
        return 3  # hostile_test.sh restarts B
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
