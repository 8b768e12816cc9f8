// Aggressive Mode (RFC 2409 5, issue 10.1) between two engines over the fake
// network: both roles, the identity types, the responder's policy, the
// operators' state names, the failures an administrator must be able to
// tell apart, and message 3 lost or forged.
#include <catch2/catch.hpp>

#include "tests/lib/fake_syslogd.h"
#include "tests/lib/isakmpd_pair.h"
#include "tunneldb/names.h"

namespace ike::isakmpd {
namespace {

using testing::Database;
using testing::HeaderOf;
using testing::kEsp;
using testing::kHostA;
using testing::kHostB;
using testing::kIke;
using testing::Packet;
using testing::Pair;

struct Ids {
  db::IdType local_type = db::ID_TYPE_UNSPECIFIED;
  std::string local;
  db::IdType remote_type = db::ID_TYPE_UNSPECIFIED;
  std::string remote;
};

db::TunnelDatabase Definitions(const char* local, const char* remote, const char* local_net,
                               const char* remote_net, db::IkeMode mode, const Ids& ids) {
  db::TunnelDatabase d = Database(local, remote, local_net, remote_net, kIke, kEsp);
  d.mutable_ike_protection(0)->set_mode(mode);
  auto* t = d.mutable_ike_tunnel(0);
  if (!ids.local.empty()) {
    t->mutable_local_id()->set_type(ids.local_type);
    t->mutable_local_id()->set_value(ids.local);
  }
  if (!ids.remote.empty()) {
    t->mutable_remote_id()->set_type(ids.remote_type);
    t->mutable_remote_id()->set_value(ids.remote);
  }
  return d;
}

// A (initiator, 192.0.2.1) and B (responder) with |mode_a| and |mode_b|
// protections and identities |ids_a| (B's are the mirror image).
struct AggressivePair : Pair {
  AggressivePair(db::IkeMode mode_a, db::IkeMode mode_b, const Ids& ids_a = {},
                 std::string psk_a = "secret", std::string psk_b = "secret")
      : Pair(std::move(psk_a), std::move(psk_b)) {
    db_a = Definitions(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", mode_a, ids_a);
    const Ids ids_b{ids_a.remote_type, ids_a.remote, ids_a.local_type, ids_a.local};
    db_b = Definitions(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", mode_b, ids_b);
    a.manager.SetDatabase(db_a);
    b.manager.SetDatabase(db_b);
  }
  ipc::Phase1Request Request() const {
    ipc::Phase1Request r;
    r.set_tunnel(1);
    *r.mutable_definition() = db_a.ike_tunnel(0);
    *r.mutable_protection() = db_a.ike_protection(0);
    return r;
  }
  void Start() { REQUIRE(a.manager.StartPhase1(Request()).has_ack()); }
  // Lets retransmissions and timeouts play out.
  void Wait(int seconds) {
    for (int i = 0; i < seconds * 4; ++i) {
      clock.Advance(250);
      Run();
    }
  }
  db::TunnelDatabase db_a, db_b;
};

std::vector<std::string> Phase1States(const testing::Host& h) {
  std::vector<std::string> out;
  for (const auto& e : h.events)
    if (e.has_state_change() && e.state_change().phase() == 1)
      out.push_back(tunneldb::Phase1StateName(e.state_change().new_phase1()));
  return out;
}

const wire::NotifyPayload* PlainNotify(const Packet& p) {
  static std::vector<wire::Payload> payloads;
  const wire::Header h = HeaderOf(p);
  if (h.exchange != wire::ExchangeType::kInformational) return nullptr;
  auto parsed = wire::ParsePayloads(h.next_payload, ByteView(p.data).subspan(wire::kHeaderLength));
  if (!std::holds_alternative<std::vector<wire::Payload>>(parsed)) return nullptr;
  payloads = std::get<0>(parsed);
  return wire::FindBody<wire::NotifyPayload>(payloads);
}

// What tmd learns of each step in Cisco's words (issue 11.2): IOS and ASA
// names from the same table as the IBM ones, per role.
TEST_CASE("state changes carry the IOS and ASA names, per role", "[aggressive][states]") {
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE,
                     {db::FQDN, "a.example", db::FQDN, "b.example"});
  net.Start();
  net.Run();
  REQUIRE(net.a.Established(1));
  auto cisco = [](const testing::Host& h) {
    std::vector<std::string> out;
    for (const auto& e : h.events)
      if (e.has_state_change() && e.state_change().phase() == 1)
        out.push_back(ipc::IosPhase1State_Name(e.state_change().ios_phase1()) + "/" +
                      ipc::AsaPhase1State_Name(e.state_change().asa_phase1()));
    return out;
  };
  CHECK(cisco(net.a) == std::vector<std::string>{"AG_INIT_EXCH/AM_WAIT_MSG2",
                                                 "AG_INIT_EXCH/AM_WAIT_MSG2", "AG_AUTH/AM_ACTIVE"});
  CHECK(cisco(net.b).back() == "AG_AUTH/AM_ACTIVE");
  CHECK(std::find(cisco(net.b).begin(), cisco(net.b).end(), "AG_INIT_EXCH/AM_WAIT_MSG3") !=
        cisco(net.b).end());
}

TEST_CASE("Aggressive Mode: three messages, then Quick Mode, both roles", "[aggressive]") {
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE,
                     {db::FQDN, "a.example", db::USER_FQDN, "gw@b.example"});
  std::vector<wire::ExchangeType> exchanges;
  std::vector<bool> encrypted;
  net.Start();
  net.Run([&](const Packet& p) {
    exchanges.push_back(HeaderOf(p).exchange);
    encrypted.push_back(HeaderOf(p).flags & wire::kFlagEncryption);
    return false;
  });
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  CHECK(net.delivered == 3);
  CHECK(exchanges == std::vector<wire::ExchangeType>(3, wire::ExchangeType::kAggressive));
  // Message 3 (HASH_I) is encrypted, as strongSwan and Cisco send it.
  CHECK(encrypted == std::vector<bool>{false, false, true});
  const auto& p1a = net.a.Established(1)->phase1_established();
  const auto& p1b = net.b.Established(1)->phase1_established();
  CHECK(p1a.mode() == ipc::AGGRESSIVE);
  CHECK(p1b.mode() == ipc::AGGRESSIVE);
  CHECK(p1a.role() == ipc::INITIATOR);
  CHECK(p1b.role() == ipc::RESPONDER);
  CHECK(p1a.icookie() == p1b.icookie());
  CHECK(p1a.rcookie() == p1b.rcookie());
  CHECK(p1a.remote_id() == "gw@b.example");
  CHECK(p1b.remote_id() == "a.example");
  // The responder asked cpsd for the key of the identity the peer claimed.
  REQUIRE(net.b.skeyid_requests.size() == 1);
  CHECK(net.b.skeyid_requests[0].remote_id() == "a.example");

