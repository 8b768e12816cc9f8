// Two isakmpd engines in one process: Main Mode + Quick Mode over a fake
// network, with a fake clock and seeded randomness (style.md rule 12).
#include <catch2/catch.hpp>
#include <map>

#include "isakmpd/exchange/suite.h"
#include "tests/lib/isakmpd_pair.h"
#include "tunneldb/names.h"

namespace ike::isakmpd {
namespace {

using testing::Database;
using testing::Host;
using testing::kEsp;
using testing::kHostA;
using testing::kHostB;
using testing::kIke;
using testing::Packet;
using testing::Pair;
using testing::SeededRandom;

TEST_CASE("Main Mode and Quick Mode between two engines", "[engine]") {
  Pair net;
  // HDR, SA -->  <-- HDR, SA;  HDR, KE, Ni -->  <-- HDR, KE, Nr;
  // HDR*, IDii, HASH_I -->  <-- HDR*, IDir, HASH_R
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  net.Run();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  CHECK(net.delivered == 6);
  const auto& p1a = net.a.Established(1)->phase1_established();
  const auto& p1b = net.b.Established(1)->phase1_established();
  CHECK(p1a.icookie() == p1b.icookie());
  CHECK(p1a.rcookie() == p1b.rcookie());
  CHECK(p1a.role() == ipc::INITIATOR);
  CHECK(p1b.role() == ipc::RESPONDER);
  CHECK(p1a.mode() == ipc::MAIN);
  // The suite as the enums of the offer (kIke), so tmd lists the same names
  // (tunneldb/names.h) while negotiating and once Active.
  CHECK(p1a.encryption() == db::AES_CBC);
  CHECK(p1a.key_length() == 128);
  CHECK(p1a.hash() == db::SHA2_256);
  CHECK(p1a.auth_method() == db::PRESHARED_KEY);
  CHECK(p1a.dh_group() == db::MODP_2048);
  CHECK(tunneldb::IkeEncryptionName(p1a.encryption(), p1a.key_length()) == "AES-CBC-128");
  CHECK(tunneldb::DhGroupName(p1b.dh_group()) == "MODP2048 (14)");

  // HDR*, HASH(1), SA, Ni, KE, IDci, IDcr -->  <-- HDR*, HASH(2), SA, Nr, KE, IDci, IDcr
  // HDR*, HASH(3) -->
  const auto db_a = Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(db_a)).has_ack());
  net.Run();
  REQUIRE(net.a.Established(2));
  REQUIRE(net.b.Established(2));
  const auto& qa = net.a.Established(2)->phase2_established();
  const auto& qb = net.b.Established(2)->phase2_established();
  REQUIRE(qa.sa_size() == 2);
  REQUIRE(qb.sa_size() == 2);
  // A's outbound SA is B's inbound SA: same SPI and the same keys.
  CHECK(qa.sa(1).spi() == qb.sa(0).spi());
  CHECK(qa.sa(1).encryption_key() == qb.sa(0).encryption_key());
  CHECK(qa.sa(1).integrity_key() == qb.sa(0).integrity_key());
  CHECK(qa.sa(0).spi() == qb.sa(1).spi());
  CHECK(qa.sa(0).encryption_key() == qb.sa(1).encryption_key());
  CHECK(qa.sa(0).encryption_key().size() == 16);
  CHECK(qa.sa(0).integrity_key().size() == 32);
  CHECK(qa.local_id() == "198.51.100.0-198.51.100.255");
  CHECK(qb.local_id() == "203.0.113.0-203.0.113.255");
  CHECK(qa.pfs_group() == db::MODP_2048);
  CHECK(qa.role() == ipc::INITIATOR);
  CHECK(qa.sa(0).direction() == ipc::INBOUND);
  CHECK(qa.sa(1).direction() == ipc::OUTBOUND);
  CHECK(qa.sa(0).encryption() == db::ESP_AES_CBC);
  CHECK(qa.sa(0).encryption_key_bits() == 128);
  CHECK(qa.sa(0).integrity() == db::HMAC_SHA2_256);

