// The protocol holes of issue 7 item 4 that the engine closes, one test each
// (each fails on the code before the fix), plus the receive path of item 3.
#include <catch2/catch.hpp>
#include <set>

#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd {
namespace {

using testing::HeaderOf;
using testing::kHostA;
using testing::kHostB;
using testing::NotifyOf;
using testing::Packet;
using testing::Pair;
using testing::PlainInformational;

const Endpoint kA500{*IpAddress::Parse(kHostA), 500};
const Endpoint kB500{*IpAddress::Parse(kHostB), 500};

// Sets the message id (octets 20-23) of a copy of |p|.
Bytes WithMessageId(const Bytes& p, uint32_t id) {
  Bytes out = p;
  for (int i = 0; i < 4; ++i) out[20 + i] = uint8_t(id >> (24 - 8 * i));
  return out;
}

// Appends |n| octets and fixes the header's length field (octets 24-27).
Bytes Appended(const Bytes& p, size_t n) {
  Bytes out = p;
  out.resize(p.size() + n, 0x41);
  const uint32_t len = uint32_t(out.size());
  for (int i = 0; i < 4; ++i) out[24 + i] = uint8_t(len >> (24 - 8 * i));
  return out;
}

// ---- hole b: unprotected notifies ------------------------------------------

// HDR*, KE, Nr lost; instead an unprotected PAYLOAD-MALFORMED with the right
// cookies reaches the initiator in IN KE.
TEST_CASE("b: an unprotected notify in IN KE does not end Main Mode", "[holes]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  int n = 0;
  net.Run([&](const Packet& p) {
    if (++n != 4) return false;
    const auto h = HeaderOf(p);
    net.a.manager.OnPacket(
        p.to, p.from,
        PlainInformational(h.icookie, h.rcookie, {NotifyOf(wire::NotifyType::kPayloadMalformed)}));
    return true;  // message 4 lost
  });
  CHECK_FALSE(net.a.Failed(1));
  CHECK(net.a.manager.counters().unprotected_ignored == 1);
  net.clock.Advance(1000);  // A retransmits message 3; B answers again
  net.Run();
  CHECK(net.a.Established(1));
  CHECK(net.b.Established(1));
}

TEST_CASE("b: an unprotected notify does not fail a pending Quick Mode", "[holes]") {
  Pair net;
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  bool injected = false;
  net.Run([&](const Packet& p) {
    if (injected) return false;
    injected = true;  // QM1 lost; an unprotected INVALID-ID-INFORMATION arrives instead
    const auto h = HeaderOf(p);
    net.a.manager.OnPacket(p.from, p.to,
                           PlainInformational(h.icookie, h.rcookie,
                                              {NotifyOf(wire::NotifyType::kInvalidIdInformation)}));
    return true;
  });
  CHECK_FALSE(net.a.Failed(2));
  net.clock.Advance(1000);
  net.Run();
  CHECK(net.a.Established(2));
  CHECK(net.b.Established(2));
}

TEST_CASE("b: a Quick Mode that times out names the unprotected notify", "[holes]") {
  Pair net;
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  bool injected = false;
  auto drop_all = [&](const Packet& p) {
    if (!injected) {
      injected = true;
      const auto h = HeaderOf(p);
      net.a.manager.OnPacket(p.from, p.to,
                             PlainInformational(h.icookie, h.rcookie,
                                                {NotifyOf(wire::NotifyType::kNoProposalChosen)}));
    }
    return true;
  };
  net.Run(drop_all);
  for (int i = 0; i < 10; ++i) {
    net.clock.Advance(1000);
    net.Run(drop_all);
  }
  REQUIRE(net.a.Failed(2));
  const auto& f = net.a.Failed(2)->negotiation_failed();
  CHECK_THAT(f.reason(), Catch::Contains("not answering"));
  CHECK_THAT(f.reason(), Catch::Contains("unprotected NO-PROPOSAL-CHOSEN notify"));
  CHECK(f.code() == ipc::NO_PROPOSAL_CHOSEN);
  CHECK(net.a.manager.isakmp_sa_count() == 1);  // phase 1 untouched
}

// ---- hole h: duplicates remember only accepted messages ---------------------

// Main Mode 6 is never retransmitted on a timer, only in answer to a
// repeated message 5; junk carrying the cookies must not stop that.
TEST_CASE("h: junk with the right cookies does not make a retransmission look new", "[holes]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  std::vector<Packet> seen;
  net.Run([&](const Packet& p) {
    seen.push_back(p);
    if (seen.size() != 6) return false;
    Bytes junk = seen[4].data;  // message 5, damaged
    junk.back() ^= 0xff;
    net.b.manager.OnPacket(seen[4].to, seen[4].from, junk);
    return true;  // message 6 lost
  });
  REQUIRE(net.b.Established(1));
  REQUIRE_FALSE(net.a.Established(1));
  net.clock.Advance(1000);  // A's first retransmission of message 5 gets message 6 again
  net.Run();
  CHECK(net.a.Established(1));
}

// ---- hole i: NAT-T endpoint, trailing bytes, padding -------------------------

// An on-path copy of the genuine Quick Mode 3 with one block appended,
// sent to B's NAT-T port from another port, arrives before the original.
TEST_CASE("i: a genuine message with a block appended neither verifies nor moves the peer",
          "[holes]") {
  Pair net;
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  int n = 0;
  net.Run([&](const Packet& p) {
    if (++n == 3) {
      const Endpoint from{p.from.address, 4500}, to{p.to.address, 4500};
      net.b.manager.OnPacket(to, from, Appended(p.data, 16));
    }
    return false;
  });
  REQUIRE(net.b.Established(2));
  // B's next message (the Delete for its tunnel) still goes to port 500.
  ipc::TunnelAssigned assigned;
  assigned.set_phase(2);
  assigned.set_handle(net.b.Established(2)->phase2_established().handle());
  assigned.set_tunnel(7);
  net.b.manager.AssignTunnel(assigned);
  ipc::RemoveTunnel remove;
  remove.set_phase(2);
  remove.set_tunnel(7);
  REQUIRE(net.b.manager.Remove(remove).has_ack());
  REQUIRE(net.wire.size() == 1);
  CHECK(net.wire.front().to.port == 500);
}

TEST_CASE("i: our encrypted messages carry 1 to block-size octets of padding", "[holes]") {
  Pair net;
  net.EstablishPhase1();
  SaManagerTestPeer peer(net.a.manager);
  const uint64_t sa = peer.FirstSa();
  // Payload chains of every length modulo the block: the padding is never 0.
  for (size_t len = 0; len < 16; ++len) {
    wire::NotifyPayload n;
    n.type = uint16_t(wire::NotifyType::kRUThere);
    n.spi = Bytes(len, 0x5a);
    n.protocol = 1;
    std::vector<wire::Payload> body{wire::MakePayload(n)};
    const size_t plain = wire::EncodePayloads(body).size();
    Bytes iv(16, 0);
    const Bytes packet = peer.Seal(sa, body, &iv);
    const size_t padding = packet.size() - wire::kHeaderLength - plain;
    CHECK(padding >= 1);
    CHECK(padding <= 16);
  }
}

// ---- hole j ------------------------------------------------------------------

TEST_CASE("j: a Quick Mode with message id 0 is dropped", "[holes]") {
  Pair net;
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  REQUIRE(net.wire.size() == 1);
  Packet qm1 = net.wire.front();
  net.wire.clear();
  net.b.manager.OnPacket(qm1.to, qm1.from, WithMessageId(qm1.data, 0));
  CHECK(net.wire.empty());
  CHECK(net.b.manager.quick_mode_count() == 0);
}

TEST_CASE("j: retransmissions are jittered", "[holes]") {
  Pair net;
  for (uint32_t t = 1; t <= 10; ++t)
    REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a, t)).has_ack());
  std::set<int64_t> second_send_times;
  std::map<std::string, int> sends;
  for (int ms = 0; ms <= 1000; ++ms) {
    net.Run([&](const Packet& p) {
      const auto cookie = ToHex(HeaderOf(p).icookie);
      if (++sends[cookie] == 2)
        second_send_times.insert(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     net.clock.Now().time_since_epoch())
                                     .count());
      return true;  // the peer is silent
    });
    net.clock.Advance(1);
  }
  CHECK(second_send_times.size() > 1);  // not all at 1000 ms
  for (int64_t t : second_send_times) CHECK(t <= 1000);
  CHECK(sends.size() == 10);
}