  // Seed 000 figure 2: WAIT SA, IN KE, DONE (initiator); the responder's
  // INIT -> IN KE is reported with message 3, then DONE.
  CHECK(Phase1States(net.a) == std::vector<std::string>{"WAIT SA", "IN KE", "DONE"});
  CHECK(Phase1States(net.b) == std::vector<std::string>{"IN KE", "DONE"});
  for (const auto* h : {&net.a, &net.b})
    for (const auto& e : h->events)
      if (e.has_state_change()) CHECK(e.state_change().mode() == ipc::AGGRESSIVE);

  // Quick Mode under it: the phase 1 keys and IV chain agree.
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.db_a)).has_ack());
  net.Run();
  REQUIRE(net.a.Established(2));
  REQUIRE(net.b.Established(2));
  const auto& qa = net.a.Established(2)->phase2_established();
  const auto& qb = net.b.Established(2)->phase2_established();
  CHECK(qa.sa(1).spi() == qb.sa(0).spi());
  CHECK(qa.sa(1).encryption_key() == qb.sa(0).encryption_key());
}

TEST_CASE("Aggressive Mode identities: ID_KEY_ID and addresses", "[aggressive]") {
  SECTION("ID_KEY_ID (Cisco and ASA group names)") {
    AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE,
                       {db::KEY_ID, "branch-17", db::FQDN, "hq.example"});
    net.Start();
    net.Run();
    REQUIRE(net.b.Established(1));
    CHECK(net.b.Established(1)->phase1_established().remote_id() == "branch-17");
    CHECK(net.b.skeyid_requests.at(0).remote_id() == "branch-17");
  }
  SECTION("the endpoint addresses (no identity configured)") {
    AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE);
    net.Start();
    net.Run();
    REQUIRE(net.b.Established(1));
    CHECK(net.b.Established(1)->phase1_established().remote_id() == kHostA);
  }
  SECTION("identities compare without regard to case (DNS names)") {
    AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE,
                       {db::FQDN, "A.Example", db::FQDN, "b.example"});
    net.db_b.mutable_ike_tunnel(0)->mutable_remote_id()->set_value("a.example");
    net.b.manager.SetDatabase(net.db_b);
    net.Start();
    net.Run();
    CHECK(net.b.Established(1));
  }
}