  // Remove: Delete payloads reach the peer.
  ipc::TunnelAssigned assigned;
  assigned.set_handle(qb.handle());
  assigned.set_phase(2);
  assigned.set_tunnel(1);
  net.b.manager.AssignTunnel(assigned);
  ipc::RemoveTunnel remove;
  remove.set_phase(2);
  remove.set_tunnel(1);
  REQUIRE(net.a.manager.Remove(remove).has_ack());
  remove.set_phase(1);
  REQUIRE(net.a.manager.Remove(remove).has_ack());
  net.Run();
  CHECK(net.b.Find([](const ipc::Envelope& e) {
    return e.has_sa_deleted() && e.sa_deleted().phase() == 2 && e.sa_deleted().by_peer();
  }));
  CHECK(net.b.Find(
      [](const ipc::Envelope& e) { return e.has_sa_deleted() && e.sa_deleted().phase() == 1; }));
  CHECK(net.a.manager.isakmp_sa_count() == 0);
  CHECK(net.b.manager.isakmp_sa_count() == 0);
}

TEST_CASE("finished exchanges send nothing more", "[engine]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  net.Run();
  const auto db_a = Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(db_a)).has_ack());
  net.Run();
  REQUIRE(net.delivered == 9);  // MM1..MM6, QM1..QM3
  net.clock.Advance(60000);     // well past every retransmission budget
  net.Run();
  CHECK(net.delivered == 9);
  CHECK_FALSE(net.a.Failed(1));
  CHECK_FALSE(net.b.Failed(2));
  CHECK(net.a.manager.isakmp_sa_count() == 1);
  CHECK(net.b.manager.quick_mode_count() == 1);
}

// B at a half-open cap of 1 (set by |cap|): A's second Main Mode 1 is
// dropped while the first is half-open; A's retransmission gets in later.
void CheckHalfOpenCap(const std::function<void(db::Settings*)>& cap, bool per_peer) {
  Pair net;
  auto db_b = Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp);
  cap(db_b.mutable_settings());
  net.b.manager.SetDatabase(db_b);
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a, 1)).has_ack());
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a, 2)).has_ack());
  auto established = [&] {
    int n = 0;
    for (const auto& e : net.a.events) n += e.has_phase1_established();
    return n;
  };
  net.Run();
  CHECK(established() == 1);
  // Both arrived at once: neither is evicted for the other (half_open.h).
  CHECK(net.b.manager.half_open_table().counters().dropped == 1);
  CHECK(net.b.manager.half_open_responders() == 0);
  net.clock.Advance(1000);  // A retransmits message 1 of the second tunnel
  net.Run();
  CHECK(established() == 2);
  CHECK(net.b.manager.half_open_responders() == 0);
}

TEST_CASE("max_half_open: a responder at its limit drops Main Mode 1, retries get in", "[engine]") {
  CheckHalfOpenCap([](db::Settings* s) { s->set_max_half_open(1); }, false);
}

TEST_CASE("max_half_open_per_peer: one address cannot take every half-open slot", "[engine]") {
  CheckHalfOpenCap([](db::Settings* s) { s->set_max_half_open_per_peer(1); }, true);
}