// ---- hole k: log volume ------------------------------------------------------

struct LogLevelGuard {
  explicit LogLevelGuard(LogLevel level) : old(GetLogLevel()) { SetLogLevel(level); }
  ~LogLevelGuard() { SetLogLevel(old); }
  LogLevel old;
};

wire::Payload DeleteOf(uint32_t first_spi, size_t count) {
  wire::DeletePayload d;
  d.protocol = uint8_t(wire::ProtocolId::kIpsecEsp);
  d.spi_size = 4;
  for (uint32_t s = first_spi; s < first_spi + count; ++s)
    d.spis.push_back({uint8_t(s >> 24), uint8_t(s >> 16), uint8_t(s >> 8), uint8_t(s)});
  return wire::MakePayload(std::move(d));
}

TEST_CASE("k: a Delete of 16,300 unknown SPIs writes one line per second", "[holes]") {
  LogLevelGuard level(LogLevel::kDebug);
  Pair net;
  net.EstablishPhase1();
  // The 65 kB Delete goes as one datagram (as a hostile peer would send it),
  // not in fragments, which the reassembly bounds would refuse first.
  db::TunnelDatabase whole = net.DatabaseA();
  whole.mutable_settings()->set_fragmentation(db::FRAGMENTATION_OFF);
  net.a.manager.SetDatabase(whole);
  SaManagerTestPeer peer(net.a.manager);
  const auto& counters = net.b.manager.counters();
  auto lines_for = [&](uint32_t first) {
    const uint64_t before = counters.log_lines;
    peer.SendInformational(peer.FirstSa(), {DeleteOf(first, 16300)});
    net.Run();
    return counters.log_lines - before;
  };
  CHECK(lines_for(0x10000) == 1);
  CHECK(lines_for(0x20000) == 0);  // same second: folded into the next line
  net.clock.Advance(1000);
  CHECK(lines_for(0x30000) == 1);
  CHECK(net.b.manager.isakmp_sa_count() == 1);
}

