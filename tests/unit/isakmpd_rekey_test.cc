// Phase 2 rekeying in the engine (issue 9.2): a second Quick Mode for a
// tunnel that has a pair, from either side; the initiator's new outbound SA
// held back until the peer has had message 3; one pair deleted by handle;
// a failed rekey leaving the tunnel its old pair. Two engines on a fake
// network and clock (tests/lib/isakmpd_pair.h).
#include <catch2/catch.hpp>
#include <set>

#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd::testing {
namespace {

ipc::Phase2Request Rekey(const db::TunnelDatabase& d) {
  ipc::Phase2Request r;
  r.set_tunnel(1);
  r.set_phase1_tunnel(1);
  *r.mutable_definition() = d.ipsec_tunnel(0);
  *r.mutable_protection() = d.ipsec_protection(0);
  r.set_rekey(true);
  return r;
}

db::TunnelDatabase DatabaseB() {
  return Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp);
}

// The Phase2Established events of |h|, in order.
std::vector<ipc::Phase2Established> Established2(const Host& h) {
  std::vector<ipc::Phase2Established> out;
  for (const auto& e : h.events)
    if (e.has_phase2_established()) out.push_back(e.phase2_established());
  return out;
}

std::vector<ipc::SaDeleted> Deleted2(const Host& h) {
  std::vector<ipc::SaDeleted> out;
  for (const auto& e : h.events)
    if (e.has_sa_deleted() && e.sa_deleted().phase() == 2) out.push_back(e.sa_deleted());
  return out;
}

uint32_t Spi(const ipc::Phase2Established& e, ipc::Direction d) {
  for (const auto& sa : e.sa())
    if (sa.direction() == d) return sa.spi();
  return 0;
}

// Both phases up; B's tmd has numbered its side (phase 1 and 2: tunnel 1).
struct Up : Pair {
  Up() {
    EstablishPhase1();
    EstablishPhase2();
    ipc::TunnelAssigned p1;
    p1.set_phase(1);
    p1.set_tunnel(1);
    p1.set_handle(b.Established(1)->phase1_established().handle());
    b.manager.AssignTunnel(p1);
    ipc::TunnelAssigned p2;
    p2.set_phase(2);
    p2.set_tunnel(1);
    p2.set_handle(b.Established(2)->phase2_established().handle());
    b.manager.AssignTunnel(p2);
    a_old = Established2(a).at(0);
    b_old = Established2(b).at(0);
  }
  ipc::Phase2Established a_old, b_old;
};

TEST_CASE("rekey from the initiator: a new pair beside the old, the outbound SA a second later") {
  Up f;
  // Without rekey the tunnel is still refused as active.
  CHECK(f.a.manager.StartPhase2(f.Phase2(f.DatabaseA())).error().code() == ipc::TUNNEL_ACTIVE);
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  // A second rekey while this one negotiates is refused.
  CHECK(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).error().code() == ipc::TUNNEL_ACTIVE);
  f.Run();
  auto a = Established2(f.a);
  auto b = Established2(f.b);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  // A (initiator): the inbound SA now, the outbound one announced by SPI only.
  const ipc::Phase2Established& a_new = a[1];
  CHECK(a_new.tunnel() == 1);
  CHECK(a_new.handle() != f.a_old.handle());
  CHECK(a_new.outbound_follows());
  REQUIRE(a_new.sa_size() == 1);
  CHECK(a_new.sa(0).direction() == ipc::INBOUND);
  CHECK_FALSE(a_new.sa(0).encryption_key().empty());
  // B (responder): the whole pair on message 3, under a new handle, tunnel 0
  // until its tmd numbers it.
  const ipc::Phase2Established& b_new = b[1];
  CHECK(b_new.tunnel() == 0);
  CHECK(b_new.name() == "net");
  CHECK_FALSE(b_new.outbound_follows());
  CHECK(b_new.sa_size() == 2);
  // New SPIs, and the two ends agree on them.
  CHECK(Spi(a_new, ipc::INBOUND) == Spi(b_new, ipc::OUTBOUND));
  CHECK(a_new.outbound_spi() == Spi(b_new, ipc::INBOUND));
  CHECK(Spi(a_new, ipc::INBOUND) != Spi(f.a_old, ipc::INBOUND));
  // One second later A's outbound SA follows, with its keys, same handle.
  f.clock.Advance(SaManager::kOutboundSwitchMs - 1);
  CHECK(Established2(f.a).size() == 2);
  f.clock.Advance(1);
  a = Established2(f.a);
  REQUIRE(a.size() == 3);
  CHECK(a[2].handle() == a_new.handle());
  REQUIRE(a[2].sa_size() == 1);
  CHECK(a[2].sa(0).direction() == ipc::OUTBOUND);
  CHECK(a[2].sa(0).spi() == a_new.outbound_spi());
  CHECK_FALSE(a[2].sa(0).integrity_key().empty());
  CHECK(f.a.manager.quick_mode_count() == 2);
  CHECK(f.b.manager.quick_mode_count() == 2);
}

