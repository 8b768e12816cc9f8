// SA lifetimes between two engines (issue 9, item 1): the responder keeps
// the shorter of the offer and its policy, returns the transform unchanged
// (RFC 2409 5) and announces its own with RESPONDER-LIFETIME (RFC 2407
// 4.5.4, 4.6.3.1) in Quick Mode 2 or Main Mode 6; the initiator takes it;
// lifetimes below settings.min_lifetime_seconds are refused on both sides.
// One comment per message in RFC arrow notation (style.md rule 12).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "isakmpd/exchange/lifetime.h"
#include "isakmpd/wire/sa_attributes.h"
#include "tests/lib/fake_syslogd.h"
#include "tests/lib/isakmpd_pair.h"

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

// One side's policy: database lifetimes (0 = default or none) and
// settings.min_lifetime_seconds (0 = default 60 s).
struct Policy {
  uint32_t ike_seconds = 0;
  uint64_t ike_kbytes = 0;
  uint32_t esp_seconds = 0;
  uint64_t esp_kbytes = 0;
  uint32_t min_seconds = 0;
};

db::TunnelDatabase WithPolicy(db::TunnelDatabase d, const Policy& p) {
  auto* ike = d.mutable_ike_protection(0)->mutable_proposal(0);
  ike->set_lifetime_seconds(p.ike_seconds);
  ike->set_lifetime_kbytes(p.ike_kbytes);
  d.mutable_ipsec_protection(0)->set_lifetime_seconds(p.esp_seconds);
  d.mutable_ipsec_protection(0)->set_lifetime_kbytes(p.esp_kbytes);
  d.mutable_settings()->set_min_lifetime_seconds(p.min_seconds);
  return d;
}

// A (initiator) and B (responder) with their own policies; every packet
// delivered is kept in |seen|.
struct LifetimePair : Pair {
  LifetimePair(const Policy& policy_a, const Policy& policy_b)
      : db_a(WithPolicy(Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp),
                        policy_a)),
        db_b(WithPolicy(Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp),
                        policy_b)) {
    a.manager.SetDatabase(db_a);
    b.manager.SetDatabase(db_b);
  }
  void RunAndRecord() {
    Run([this](const Packet& p) {
      seen.push_back(p);
      return false;
    });
  }
  void StartPhase1() {
    ipc::Phase1Request r;
    r.set_tunnel(1);
    *r.mutable_definition() = db_a.ike_tunnel(0);
    *r.mutable_protection() = db_a.ike_protection(0);
    REQUIRE(a.manager.StartPhase1(r).has_ack());
    RunAndRecord();
  }
  void StartPhase2() {
    REQUIRE(a.manager.StartPhase2(Phase2(db_a)).has_ack());
    RunAndRecord();
  }
  // The |n|th (from 0) packet of |exchange| that |from| sent.
  const Packet& Sent(const char* from, wire::ExchangeType exchange, int n) {
    for (const auto& p : seen)
      if (p.from.address.ToString() == from && HeaderOf(p).exchange == exchange && n-- == 0)
        return p;
    FAIL("no such packet");
    return seen.front();
  }
  // The payloads of |packet|, decrypted with the phase 1 key and the last
  // cipher block of |previous| as IV: Main Mode 6 after 5, Quick Mode 2
  // after 1 (RFC 2409 Appendix B).
  std::vector<wire::Payload> Open(const Packet& previous, const Packet& packet) {
    SaManagerTestPeer peer(a.manager);
    const Phase1Context& p1 = peer.Context(peer.FirstSa());
    const size_t block = crypto::CipherBlockSize(p1.suite->cipher);
    const ByteView before = ByteView(previous.data).subspan(wire::kHeaderLength);
    const Bytes iv(before.end() - block, before.end());
    auto plain = crypto::CbcDecrypt(p1.suite->cipher, p1.keys.enc_key.view(), iv,
                                    ByteView(packet.data).subspan(wire::kHeaderLength));
    REQUIRE(plain);
    auto parsed = wire::ParsePayloads(HeaderOf(packet).next_payload, plain.value());
    REQUIRE(std::holds_alternative<std::vector<wire::Payload>>(parsed));
    return std::get<std::vector<wire::Payload>>(parsed);
  }

  db::TunnelDatabase db_a, db_b;
  std::vector<Packet> seen;
};