TEST_CASE("k: an ignored unprotected Delete is logged once", "[holes]") {
  LogLevelGuard level(LogLevel::kEvents);
  Pair net;
  net.EstablishPhase1();
  net.EstablishPhase2();
  const auto& p1 = net.b.Established(1)->phase1_established();
  wire::Cookie i{}, r{};
  Bytes ib, rb;
  REQUIRE(FromHex(p1.icookie(), &ib));
  REQUIRE(FromHex(p1.rcookie(), &rb));
  std::copy(ib.begin(), ib.end(), i.begin());
  std::copy(rb.begin(), rb.end(), r.begin());
  const uint64_t before = net.b.manager.counters().log_lines;
  wire::DeletePayload d;
  d.protocol = uint8_t(wire::ProtocolId::kIsakmp);
  d.spi_size = 16;
  d.spis.push_back(Concat({i, r}));
  for (int k = 0; k < 3; ++k)
    net.b.manager.OnPacket(kB500, kA500, PlainInformational(i, r, {wire::MakePayload(d)}));
  CHECK(net.b.manager.counters().log_lines - before == 1);
  CHECK(net.b.manager.counters().unprotected_ignored == 3);
  CHECK(net.b.manager.isakmp_sa_count() == 1);
  CHECK_FALSE(net.b.Find([](const ipc::Envelope& e) { return e.has_sa_deleted(); }));
}