// Many Quick Modes at once under one ISAKMP SA, each with its own message id
// and IV chain (RFC 2409 5.5): all complete, each with its own keys.
TEST_CASE("50 parallel Quick Modes on one phase 1 SA", "[engine]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  net.Run();
  REQUIRE(net.a.Established(1));
  constexpr int kTunnels = 50;
  for (int i = 1; i <= kTunnels; ++i) {
    const auto d = Database(kHostA, kHostB, "198.51.100." + std::to_string(i) + "/32",
                            "203.0.113." + std::to_string(i) + "/32", kIke, kEsp);
    ipc::Phase2Request r;
    r.set_tunnel(i);
    r.set_phase1_tunnel(1);
    *r.mutable_definition() = d.ipsec_tunnel(0);
    *r.mutable_protection() = d.ipsec_protection(0);
    REQUIRE(net.a.manager.StartPhase2(r).has_ack());
  }
  CHECK(net.a.manager.quick_mode_count() == kTunnels);
  net.Run();  // 50 x QM1 in flight before any QM2 comes back
  std::map<uint32_t, const ipc::Phase2Established*> a_by_tunnel, b_by_out_spi;
  for (const auto& e : net.a.events)
    if (e.has_phase2_established())
      a_by_tunnel[e.phase2_established().tunnel()] = &e.phase2_established();
  for (const auto& e : net.b.events)
    if (e.has_phase2_established() && !e.phase2_established().before_message3())
      b_by_out_spi[e.phase2_established().sa(1).spi()] = &e.phase2_established();
  REQUIRE(a_by_tunnel.size() == size_t(kTunnels));
  REQUIRE(b_by_out_spi.size() == size_t(kTunnels));
  CHECK_FALSE(net.a.Failed(2));
  CHECK_FALSE(net.b.Failed(2));
  for (const auto& [tunnel, qa] : a_by_tunnel) {
    // B's outbound SA is A's inbound one: same SPI, keys and selectors.
    auto it = b_by_out_spi.find(qa->sa(0).spi());
    REQUIRE(it != b_by_out_spi.end());
    const auto* qb = it->second;
    CHECK(qb->sa(1).encryption_key() == qa->sa(0).encryption_key());
    CHECK(qb->sa(0).spi() == qa->sa(1).spi());
    CHECK(qb->sa(0).integrity_key() == qa->sa(1).integrity_key());
    const std::string a_local = "198.51.100." + std::to_string(tunnel);
    CHECK(qa->local_id() == a_local + "-" + a_local);
    CHECK(qb->remote_id() == qa->local_id());
    CHECK(qb->local_id() == qa->remote_id());
  }
  CHECK(net.delivered == 6 + 3 * kTunnels);  // no retransmissions
}

TEST_CASE("state changes are reported with the operators' names", "[engine]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  net.Run();
  std::vector<std::string> a_states, b_states;
  // The IBM name, and Cisco's: a step that changes only Cisco's name (IN KE
  // is MM_SA_SETUP, then MM_KEY_EXCH, then MM_WAIT_MSG6) is reported too.
  auto names = [](const ipc::StateChange& c) {
    return tunneldb::Phase1StateName(c.new_phase1()) + "/" +
           ipc::IosPhase1State_Name(c.ios_phase1()) + "/" +
           ipc::AsaPhase1State_Name(c.asa_phase1());
  };
  for (const auto& e : net.a.events)
    if (e.has_state_change()) a_states.push_back(names(e.state_change()));
  for (const auto& e : net.b.events)
    if (e.has_state_change()) b_states.push_back(names(e.state_change()));
  CHECK(a_states ==
        std::vector<std::string>{"WAIT SA/MM_NO_STATE/MM_WAIT_MSG2",
                                 "IN KE/MM_SA_SETUP/MM_WAIT_MSG4", "IN KE/MM_KEY_EXCH/MM_WAIT_MSG4",
                                 "IN KE/MM_KEY_EXCH/MM_WAIT_MSG6", "DONE/QM_IDLE/MM_ACTIVE"});
  CHECK(b_states == std::vector<std::string>{"WAIT KE/MM_SA_SETUP/MM_WAIT_MSG3",
                                             "IN KE/MM_KEY_EXCH/MM_WAIT_MSG5",
                                             "DONE/QM_IDLE/MM_ACTIVE"});
}