const wire::NotifyPayload* ResponderLifetime(const std::vector<wire::Payload>& payloads) {
  for (const auto& p : payloads)
    if (const auto* n = std::get_if<wire::NotifyPayload>(&p.body);
        n && n->type == uint16_t(wire::NotifyType::kResponderLifetime))
      return n;
  return nullptr;
}

wire::LifeDurations LifeOf(const wire::NotifyPayload& n) {
  auto d = wire::DecodeLifeNotifyData(n.protocol, n.data);
  REQUIRE(std::holds_alternative<wire::LifeDurations>(d));
  return std::get<wire::LifeDurations>(d);
}

const wire::Transform& ChosenTransform(const std::vector<wire::Payload>& payloads) {
  const auto* sa = wire::FindBody<wire::SaPayload>(payloads);
  REQUIRE(sa);
  REQUIRE(sa->proposals.size() == 1);
  REQUIRE(sa->proposals[0].transforms.size() == 1);
  return sa->proposals[0].transforms[0];
}

Bytes Spi(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

std::string Reason(const ipc::Envelope* failed) {
  REQUIRE(failed);
  return failed->negotiation_failed().reason();
}

using ike::testing::FakeSyslogd;

// ---- phase 2 ------------------------------------------------------------------

TEST_CASE("phase 2: a longer offer gets the responder's lifetime, announced in QM2",
          "[engine][lifetime]") {
  LifetimePair net({.esp_seconds = 7200}, {.esp_seconds = 3600});
  net.EstablishPhase1();
  // HDR*, HASH(1), SA(7200 s), Ni, KE, IDci, IDcr -->
  //   <-- HDR*, HASH(2), SA(7200 s), Nr, KE, IDci, IDcr, N(RESPONDER-LIFETIME 3600 s)
  // HDR*, HASH(3) -->
  net.StartPhase2();
  REQUIRE(net.a.Established(2));
  REQUIRE(net.b.Established(2));
  const auto& qa = net.a.Established(2)->phase2_established();
  const auto& qb = net.b.Established(2)->phase2_established();
  CHECK(qa.lifetime_seconds() == 3600);
  CHECK(qb.lifetime_seconds() == 3600);
  CHECK(qa.lifetime_kbytes() == 0);

  const auto qm2 = net.Open(net.Sent(kHostA, wire::ExchangeType::kQuickMode, 0),
                            net.Sent(kHostB, wire::ExchangeType::kQuickMode, 0));
  // RFC 2409 5: the chosen transform goes back exactly as offered.
  auto chosen = wire::DecodeIpsecTransform(ChosenTransform(qm2));
  REQUIRE(std::holds_alternative<wire::IpsecTransformAttrs>(chosen));
  CHECK(std::get<wire::IpsecTransformAttrs>(chosen).life_seconds == 7200);
  const auto* n = ResponderLifetime(qm2);
  REQUIRE(n);
  CHECK(n->protocol == uint8_t(wire::ProtocolId::kIpsecEsp));
  CHECK(n->spi == Spi(qb.sa(0).spi()));  // B's inbound SPI
  CHECK(LifeOf(*n) == wire::LifeDurations{3600, 0});
}

TEST_CASE("phase 2: an offer within the responder's policy is not answered with a notify",
          "[engine][lifetime]") {
  LifetimePair net({.esp_seconds = 1800}, {.esp_seconds = 3600});
  net.EstablishPhase1();
  net.StartPhase2();
  REQUIRE(net.a.Established(2));
  CHECK(net.a.Established(2)->phase2_established().lifetime_seconds() == 1800);
  CHECK(net.b.Established(2)->phase2_established().lifetime_seconds() == 1800);
  const auto qm2 = net.Open(net.Sent(kHostA, wire::ExchangeType::kQuickMode, 0),
                            net.Sent(kHostB, wire::ExchangeType::kQuickMode, 0));
  CHECK_FALSE(ResponderLifetime(qm2));
}

TEST_CASE("phase 2: a Cisco-like 4,608,000 KB policy is announced and reaches tmd on both sides",
          "[engine][lifetime]") {
  // A offers 3600 s and no volume limit; B adds 4,608,000 KB.
  LifetimePair net({.esp_seconds = 3600}, {.esp_seconds = 3600, .esp_kbytes = 4608000});
  net.EstablishPhase1();
  net.StartPhase2();
  REQUIRE(net.a.Established(2));
  REQUIRE(net.b.Established(2));
  CHECK(net.a.Established(2)->phase2_established().lifetime_kbytes() == 4608000);
  CHECK(net.b.Established(2)->phase2_established().lifetime_kbytes() == 4608000);
  CHECK(net.a.Established(2)->phase2_established().lifetime_seconds() == 3600);
  const auto qm2 = net.Open(net.Sent(kHostA, wire::ExchangeType::kQuickMode, 0),
                            net.Sent(kHostB, wire::ExchangeType::kQuickMode, 0));
  const auto* n = ResponderLifetime(qm2);
  REQUIRE(n);
  CHECK(LifeOf(*n) == wire::LifeDurations{3600, 4608000});
  // The duration is a 4-octet variable attribute, as Cisco sends it.
  CHECK(ToHex(n->data).find("0002000400465000") != std::string::npos);
}

TEST_CASE("phase 2: an offer below settings.min_lifetime_seconds is refused by the responder",
          "[engine][lifetime]") {
  FakeSyslogd syslogd("isakmpd_lifetime_test");
  // A may offer 10 s (its own minimum is 5 s); B keeps the default 60 s.
  LifetimePair net({.esp_seconds = 10, .min_seconds = 5}, {});
  net.EstablishPhase1();
  // HDR*, HASH(1), SA(10 s), Ni, KE, IDci, IDcr -->
  //   <-- HDR*, HASH(1), N(NO-PROPOSAL-CHOSEN)
  net.StartPhase2();
  CHECK_FALSE(net.a.Established(2));
  CHECK_FALSE(net.b.Established(2));
  const std::string refused =
      "peer offered lifetime 10 s, below our minimum 60 s "
      "(settings.min_lifetime_seconds)";
  CHECK_THAT(Reason(net.b.Failed(2)), Catch::Contains(refused));
  CHECK(net.b.Failed(2)->negotiation_failed().code() == ipc::NO_PROPOSAL_CHOSEN);
  CHECK_THAT(Reason(net.a.Failed(2)), Catch::Contains("NO-PROPOSAL-CHOSEN"));
  const std::string log = syslogd.Drain();
  INFO(log);
  CHECK(log.find(refused) != std::string::npos);
  CHECK(net.a.manager.quick_mode_count() == 0);
  CHECK(net.b.manager.quick_mode_count() == 0);
}

TEST_CASE("phase 2: a RESPONDER-LIFETIME below our minimum fails the initiator, no loop",
          "[engine][lifetime]") {
  // B's policy is 10 s (its minimum 5 s); A keeps the default 60 s.
  LifetimePair net({.esp_seconds = 3600}, {.esp_seconds = 10, .min_seconds = 5});
  net.EstablishPhase1();
  // HDR*, HASH(1), SA(3600 s), Ni, KE, IDci, IDcr -->
  //   <-- HDR*, HASH(2), SA, Nr, KE, IDci, IDcr, N(RESPONDER-LIFETIME 10 s)
  // HDR*, HASH(1), N(NO-PROPOSAL-CHOSEN), D(ESP, A's inbound SPI) -->
  net.StartPhase2();
  CHECK_FALSE(net.a.Established(2));
  CHECK_FALSE(net.b.Established(2));
  CHECK_THAT(Reason(net.a.Failed(2)),
             Catch::Contains("peer 192.0.2.2 imposed lifetime 10 s (RESPONDER-LIFETIME), below "
                             "our minimum 60 s (settings.min_lifetime_seconds)"));
  CHECK(net.a.Failed(2)->negotiation_failed().code() == ipc::NO_PROPOSAL_CHOSEN);
  // B drops the SA it keyed at once instead of waiting for message 3.
  CHECK(net.b.Failed(2));
  CHECK(net.a.manager.quick_mode_count() == 0);
  CHECK(net.b.manager.quick_mode_count() == 0);
  const int delivered = net.delivered;
  net.clock.Advance(60000);  // nothing retransmits, nothing starts again
  net.Run();
  CHECK(net.delivered == delivered);
  CHECK(net.a.manager.isakmp_sa_count() == 1);  // phase 1 is not concerned
}

// ---- phase 1 ------------------------------------------------------------------

TEST_CASE("phase 1: a longer offer gets the responder's lifetime, announced in MM6",
          "[engine][lifetime]") {
  LifetimePair net({.ike_seconds = 7200}, {.ike_seconds = 3600});
  // HDR, SA(7200 s) -->  <-- HDR, SA(7200 s);  HDR, KE, Ni -->  <-- HDR, KE, Nr
  // HDR*, IDii, HASH_I -->  <-- HDR*, IDir, HASH_R, N(RESPONDER-LIFETIME 3600 s)
  net.StartPhase1();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  CHECK(net.a.Established(1)->phase1_established().lifetime_seconds() == 3600);
  CHECK(net.b.Established(1)->phase1_established().lifetime_seconds() == 3600);

  const auto mm = wire::ExchangeType::kIdentityProtection;
  auto chosen = wire::DecodeIkeTransform(ChosenTransform(std::get<std::vector<wire::Payload>>(
      wire::ParsePayloads(wire::PayloadType::kSa,
                          ByteView(net.Sent(kHostB, mm, 0).data).subspan(wire::kHeaderLength)))));
  REQUIRE(std::holds_alternative<wire::IkeTransformAttrs>(chosen));
  CHECK(std::get<wire::IkeTransformAttrs>(chosen).life_seconds == 7200);  // as offered
  const auto mm6 = net.Open(net.Sent(kHostA, mm, 2), net.Sent(kHostB, mm, 2));
  const auto* n = ResponderLifetime(mm6);
  REQUIRE(n);
  CHECK(n->protocol == uint8_t(wire::ProtocolId::kIsakmp));
  const auto& sa = net.a.Established(1)->phase1_established();
  CHECK(ToHex(n->spi) == sa.icookie() + sa.rcookie());  // the cookie pair
  CHECK(LifeOf(*n) == wire::LifeDurations{3600, 0});

  // The initiator's expiry timer runs on the reduced value too.
  net.clock.Advance(3599 * 1000);
  net.Run();
  CHECK(net.a.manager.isakmp_sa_count() == 1);
  net.clock.Advance(1000);
  net.Run();
  CHECK(net.a.manager.isakmp_sa_count() == 0);
  CHECK(net.b.manager.isakmp_sa_count() == 0);
}

TEST_CASE("phase 1: an offer below settings.min_lifetime_seconds is refused by the responder",
          "[engine][lifetime]") {
  LifetimePair net({.ike_seconds = 10, .min_seconds = 5}, {});
  // HDR, SA(10 s) -->  <-- HDR, N(NO-PROPOSAL-CHOSEN)
  net.StartPhase1();
  CHECK_FALSE(net.a.Established(1));
  CHECK_FALSE(net.b.Established(1));
  CHECK_THAT(Reason(net.b.Failed(1)),
             Catch::Contains("peer offered lifetime 10 s, below our minimum 60 s "
                             "(settings.min_lifetime_seconds)"));
  CHECK_THAT(Reason(net.a.Failed(1)), Catch::Contains("NO-PROPOSAL-CHOSEN"));
  CHECK(net.a.manager.isakmp_sa_count() == 0);
  CHECK(net.b.manager.isakmp_sa_count() == 0);
}

TEST_CASE("phase 1: a RESPONDER-LIFETIME below our minimum fails the initiator after MM6",
          "[engine][lifetime]") {
  LifetimePair net({}, {.ike_seconds = 10, .min_seconds = 5});
  // ...  <-- HDR*, IDir, HASH_R, N(RESPONDER-LIFETIME 10 s)
  // HDR*, HASH(1), N(NO-PROPOSAL-CHOSEN), D(ISAKMP, cookies) -->
  net.StartPhase1();
  CHECK_FALSE(net.a.Established(1));
  CHECK_THAT(Reason(net.a.Failed(1)),
             Catch::Contains("peer 192.0.2.2 imposed lifetime 10 s (RESPONDER-LIFETIME), below "
                             "our minimum 60 s (settings.min_lifetime_seconds)"));
  CHECK(net.a.Failed(1)->negotiation_failed().code() == ipc::NO_PROPOSAL_CHOSEN);
  // B had it established; the Delete ends it there too.
  CHECK(net.b.Established(1));
  CHECK(net.b.Find([](const ipc::Envelope& e) {
    return e.has_sa_deleted() && e.sa_deleted().phase() == 1 && e.sa_deleted().by_peer();
  }));
  CHECK(net.a.manager.isakmp_sa_count() == 0);
  CHECK(net.b.manager.isakmp_sa_count() == 0);
  const int delivered = net.delivered;
  net.clock.Advance(60000);
  net.Run();
  CHECK(net.delivered == delivered);  // no retransmission, no second try
}

TEST_CASE("phase 1: kilobytes are proposed in MM1 and announced in MM6", "[engine][lifetime]") {
  FakeSyslogd syslogd("isakmpd_lifetime_test");
  SECTION("the initiator's volume limit is taken as offered") {
    LifetimePair net({.ike_kbytes = 200000}, {});
    net.StartPhase1();
    REQUIRE(net.b.Established(1));
    const auto mm1 = std::get<std::vector<wire::Payload>>(wire::ParsePayloads(
        wire::PayloadType::kSa,
        ByteView(net.Sent(kHostA, wire::ExchangeType::kIdentityProtection, 0).data)
            .subspan(wire::kHeaderLength)));
    auto offered = wire::DecodeIkeTransform(ChosenTransform(mm1));
    REQUIRE(std::holds_alternative<wire::IkeTransformAttrs>(offered));
    CHECK(std::get<wire::IkeTransformAttrs>(offered).life_kbytes == 200000);
    const std::string log = syslogd.Drain();
    INFO(log);
    // Both sides, no notify needed (B has no volume policy).
    size_t at = log.find("lifetime 28800 s, 200000 KB)");
    REQUIRE(at != std::string::npos);
    CHECK(log.find("lifetime 28800 s, 200000 KB)", at + 1) != std::string::npos);
  }
  SECTION("the responder's volume limit is announced") {
    LifetimePair net({}, {.ike_kbytes = 100000});
    net.StartPhase1();
    REQUIRE(net.a.Established(1));
    const auto mm = wire::ExchangeType::kIdentityProtection;
    const auto mm6 = net.Open(net.Sent(kHostA, mm, 2), net.Sent(kHostB, mm, 2));
    const auto* n = ResponderLifetime(mm6);
    REQUIRE(n);
    CHECK(LifeOf(*n) == wire::LifeDurations{28800, 100000});
    const std::string log = syslogd.Drain();
    INFO(log);
    size_t at = log.find("lifetime 28800 s, 100000 KB)");
    REQUIRE(at != std::string::npos);
    CHECK(log.find("lifetime 28800 s, 100000 KB)", at + 1) != std::string::npos);
  }
}

TEST_CASE("phase 1: the kilobyte lifetime counts IKE traffic and ends the SA like the time limit",
          "[engine][lifetime]") {
  FakeSyslogd syslogd("isakmpd_lifetime_test");
  LifetimePair net({}, {.ike_kbytes = 1});  // B announces 1 KB in MM6
  net.StartPhase1();
  REQUIRE(net.a.Established(1));
  // Protected traffic under the SA: Main Mode 5 and 6, then DPD rounds
  //   HDR*, HASH(1), N(R-U-THERE) -->  <-- HDR*, HASH(1), N(R-U-THERE-ACK)
  // until the SA is gone; each side counts what it sealed and accepted.
  auto protected_octets = [&net] {
    size_t n = 0;
    for (const auto& p : net.seen)
      n += (HeaderOf(p).flags & wire::kFlagEncryption) ? p.data.size() : 0;
    return n;
  };
  SaManagerTestPeer a(net.a.manager);
  const uint64_t handle = a.FirstSa();
  int rounds = 0;
  while (net.a.manager.isakmp_sa_count() == 1 && rounds < 50) {
    CHECK(protected_octets() < 1024);  // not a round too early
    a.SendInformational(handle, {testing::DpdNotify(a.Context(handle), 1000 + rounds)});
    net.RunAndRecord();
    ++rounds;
  }
  CHECK(rounds > 1);
  CHECK(protected_octets() >= 1024);
  CHECK(net.a.manager.isakmp_sa_count() == 0);
  CHECK(net.b.manager.isakmp_sa_count() == 0);
  CHECK(net.a.Find([](const ipc::Envelope& e) {
    return e.has_sa_deleted() && e.sa_deleted().phase() == 1 &&
           e.sa_deleted().reason() == "lifetime expired (volume)" && !e.sa_deleted().by_peer();
  }));
  const std::string log = syslogd.Drain();
  INFO(log);
  CHECK(log.find("phase 1 lifetime expired (volume limit 1 KB (lifetime_kbytes) reached after ") !=
        std::string::npos);
}

// RFC 2407 4.6.3.1 allows the notify in an Informational of its own (Cisco
// IOS sends the phase 1 one after Main Mode).
TEST_CASE("phase 1: a RESPONDER-LIFETIME in a protected Informational after Main Mode",
          "[engine][lifetime]") {
  FakeSyslogd syslogd("isakmpd_lifetime_test");
  LifetimePair net({}, {});
  net.StartPhase1();
  REQUIRE(net.a.Established(1));
  CHECK(net.a.Established(1)->phase1_established().lifetime_seconds() == 28800);
  SaManagerTestPeer b(net.b.manager);
  const Phase1Context& p1 = b.Context(b.FirstSa());
  Bytes cookies(p1.icookie.begin(), p1.icookie.end());
  cookies.insert(cookies.end(), p1.rcookie.begin(), p1.rcookie.end());
  auto announce = [&](uint32_t seconds) {
    // <-- HDR*, HASH(1), N(RESPONDER-LIFETIME)
    b.SendInformational(b.FirstSa(), {lifetime::ResponderLifetimeNotify(wire::ProtocolId::kIsakmp,
                                                                        cookies, seconds, 0)});
    net.Run();
  };
  net.clock.Advance(100 * 1000);
  SECTION("a shorter lifetime moves the expiry up, counted from establishment") {
    announce(3600);
    net.clock.Advance(3499 * 1000);
    net.Run();
    CHECK(net.a.manager.isakmp_sa_count() == 1);
    net.clock.Advance(1000);
    net.Run();
    CHECK(net.a.manager.isakmp_sa_count() == 0);
    const std::string log = syslogd.Drain();
    INFO(log);
    CHECK(log.find("peer announced RESPONDER-LIFETIME: lifetime 28800 s -> 3600 s") !=
          std::string::npos);
    CHECK(log.find("phase 1 lifetime expired (time limit 3600 s (lifetime_seconds) reached)") !=
          std::string::npos);
  }
  SECTION("one below our minimum ends the SA") {
    announce(10);
    CHECK(net.a.manager.isakmp_sa_count() == 0);
    CHECK(net.b.manager.isakmp_sa_count() == 0);  // our Delete
    CHECK(net.a.Find([](const ipc::Envelope& e) {
      return e.has_sa_deleted() && e.sa_deleted().phase() == 1 &&
             e.sa_deleted().reason().find(
                 "imposed lifetime 10 s (RESPONDER-LIFETIME), below our "
                 "minimum 60 s") != std::string::npos;
    }));
  }
}

}  // namespace
}  // namespace ike::isakmpd