// The peer installs the new pair and sends on it as soon as message 3 reaches
// it: by then the initiator's new inbound SA must be in its kernel. So the
// initiator reports it (Phase2Established) before message 3 leaves, not after.
TEST_CASE("rekey: the initiator reports its new inbound SA before it sends message 3") {
  Up f;
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  std::vector<size_t> a_sent;  // per packet A sent: how many events A had emitted
  f.Run([&](const Packet& p) {
    if (p.from.address.ToString() == kHostA) a_sent.push_back(p.sender_events);
    return false;
  });
  auto a = Established2(f.a);
  REQUIRE(a.size() == 2);
  size_t reported = 0;  // events A had emitted once the new pair was reported
  for (size_t i = 0; i < f.a.events.size() && reported == 0; ++i) {
    const auto& e = f.a.events[i];
    if (e.has_phase2_established() && e.phase2_established().handle() == a[1].handle())
      reported = i + 1;
  }
  REQUIRE(reported > 0);
  REQUIRE(a_sent.size() == 2);  // Quick Mode messages 1 and 3
  CHECK(a_sent[0] < reported);
  CHECK(a_sent[1] >= reported);  // message 3 left after the report
  CHECK(a[1].outbound_follows());
  REQUIRE(Established2(f.b).size() == 2);  // and B installed the pair on it
}

TEST_CASE("rekey: one pair deleted by handle; the peer drops that pair only") {
  Up f;
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  f.Run();
  f.clock.Advance(SaManager::kOutboundSwitchMs);
  const uint64_t b_new = Established2(f.b).at(1).handle();
  ipc::TunnelAssigned assigned;  // B's tmd: the peer's rekey keeps tunnel 1
  assigned.set_phase(2);
  assigned.set_tunnel(1);
  assigned.set_handle(b_new);
  f.b.manager.AssignTunnel(assigned);

  // A's old pair reaches its hard limit: tmd has isakmpd delete it.
  ipc::RemoveTunnel rm;
  rm.set_phase(2);
  rm.set_tunnel(1);
  rm.set_handle(f.a_old.handle());
  REQUIRE(f.a.manager.Remove(rm).has_ack());
  f.Run();
  auto deleted = Deleted2(f.b);
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].handle() == f.b_old.handle());
  CHECK(deleted[0].tunnel() == 1);
  CHECK(deleted[0].by_peer());
  CHECK(f.a.manager.quick_mode_count() == 1);
  CHECK(f.b.manager.quick_mode_count() == 1);
  // An unknown handle is refused.
  CHECK(f.a.manager.Remove(rm).error().code() == ipc::UNKNOWN_TUNNEL);

  // The tunnel itself (handle 0): its remaining pair, the new one.
  rm.set_handle(0);
  REQUIRE(f.a.manager.Remove(rm).has_ack());
  f.Run();
  deleted = Deleted2(f.b);
  REQUIRE(deleted.size() == 2);
  CHECK(deleted[1].handle() == b_new);
  CHECK(f.a.manager.quick_mode_count() == 0);
  CHECK(f.b.manager.quick_mode_count() == 0);
}

