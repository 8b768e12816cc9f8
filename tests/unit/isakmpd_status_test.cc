// lssrc -l -s isakmpd (issue 11.5): the counters of SaManager::LongStatus
// after real negotiations between two engines (style.md rule 12).
#include <catch2/catch.hpp>
#include <map>

#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd {
namespace {

using testing::Host;
using testing::Pair;

std::map<ipc::ErrorCode, uint64_t> Failed(const ipc::NegotiationCounts& n) {
  std::map<ipc::ErrorCode, uint64_t> out;
  for (const auto& row : n.failed()) out[row.reason()] = row.count();
  return out;
}

std::map<ipc::PacketDrop, uint64_t> Dropped(const ipc::IsakmpdStatus& s) {
  std::map<ipc::PacketDrop, uint64_t> out;
  for (const auto& row : s.dropped()) out[row.reason()] = row.count();
  return out;
}

template <typename Rows>
uint64_t CountOf(const Rows& rows, int state) {
  for (const auto& row : rows)
    if (static_cast<int>(row.state()) == state) return row.count();
  return 0;
}

TEST_CASE("long status counts a Main Mode and a Quick Mode and their datagrams", "[status]") {
  Pair net;
  net.EstablishPhase1();
  net.EstablishPhase2();
  for (Host* h : {&net.a, &net.b}) {
    const ipc::IsakmpdStatus s = h->manager.LongStatus();
    CHECK(s.phase1().started() == 1);
    CHECK(s.phase1().succeeded() == 1);
    CHECK(s.phase1().failed_size() == 0);
    CHECK(s.phase2().started() == 1);
    CHECK(s.phase2().succeeded() == 1);
    CHECK(s.phase2().rekeys() == 0);
    CHECK(CountOf(s.isakmp_sas(), ipc::PHASE1_DONE) == 1);
    CHECK(CountOf(s.ipsec_sas(), ipc::PHASE2_DONE) == 1);
    CHECK(s.half_open() == 0);
    CHECK(s.dropped_size() == 0);
  }
  // Main Mode: A sends 1, 3, 5 and B 2, 4, 6; Quick Mode: A 1 and 3, B 2.
  const ipc::IsakmpdStatus a = net.a.manager.LongStatus();
  const ipc::IsakmpdStatus b = net.b.manager.LongStatus();
  CHECK(a.packets_out() == 5);
  CHECK(a.packets_in() == 4);
  CHECK(b.packets_out() == 4);
  CHECK(b.packets_in() == 5);
  CHECK(uint64_t(net.delivered) == a.packets_in() + b.packets_in());
}

TEST_CASE("long status counts a failed negotiation by its reason", "[status]") {
  Pair net("secret", "other-secret");
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  for (int i = 0; i < 60; ++i) {
    net.Run();
    net.clock.Advance(250);
  }
  REQUIRE(net.a.Failed(1));
  REQUIRE(net.b.Failed(1));
  const ipc::IsakmpdStatus a = net.a.manager.LongStatus();
  CHECK(a.phase1().started() == 1);
  CHECK(a.phase1().succeeded() == 0);
  CHECK(Failed(a.phase1()) == std::map<ipc::ErrorCode, uint64_t>{{ipc::AUTHENTICATION_FAILED, 1}});
  CHECK(a.isakmp_sas_size() == 0);  // the failed SA is gone
  const ipc::IsakmpdStatus b = net.b.manager.LongStatus();
  CHECK(b.phase1().started() == 1);
  CHECK(Failed(b.phase1()) == std::map<ipc::ErrorCode, uint64_t>{{ipc::AUTHENTICATION_FAILED, 1}});
  CHECK(a.packets_out() > 3);  // message 5 retransmitted
  CHECK(a.packets_in() > 0);
}

TEST_CASE("long status counts dropped datagrams by reason", "[status]") {
  Pair net;
  net.EstablishPhase1();
  const Endpoint from{*IpAddress::Parse(testing::kHostA), 500};
  const Endpoint to{*IpAddress::Parse(testing::kHostB), 500};
  const uint64_t in_before = net.b.manager.LongStatus().packets_in();
  // Not an ISAKMP header.
  const Bytes garbage{1, 2, 3};
  net.b.manager.OnPacket(to, from, garbage);
  // A later Main Mode message with cookies B never handed out.
  wire::Header h;
  h.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.rcookie = {8, 7, 6, 5, 4, 3, 2, 1};
  h.exchange = wire::ExchangeType::kIdentityProtection;
  h.next_payload = wire::PayloadType::kNone;
  h.length = wire::kHeaderLength;
  net.b.manager.OnPacket(to, from, wire::EncodeHeader(h));
  // The same for a Quick Mode.
  h.exchange = wire::ExchangeType::kQuickMode;
  h.message_id = 7;
  net.b.manager.OnPacket(to, from, wire::EncodeHeader(h));
  net.Run();
  const ipc::IsakmpdStatus b = net.b.manager.LongStatus();
  CHECK(b.packets_in() == in_before + 3);
  CHECK(Dropped(b) ==
        std::map<ipc::PacketDrop, uint64_t>{{ipc::DROP_MALFORMED, 1}, {ipc::DROP_UNKNOWN_SA, 2}});
  CHECK(b.phase1().succeeded() == 1);  // nothing else changed
}

TEST_CASE("long status counts a phase 2 rekey and a phase 1 re-establishment", "[status]") {
  Pair net;
  net.EstablishPhase1();
  net.EstablishPhase2();
  for (uint32_t phase : {1u, 2u}) {  // what B's tmd does for its responder SAs
    ipc::TunnelAssigned assigned;
    assigned.set_phase(phase);
    assigned.set_tunnel(1);
    assigned.set_handle(phase == 1 ? net.b.Established(1)->phase1_established().handle()
                                   : net.b.Established(2)->phase2_established().handle());
    net.b.manager.AssignTunnel(assigned);
  }
  ipc::Phase2Request rekey = net.Phase2(net.DatabaseA());
  rekey.set_rekey(true);
  REQUIRE(net.a.manager.StartPhase2(rekey).has_ack());
  net.Run();
  net.clock.Advance(SaManager::kOutboundSwitchMs);
  net.Run();
  ipc::Phase1Request replace = net.Phase1(net.a);
  replace.set_replace(true);
  REQUIRE(net.a.manager.StartPhase1(replace).has_ack());
  net.Run();
  const ipc::IsakmpdStatus a = net.a.manager.LongStatus();
  // A rekey is a negotiation of its own: started and succeeded, and a rekey.
  CHECK(a.phase2().started() == 2);
  CHECK(a.phase2().succeeded() == 2);
  CHECK(a.phase2().rekeys() == 1);
  CHECK(a.phase1().started() == 2);
  CHECK(a.phase1().succeeded() == 2);
  CHECK(a.phase1().rekeys() == 1);
  CHECK(CountOf(a.ipsec_sas(), ipc::PHASE2_DONE) == 2);   // the old pair until its hard limit
  CHECK(CountOf(a.isakmp_sas(), ipc::PHASE1_DONE) == 2);  // the old SA for the overlap
}

}  // namespace
}  // namespace ike::isakmpd