TEST_CASE("k: a replay flood writes one line per second", "[holes]") {
  LogLevelGuard level(LogLevel::kDebug);
  Pair net;
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  const Packet qm1 = net.wire.front();
  net.Run();
  REQUIRE(net.b.Established(2));
  const uint64_t before = net.b.manager.counters().log_lines;
  for (int i = 0; i < 1000; ++i) net.b.manager.OnPacket(qm1.to, qm1.from, qm1.data);
  CHECK(net.b.manager.counters().log_lines - before == 1);
  CHECK(net.b.manager.counters().replays_dropped == 1000);
  net.clock.Advance(1000);
  net.b.manager.OnPacket(qm1.to, qm1.from, qm1.data);
  CHECK(net.b.manager.counters().log_lines - before == 2);  // "... and 999 like it"
  CHECK(net.wire.empty());
}

// ---- item 3: one receive path --------------------------------------------------

TEST_CASE("a protected Informational goes through the payload table", "[receive]") {
  Pair net;
  net.EstablishPhase1();
  SaManagerTestPeer peer(net.a.manager);
  const wire::Payload dpd = testing::DpdNotify(peer.Context(peer.FirstSa()), 1);
  // HDR*, HASH(1), NONCE, N(R-U-THERE): a nonce has no place in it.
  peer.SendInformational(peer.FirstSa(),
                         {wire::MakePayload(wire::NoncePayload{Bytes(16, 1)}), dpd});
  REQUIRE(net.wire.size() == 1);
  net.Run();
  CHECK(net.delivered == 6 + 1);  // dropped: no R-U-THERE-ACK
  peer.SendInformational(peer.FirstSa(), {dpd});
  net.Run();
  CHECK(net.delivered == 6 + 1 + 2);  // the well-formed one is answered
}

TEST_CASE("a replayed Quick Mode 1 with a genuine HASH(1) gets no fresh SAs", "[receive]") {
  Pair net;
  net.EstablishPhase1();
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  REQUIRE(net.wire.size() == 1);
  const Packet qm1 = net.wire.front();
  net.Run();
  REQUIRE(net.b.Established(2));
  // B removes its tunnel; the exchange and its IPsec SA are gone.
  ipc::TunnelAssigned assigned;
  assigned.set_phase(2);
  assigned.set_handle(net.b.Established(2)->phase2_established().handle());
  assigned.set_tunnel(5);
  net.b.manager.AssignTunnel(assigned);
  ipc::RemoveTunnel remove;
  remove.set_phase(2);
  remove.set_tunnel(5);
  REQUIRE(net.b.manager.Remove(remove).has_ack());
  net.wire.clear();
  REQUIRE(net.b.manager.quick_mode_count() == 0);
  net.b.manager.OnPacket(qm1.to, qm1.from, qm1.data);
  CHECK(net.wire.empty());
  CHECK(net.b.manager.quick_mode_count() == 0);
  CHECK(net.b.manager.counters().replays_dropped == 1);
  CHECK(net.b.Phase2Reports() == 1);
  CHECK(net.b.Phase2Reports(/*early=*/true) == 1);
}

TEST_CASE("message ids are unique among live exchanges on one SA", "[receive]") {
  Pair net;
  net.EstablishPhase1();
  std::set<uint32_t> ids;
  for (uint32_t t = 1; t <= 200; ++t) {
    auto r = net.Phase2(net.DatabaseA());
    r.set_tunnel(t);
    REQUIRE(net.a.manager.StartPhase2(r).has_ack());
    ids.insert(HeaderOf(net.wire.back()).message_id);
  }
  CHECK(ids.size() == 200);
  CHECK(ids.count(0) == 0);
}

}  // namespace
}  // namespace ike::isakmpd