TEST_CASE("a peer without a fixed address is found by its identity", "[aggressive]") {
  // B's definition: remote_address 0.0.0.0 (tunneldb::IsDynamicPeer), the
  // peer named a.example. A fixed definition with the same identity for
  // another address does not catch it.
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE,
                     {db::FQDN, "a.example", db::FQDN, "b.example"});
  db::IkeTunnel fixed = net.db_b.ike_tunnel(0);
  fixed.set_name("a-at-home");
  fixed.set_remote_address("192.0.2.77");
  net.db_b.mutable_ike_tunnel(0)->set_remote_address("0.0.0.0");
  *net.db_b.add_ike_tunnel() = fixed;
  net.b.manager.SetDatabase(net.db_b);
  net.Start();
  net.Run();
  REQUIRE(net.b.Established(1));
  const auto& est = net.b.Established(1)->phase1_established();
  CHECK(est.name() == "t1");
  CHECK(est.remote_address() == kHostA);  // where it really is
  CHECK(est.remote_id() == "a.example");
  REQUIRE(net.a.manager.StartPhase2(net.Phase2(net.db_a)).has_ack());
  net.Run();
  CHECK(net.b.Established(2));
  // Nothing is started towards it.
  ipc::Phase1Request towards;
  towards.set_tunnel(7);
  *towards.mutable_definition() = net.db_b.ike_tunnel(0);
  *towards.mutable_protection() = net.db_b.ike_protection(0);
  const ipc::Envelope reply = net.b.manager.StartPhase1(towards);
  REQUIRE(reply.has_error());
  CHECK_THAT(reply.error().reason(), Catch::Contains("remote address 0.0.0.0 (any): it only "
                                                     "answers its peer"));
}

TEST_CASE("a Main-Mode-only responder refuses Aggressive Mode and says why", "[aggressive]") {
  ike::testing::FakeSyslogd syslogd("isakmpd_aggressive_test");
  AggressivePair net(db::AGGRESSIVE, db::MAIN, {db::FQDN, "a.example", db::FQDN, "b.example"});
  std::vector<uint16_t> notifies_to_a;
  net.Start();
  net.Run([&](const Packet& p) {
    if (p.to.address.ToString() == kHostA)
      if (const auto* n = PlainNotify(p)) notifies_to_a.push_back(n->type);
    return false;
  });
  CHECK(net.b.manager.isakmp_sa_count() == 0);
  CHECK(net.b.events.empty());  // no SA, no tunnel
  CHECK(notifies_to_a == std::vector<uint16_t>{uint16_t(wire::NotifyType::kInvalidExchangeType)});
  const std::string log = syslogd.Drain();
  INFO(log);
  CHECK(log.find("Aggressive Mode from 192.0.2.1[500] (id a.example) refused: phase 1 tunnel 't1' "
                 "(ike_protection 'p1') allows Main Mode only") != std::string::npos);
  // The initiator ends at once on the notify (unprotected, but before any
  // key exists nothing better can come), with the peer's word for it.
  REQUIRE(net.a.Failed(1));
  CHECK_THAT(net.a.Failed(1)->negotiation_failed().reason(),
             Catch::Contains("sent INVALID-EXCHANGE-TYPE: the peer does not accept Aggressive "
                             "Mode from us"));
  // A Main Mode initiator still gets in: AGGRESSIVE accepts both.
  AggressivePair main_to_aggressive(db::MAIN, db::AGGRESSIVE);
  main_to_aggressive.Start();
  main_to_aggressive.Run();
  REQUIRE(main_to_aggressive.b.Established(1));
  CHECK(main_to_aggressive.b.Established(1)->phase1_established().mode() == ipc::MAIN);
}