TEST_CASE("rekey from the former responder, and removing the tunnel deletes every pair") {
  Up f;
  REQUIRE(f.b.manager.StartPhase2(Rekey(DatabaseB())).has_ack());
  f.Run();
  f.clock.Advance(SaManager::kOutboundSwitchMs);
  auto b = Established2(f.b);
  auto a = Established2(f.a);
  REQUIRE(b.size() == 3);  // old, new inbound, new outbound
  REQUIRE(a.size() == 2);
  CHECK(b[1].outbound_follows());
  CHECK(b[1].tunnel() == 1);
  CHECK(a[1].tunnel() == 0);  // A's tmd will give it tunnel 1
  CHECK(Spi(a[1], ipc::INBOUND) == b[2].sa(0).spi());

  // Remove of the whole tunnel on B: both pairs go, the peer told of each.
  ipc::RemoveTunnel rm;
  rm.set_phase(2);
  rm.set_tunnel(1);
  REQUIRE(f.b.manager.Remove(rm).has_ack());
  f.Run();
  const auto deleted = Deleted2(f.a);
  REQUIRE(deleted.size() == 2);
  CHECK(f.b.manager.quick_mode_count() == 0);
  CHECK(f.a.manager.quick_mode_count() == 0);
}

TEST_CASE("a failed rekey leaves the tunnel its old pair") {
  Up f;
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  // B never hears of it: A's Quick Mode 1 is lost every time.
  f.Run([](const Packet&) { return true; });
  for (int i = 0; i < 20 && !f.a.Failed(2); ++i) {
    f.clock.Advance(1000);
    f.Run([](const Packet&) { return true; });
  }
  const ipc::Envelope* failed = f.a.Failed(2);
  REQUIRE(failed != nullptr);
  CHECK(failed->negotiation_failed().tunnel() == 1);
  CHECK(failed->negotiation_failed().handle() != f.a_old.handle());
  CHECK(f.a.manager.quick_mode_count() == 1);
  // The old pair is the tunnel's again: a remove of the tunnel deletes it,
  // and a new rekey may start.
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  f.Run();
  REQUIRE(Established2(f.b).size() == 2);
}

TEST_CASE("both ends rekey at once: two new pairs, each end holds both") {
  Up f;
  // Each announced this suite's vendor ID: tmd may apply the collision rule.
  CHECK(f.a.Established(1)->phase1_established().peer_aixike());
  CHECK(f.b.Established(1)->phase1_established().peer_aixike());
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  REQUIRE(f.b.manager.StartPhase2(Rekey(DatabaseB())).has_ack());
  f.Run();
  f.clock.Advance(SaManager::kOutboundSwitchMs);
  // A: its own pair (inbound, then outbound) and B's (whole); B likewise.
  auto a = Established2(f.a);
  auto b = Established2(f.b);
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 4);
  CHECK(f.a.manager.quick_mode_count() == 3);
  CHECK(f.b.manager.quick_mode_count() == 3);
  // The same two pairs at both ends: every inbound SPI of one is an
  // outbound SPI of the other.
  std::set<uint32_t> a_in, a_out, b_in, b_out;
  for (const auto& e : a)
    for (const auto& sa : e.sa()) (sa.direction() == ipc::INBOUND ? a_in : a_out).insert(sa.spi());
  for (const auto& e : b)
    for (const auto& sa : e.sa()) (sa.direction() == ipc::INBOUND ? b_in : b_out).insert(sa.spi());
  CHECK(a_in == b_out);
  CHECK(a_out == b_in);
  CHECK(a_in.size() == 3);
}

TEST_CASE("the peer's Delete of a replaced pair leaves the new one") {
  Up f;
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  f.Run();
  f.clock.Advance(SaManager::kOutboundSwitchMs);
  // B's tmd removes B's old pair (its hard limit came first there).
  ipc::RemoveTunnel rm;
  rm.set_phase(2);
  rm.set_tunnel(1);
  rm.set_handle(f.b_old.handle());
  REQUIRE(f.b.manager.Remove(rm).has_ack());
  f.Run();
  const auto deleted = Deleted2(f.a);
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].handle() == f.a_old.handle());
  CHECK(deleted[0].tunnel() == 1);
  // The new pair is still the tunnel's: the next rekey starts from it.
  REQUIRE(f.a.manager.StartPhase2(Rekey(f.DatabaseA())).has_ack());
  f.Run();
  CHECK(Established2(f.b).size() == 3);
}

}  // namespace
}  // namespace ike::isakmpd::testing