TEST_CASE("wrong pre-shared key fails authentication with a clear reason", "[engine]") {
  Pair net("secret", "other-secret");
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  net.Run();
  // The first message 5 that does not decrypt is not enough to give up (it
  // could be forged); A's retransmission of it is.
  CHECK_FALSE(net.b.Failed(1));
  for (int i = 0; i < 20; ++i) {
    net.clock.Advance(250);
    net.Run();
  }
  REQUIRE(net.b.Failed(1));
  CHECK_THAT(net.b.Failed(1)->negotiation_failed().reason(),
             Catch::Contains("pre-shared keys differ"));
  // B's AUTHENTICATION-FAILED is unprotected (B cannot encrypt with keys A
  // shares), so A does not end on it but at its own retransmission limit,
  // naming it as the likely reason (hole b).
  CHECK_FALSE(net.a.Failed(1));
  for (int i = 0; i < 40; ++i) {
    net.clock.Advance(250);
    net.Run();
  }
  REQUIRE(net.a.Failed(1));
  const auto& fa = net.a.Failed(1)->negotiation_failed();
  CHECK_THAT(fa.reason(), Catch::Contains("authentication failed"));
  CHECK_THAT(fa.reason(), Catch::Contains("unprotected AUTHENTICATION-FAILED notify"));
  CHECK(fa.code() == ipc::AUTHENTICATION_FAILED);
  CHECK(net.a.manager.isakmp_sa_count() == 0);
  CHECK(net.b.manager.isakmp_sa_count() == 0);
}

TEST_CASE("a forged message 5 does not end the negotiation", "[engine]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  int n = 0;
  net.Run([&](const Packet& p) {
    if (++n == 5) {  // an attacker's copy with a damaged ciphertext arrives first
      Bytes forged = p.data;
      forged[forged.size() - 20] ^= 0x5a;
      net.b.manager.OnPacket(p.to, p.from, forged);
    }
    return false;
  });
  CHECK_FALSE(net.b.Failed(1));
  CHECK(net.a.Established(1));
  CHECK(net.b.Established(1));
}

TEST_CASE("a silent peer ends the negotiation with a reason after the retries", "[engine]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  int sent = 0;
  auto drop_all = [&](const Packet&) { return ++sent, true; };
  net.Run(drop_all);
  for (int i = 0; i < 10; ++i) {
    net.clock.Advance(1000);
    net.Run(drop_all);
  }
  CHECK(sent == 3);  // retransmit_tries: 3
  REQUIRE(net.a.Failed(1));
  const auto& f = net.a.Failed(1)->negotiation_failed();
  CHECK(f.code() == ipc::NEGOTIATION_TIMEOUT);
  CHECK_THAT(f.reason(), Catch::Contains("not answering: no reply to message 1"));
  CHECK(f.state1() == ipc::PHASE1_WAIT_SA);
}

TEST_CASE("a lost message is retransmitted and the exchange completes", "[engine]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  int n = 0;
  net.Run([&](const Packet&) { return ++n == 4; });  // lose message 4 once
  net.clock.Advance(1000);
  net.Run();
  CHECK(net.a.Established(1));
  CHECK(net.b.Established(1));
}

TEST_CASE("no proposal chosen is reported on both sides", "[engine]") {
  Pair net;
  net.b.manager.SetDatabase(Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24",
                                     "encryption: DES3_CBC hash: SHA1 auth_method: PRESHARED_KEY "
                                     "dh_group: MODP_1024",
                                     kEsp));
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  net.Run();
  REQUIRE(net.b.Failed(1));
  REQUIRE(net.a.Failed(1));
  CHECK(net.a.Failed(1)->negotiation_failed().code() == ipc::NO_PROPOSAL_CHOSEN);
  CHECK_THAT(net.a.Failed(1)->negotiation_failed().reason(), Catch::Contains("NO-PROPOSAL-CHOSEN"));
}

TEST_CASE("phase 2 selectors the responder does not know are refused", "[engine]") {
  Pair net;
  net.b.manager.SetDatabase(
      Database(kHostB, kHostA, "203.0.113.0/24", "192.0.2.128/25", kIke, kEsp));
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  net.Run();
  REQUIRE(net.a.Established(1));
  const auto db_a = Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(db_a)).has_ack());
  net.Run();
  REQUIRE(net.a.Failed(2));
  const auto& f = net.a.Failed(2)->negotiation_failed();
  CHECK(f.code() == ipc::INVALID_ID);
  CHECK_THAT(f.reason(), Catch::Contains("INVALID-ID-INFORMATION"));
  CHECK_THAT(f.reason(), Catch::Contains("198.51.100.0-198.51.100.255"));
}