TEST_CASE("Aggressive Mode from an identity no definition expects is refused", "[aggressive]") {
  ike::testing::FakeSyslogd syslogd("isakmpd_aggressive_test");
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE,
                     {db::FQDN, "intruder.example", db::FQDN, "b.example"});
  net.db_b.mutable_ike_tunnel(0)->mutable_remote_id()->set_value("a.example");
  net.b.manager.SetDatabase(net.db_b);
  std::vector<uint16_t> notifies_to_a;
  net.Start();
  net.Run([&](const Packet& p) {
    if (p.to.address.ToString() == kHostA)
      if (const auto* n = PlainNotify(p)) notifies_to_a.push_back(n->type);
    return false;
  });
  CHECK(net.b.manager.isakmp_sa_count() == 0);
  CHECK(net.b.skeyid_requests.empty());  // no key is looked up for it
  CHECK(notifies_to_a == std::vector<uint16_t>{uint16_t(wire::NotifyType::kInvalidIdInformation)});
  const std::string log = syslogd.Drain();
  INFO(log);
  CHECK(log.find("it identified itself as 'intruder.example', phase 1 tunnel 't1' expects "
                 "'a.example'") != std::string::npos);
  REQUIRE(net.a.Failed(1));
  CHECK_THAT(net.a.Failed(1)->negotiation_failed().reason(),
             Catch::Contains("sent INVALID-ID-INFORMATION: the peer has no tunnel for our "
                             "identity"));
}

TEST_CASE("Aggressive Mode with different pre-shared keys fails on HASH_R", "[aggressive]") {
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE, {}, "secret", "other-secret");
  net.Start();
  net.Run();
  // The initiator checks HASH_R in message 2 and fails at once, naming the
  // keys; the responder never sees message 3 and drops its half-open SA.
  REQUIRE(net.a.Failed(1));
  const auto& f = net.a.Failed(1)->negotiation_failed();
  CHECK(f.code() == ipc::AUTHENTICATION_FAILED);
  CHECK_THAT(f.reason(), Catch::Contains("HASH_R from 192.0.2.2 did not verify (the pre-shared "
                                         "keys differ)"));
  CHECK(tunneldb::Phase1StateName(f.state1()) == "IN KE");
  CHECK(f.message() == 2);
  net.Wait(20);
  CHECK(net.b.manager.isakmp_sa_count() == 0);
  CHECK_FALSE(net.b.Failed(1));  // never a tunnel at B
}

TEST_CASE("a lost Aggressive Mode 3 comes again when message 2 does", "[aggressive]") {
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE);
  net.Start();
  int message3_copies = 0;
  net.Run([&](const Packet& p) {
    const bool m3 = HeaderOf(p).flags & wire::kFlagEncryption;
    message3_copies += m3;
    return m3 && message3_copies == 1;  // the first copy is lost
  });
  REQUIRE(net.a.Established(1));
  CHECK_FALSE(net.b.Established(1));
  net.Wait(3);  // B retransmits message 2; A answers with its message 3 again
  CHECK(message3_copies == 1);
  REQUIRE(net.b.Established(1));
  CHECK(net.b.Established(1)->phase1_established().rcookie() ==
        net.a.Established(1)->phase1_established().rcookie());
}

TEST_CASE("a forged Aggressive Mode 3 does not end the negotiation", "[aggressive]") {
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE);
  net.Start();
  bool forged = false;
  net.Run([&](const Packet& p) {
    if (!(HeaderOf(p).flags & wire::kFlagEncryption) || forged) return false;
    forged = true;
    Packet bad = p;
    bad.data.back() ^= 0x01;  // corrupt the last ciphertext block
    net.b.manager.OnPacket(bad.to, bad.from, bad.data);
    CHECK(net.b.manager.isakmp_sa_count() == 1);
    CHECK_FALSE(net.b.Failed(1));
    return false;  // then the genuine one
  });
  CHECK(forged);
  REQUIRE(net.b.Established(1));
}

TEST_CASE("Aggressive Mode refuses a proposal whose group its KE is not for", "[aggressive]") {
  // A offers MODP2048 (its KE is for it); B only takes ECP256.
  AggressivePair net(db::AGGRESSIVE, db::AGGRESSIVE);
  net.db_b.mutable_ike_protection(0)->mutable_proposal(0)->set_dh_group(db::ECP_256);
  net.b.manager.SetDatabase(net.db_b);
  net.Start();
  net.Run();
  CHECK_FALSE(net.b.Established(1));
  CHECK(net.b.manager.isakmp_sa_count() == 0);
  net.Wait(20);
  REQUIRE(net.a.Failed(1));
}

}  // namespace
}  // namespace ike::isakmpd