// Issue 10.4: an AIX filter rule names a protocol and ports; the IDs carry
// them (RFC 2407 4.6.2) and both sides report them for the kernel's policies.
TEST_CASE("protocol and port selectors: IDs carry them, both reports name them", "[engine]") {
  auto with = [](db::TunnelDatabase d, uint32_t protocol, uint32_t local_port,
                 uint32_t remote_port) {
    auto* t = d.mutable_ipsec_tunnel(0);
    t->mutable_local()->set_protocol(protocol);
    t->mutable_local()->set_port(local_port);
    t->mutable_remote()->set_port(remote_port);
    return d;
  };
  SECTION("ssh from A's network to B's: tcp, port 22 at B") {
    Pair net;
    // B's definition allows any port on A's side, only 22 on its own.
    net.b.manager.SetDatabase(
        with(Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp), 6, 22, 0));
    net.EstablishPhase1();
    REQUIRE(net.a.manager.StartPhase2(net.Phase2(with(net.DatabaseA(), 6, 0, 22))).has_ack());
    net.Run();
    REQUIRE(net.a.Established(2));
    REQUIRE(net.b.Established(2));
    const auto& a = net.a.Established(2)->phase2_established();
    const auto& b = net.b.Established(2)->phase2_established();
    CHECK(a.protocol() == 6);
    CHECK(a.local_port() == 0);
    CHECK(a.remote_port() == 22);
    CHECK(b.protocol() == 6);
    CHECK(b.local_port() == 22);
    CHECK(b.remote_port() == 0);
  }
  SECTION("a port other than the responder's is refused with INVALID-ID-INFORMATION") {
    Pair net;
    net.b.manager.SetDatabase(
        with(Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp), 6, 22, 0));
    net.EstablishPhase1();
    REQUIRE(net.a.manager.StartPhase2(net.Phase2(with(net.DatabaseA(), 6, 0, 80))).has_ack());
    net.Run();
    REQUIRE(net.a.Failed(2));
    CHECK(net.a.Failed(2)->negotiation_failed().code() == ipc::INVALID_ID);
    CHECK_FALSE(net.b.Established(2));
  }
  SECTION("any protocol on the initiator is wider than the responder's tcp: refused") {
    Pair net;
    net.b.manager.SetDatabase(
        with(Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp), 6, 0, 0));
    net.EstablishPhase1();
    REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
    net.Run();
    REQUIRE(net.a.Failed(2));
    CHECK(net.a.Failed(2)->negotiation_failed().code() == ipc::INVALID_ID);
  }
  SECTION("a responder allowing any protocol takes the initiator's narrower tcp/22") {
    Pair net;
    net.EstablishPhase1();
    REQUIRE(net.a.manager.StartPhase2(net.Phase2(with(net.DatabaseA(), 6, 0, 22))).has_ack());
    net.Run();
    REQUIRE(net.b.Established(2));
    const auto& b = net.b.Established(2)->phase2_established();
    CHECK(b.protocol() == 6);
    CHECK(b.local_port() == 22);
  }
}

// A NAT in front of A: A's 192.0.2.1:500/4500 appear to B as
// 198.51.100.254:40500/44500 (RFC 3947: detected by NAT-D, both move to 4500,
// ESP is UDP-encapsulated).
TEST_CASE("NAT traversal: NAT-D detects the NAT, IKE floats to 4500, ESP in UDP", "[engine]") {
  Pair net;
  const char* kNat = "198.51.100.254";
  auto db_b = Database(kHostB, kNat, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp);
  // Behind a NAT the peer's address is not its identity: B names A's ID.
  db_b.mutable_ike_tunnel(0)->mutable_remote_id()->set_type(db::IPV4_ADDR);
  db_b.mutable_ike_tunnel(0)->mutable_remote_id()->set_value(kHostA);
  net.b.manager.SetDatabase(db_b);
  const IpAddress a_addr = *IpAddress::Parse(kHostA), nat = *IpAddress::Parse(kNat);
  auto translate = [&](Packet& p) {
    if (p.from.address == a_addr) {  // outbound through the NAT
      p.from = Endpoint{nat, uint16_t(p.from.port + 40000)};
    } else if (p.to.address == nat) {  // back in
      p.to = Endpoint{a_addr, uint16_t(p.to.port - 40000)};
    }
  };
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  std::vector<Packet> log;
  auto run = [&] {
    for (int guard = 0; guard < 100; ++guard) {
      net.clock.RunDue();
      if (net.wire.empty()) return;
      Packet p = std::move(net.wire.front());
      net.wire.pop_front();
      translate(p);
      log.push_back(p);
      net.HostAt(p.to).manager.OnPacket(p.to, p.from, p.data);
    }
  };
  run();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  REQUIRE(log.size() == 6);
  CHECK(log[3].to.port == 500);      // message 4 still on 500
  CHECK(log[4].from.port == 44500);  // message 5 from A's 4500 through the NAT
  CHECK(log[4].to.port == 4500);
  CHECK(log[5].to.port == 4500);  // message 6 back to the NAT's 4500 mapping
  const auto db_a = Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(db_a)).has_ack());
  run();
  REQUIRE(net.a.Established(2));
  REQUIRE(net.b.Established(2));
  const auto& sa_b = net.b.Established(2)->phase2_established().sa(0);  // B inbound
  CHECK(sa_b.source() == kNat);
  CHECK(sa_b.source_port() == 44500);
  CHECK(sa_b.destination_port() == 4500);
  const auto& sa_a = net.a.Established(2)->phase2_established().sa(1);  // A outbound
  CHECK(sa_a.source_port() == 4500);
  CHECK(sa_a.destination_port() == 4500);
}

TEST_CASE("a Base exchange request is answered with UNSUPPORTED-EXCHANGE-TYPE", "[engine]") {
  Pair net;
  wire::Header h;
  h.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.exchange = wire::ExchangeType::kBase;
  h.next_payload = wire::PayloadType::kNone;
  h.length = wire::kHeaderLength;
  const Endpoint from{*IpAddress::Parse(kHostA), 500}, to{*IpAddress::Parse(kHostB), 500};
  net.b.manager.OnPacket(to, from, wire::EncodeHeader(h));
  REQUIRE(net.wire.size() == 1);
  const Packet& reply = net.wire.front();
  CHECK(reply.to == from);
  auto parsed = wire::ParseHeader(reply.data);
  REQUIRE(std::holds_alternative<wire::Header>(parsed));
  const auto& rh = std::get<wire::Header>(parsed);
  CHECK(rh.exchange == wire::ExchangeType::kInformational);
  CHECK(rh.icookie == h.icookie);
  auto payloads =
      wire::ParsePayloads(rh.next_payload, ByteView(reply.data).subspan(wire::kHeaderLength));
  REQUIRE(std::holds_alternative<std::vector<wire::Payload>>(payloads));
  const auto* n = wire::FindBody<wire::NotifyPayload>(std::get<0>(payloads));
  REQUIRE(n != nullptr);
  CHECK(n->type == uint16_t(wire::NotifyType::kUnsupportedExchangeType));
  CHECK(net.b.manager.isakmp_sa_count() == 0);
}

// Truncated, corrupted (after the header) and replayed copies of every
// message of a finished Main Mode and Quick Mode: B must not create an SA,
// report anything to tmd or answer on the wire.
TEST_CASE("garbage and replayed packets change nothing and get no answer", "[engine]") {
  Pair net;
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  std::vector<Packet> seen;
  auto record = [&](const Packet& p) {
    seen.push_back(p);
    return false;
  };
  net.Run(record);
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.DatabaseA())).has_ack());
  net.Run(record);
  REQUIRE(net.b.Established(2));
  REQUIRE(seen.size() == 9);
  const size_t events_before = net.b.events.size();
  const auto replays_before = net.b.manager.counters().replays_dropped;
  SeededRandom rng(7);
  const Endpoint from{*IpAddress::Parse(kHostA), 500}, to{*IpAddress::Parse(kHostB), 500};
  for (const auto& p : seen) {
    for (size_t cut = 0; cut < p.data.size(); cut += 3)
      net.b.manager.OnPacket(to, from, ByteView(p.data).first(cut));
    Bytes flipped = p.data;
    for (int i = 0; i < 20; ++i) {
      const size_t at =
          wire::kHeaderLength + rng.NextU32() % (flipped.size() - wire::kHeaderLength);
      flipped[at] ^= uint8_t(1 + rng.NextU32() % 255);
      net.b.manager.OnPacket(to, from, flipped);
    }
    net.b.manager.OnPacket(to, from, p.data);  // replay
  }
  CHECK(net.wire.empty());  // no reply of any kind
  CHECK(net.b.events.size() == events_before);
  CHECK_FALSE(net.b.Failed(1));
  CHECK_FALSE(net.b.Failed(2));
  CHECK(net.b.manager.isakmp_sa_count() == 1);
  CHECK(net.b.manager.quick_mode_count() == 1);
  CHECK(net.b.manager.counters().replays_dropped > replays_before);  // QM1 was seen as one
}

// Main Mode 1 as a spoofer sends it from A's address: a valid offer with a
// fresh initiator cookie each time, so each one makes B a half-open SA.
Bytes SpoofedMainMode1(SeededRandom& rng) {
  const auto d = Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
  std::vector<wire::Payload> payloads{wire::MakePayload(BuildIkeSa(d.ike_protection(0)))};
  const Bytes body = wire::EncodePayloads(payloads);
  wire::Header h;
  rng.Fill(h.icookie);
  h.next_payload = wire::PayloadType::kSa;
  h.exchange = wire::ExchangeType::kIdentityProtection;
  h.length = static_cast<uint32_t>(wire::kHeaderLength + body.size());
  Bytes out = wire::EncodeHeader(h);
  Append(out, body);
  return out;
}

// Issue 7 item 4a: 5,000 spoofed Main Mode 1 per second from the peer's own
// address filled its 256 half-open slots and locked the peer out until they
// timed out. Now the oldest not past message 2 is evicted and the real
// tunnel (phase 1 and 2) comes up during the flood.
TEST_CASE("a spoofed Main Mode 1 flood from the peer's address does not lock it out", "[engine]") {
  Pair net;
  SeededRandom spoofer(99);
  const Endpoint a{*IpAddress::Parse(kHostA), 500}, b{*IpAddress::Parse(kHostB), 500};
  int spoofed = 0;
  auto flood_one_ms = [&] {  // 5 per ms = 5,000 per second
    for (int k = 0; k < 5; ++k, ++spoofed) net.wire.push_back({a, b, SpoofedMainMode1(spoofer)});
    net.Run();
    net.clock.Advance(1);
  };
  for (int ms = 0; ms < 1000; ++ms) flood_one_ms();  // B's slots for A are full
  CHECK(net.b.manager.half_open_table().count(a.address) == 256);
  REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
  for (int ms = 0; ms < 2000 && !net.a.Established(1); ++ms) flood_one_ms();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  const auto db_a = Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(db_a)).has_ack());
  for (int ms = 0; ms < 2000 && !net.b.Established(2); ++ms) flood_one_ms();
  CHECK(net.a.Established(2));
  CHECK(net.b.Established(2));
  CHECK(spoofed >= 5000);
  // The spoofed SAs went quietly: no failure for tmd, no slot left over,
  // and no state change either (tmd would number a tunnel for each); only
  // the real tunnel's three are reported.
  CHECK_FALSE(net.b.Failed(1));
  int b_changes = 0;
  for (const auto& e : net.b.events)
    b_changes += e.has_state_change() && e.state_change().phase() == 1;
  CHECK(b_changes == 3);
  CHECK(net.b.manager.half_open_table().count(a.address) <= 256);
  CHECK(net.b.manager.half_open_table().counters().evicted >= size_t(spoofed - 256));
  CHECK(net.b.manager.half_open_table().counters().dropped == 0);
}

}  // namespace
}  // namespace ike::isakmpd
