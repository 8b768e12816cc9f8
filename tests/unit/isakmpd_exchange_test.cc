// Exchange-level checks without the SA manager: message ids, constant-time
// HASH comparison, and the initiator's check of the IDs returned in Quick
// Mode 2 (hole g), run on two exchanges that share one set of phase 1 keys.
#include <catch2/catch.hpp>
#include <deque>

#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/quick_mode.h"
#include "isakmpd/sa/message_ids.h"
#include "tests/lib/fakes.h"

namespace ike::isakmpd {
namespace {

// Returns the given values in turn (then repeats the last).
class ScriptedRandom : public crypto::Random {
 public:
  explicit ScriptedRandom(std::deque<uint32_t> values) : values_(std::move(values)) {}
  void Fill(std::span<uint8_t> out) override {
    uint32_t v = values_.front();
    if (values_.size() > 1) values_.pop_front();
    for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(v >> (8 * (i % 4)));
  }

 private:
  std::deque<uint32_t> values_;
};

TEST_CASE("message ids: unique among live ones, recent ones refused, bounded memory",
          "[exchange]") {
  ScriptedRandom rng({5, 5, 0, 7, 9});
  MessageIdTable ids;
  CHECK(ids.Allocate(rng) == 5);
  CHECK(ids.Allocate(rng) == 7);  // 5 is live, 0 is never an id
  CHECK_FALSE(ids.Register(7));   // the peer cannot start an exchange on our id
  CHECK(ids.Register(11));
  CHECK_FALSE(ids.Register(11));  // nor twice
  CHECK_FALSE(ids.Register(0));
  ids.Finish(5);
  CHECK_FALSE(ids.IsLive(5));
  CHECK(ids.IsRecent(5));
  CHECK_FALSE(ids.Register(5));   // a replay of a finished exchange
  CHECK(ids.Allocate(rng) == 9);  // never a recent id either
  for (uint32_t i = 1000; i < 1000 + MessageIdTable::kRecentLimit; ++i) {
    REQUIRE(ids.Register(i));
    ids.Finish(i);
  }
  CHECK_FALSE(ids.IsRecent(5));  // forgotten after kRecentLimit newer ones
  CHECK(ids.Register(5));
  CHECK(ids.live_count() == 4);  // 7, 11, 9, 5
}

TEST_CASE("SameHash compares whole values only", "[exchange]") {
  const Bytes a{1, 2, 3, 4}, b{1, 2, 3, 5};
  CHECK(SameHash(a, a));
  CHECK_FALSE(SameHash(a, b));
  CHECK_FALSE(SameHash(a, ByteView(a).first(3)));
  CHECK_FALSE(SameHash(Bytes(), Bytes()));
}

struct QuickModePair {
  QuickModePair() : random(3) {
    init.role = Role::kInitiator;
    init.step = MainModeStep::kDone;
    init.local = Endpoint{*IpAddress::Parse("192.0.2.1"), 500};
    init.remote = Endpoint{*IpAddress::Parse("192.0.2.2"), 500};
    init.suite = IkeSuite{};
    const Bytes skeyid(20, 0x11), gxy(256, 0x22), cky(8, 0x33);
    init.keys = keymat::DerivePhase1(init.suite->hash, init.suite->cipher, skeyid, gxy, cky, cky);
    resp.role = Role::kResponder;
    resp.step = MainModeStep::kDone;
    resp.local = init.remote;
    resp.remote = init.local;
    resp.suite = init.suite;
    resp.keys = init.keys;
    db::IpsecProtection p;
    auto* proposal = p.add_proposal();
    proposal->set_encryption(db::ESP_AES_CBC);
    proposal->set_key_length(128);
    proposal->set_integrity(db::HMAC_SHA2_256);
    qi.role = Role::kInitiator;
    qi.message_id = 42;
    qi.spi_in = 0x1000;
    qi.protection = p;
    qi.definition.mutable_local()->set_subnet("198.51.100.0/24");
    qi.definition.mutable_remote()->set_subnet("203.0.113.0/24");
    qi.local_text = "198.51.100.0-198.51.100.255";
    qi.remote_text = "203.0.113.0-203.0.113.255";
    qr.role = Role::kResponder;
    qr.message_id = 42;
    qr.spi_in = 0x2000;
    qr.protection = p;
  }
  // QM1 from the initiator; the responder answers with |returned| as its
  // IDci, IDcr (instead of an echo); the initiator reads QM2.
  Phase2Outcome Run(const std::string& ci, const std::string& cr) {
    const ExchangeTools tools{random, dh};
    auto o1 = quick_mode::InitiatorSendHashSaNonce(init, qi, tools);
    REQUIRE(o1.send);
    wire::EncodePayloads(*o1.send);
    db::Selector a, b;
    a.set_subnet(ci);
    b.set_subnet(cr);
    qr.ids = {wire::MakePayload(SelectorIdPayload(a)), wire::MakePayload(SelectorIdPayload(b))};
    auto o2 = quick_mode::ResponderRecvHashSaNonceSendHashSaNonce(resp, qr, *o1.send, tools);
    REQUIRE(o2.send);
    wire::EncodePayloads(*o2.send);
    return quick_mode::Receive(init, qi, QuickModeStep::kHashSaNonceSent, *o2.send);
  }
  ike::testing::SeededRandom random;
  FreshDhKeys dh;
  Phase1Context init, resp;
  QuickModeExchange qi, qr;
};

TEST_CASE("Quick Mode 2: IDs equal to ours are accepted", "[exchange]") {
  QuickModePair p;
  auto o = p.Run("198.51.100.0/24", "203.0.113.0/24");
  REQUIRE_FALSE(o.failure);
  CHECK(o.done);
  CHECK(o.next == QuickModeStep::kKeyed);  // KEP, then DONE once message 3 is sent
}

TEST_CASE("Quick Mode 2: a narrowing of our IDs is accepted and adopted", "[exchange]") {
  QuickModePair p;
  auto o = p.Run("198.51.100.0/25", "203.0.113.7/32");
  REQUIRE_FALSE(o.failure);
  CHECK(p.qi.local_text == "198.51.100.0-198.51.100.127");
  CHECK(p.qi.remote_text == "203.0.113.7-203.0.113.7");
}

TEST_CASE("Quick Mode 2: wider or other IDs fail with INVALID-ID-INFORMATION", "[exchange]") {
  QuickModePair p;
  auto o = p.Run("198.51.100.0/23", "203.0.113.0/24");
  REQUIRE(o.failure);
  CHECK(o.failure->code == ipc::INVALID_ID);
  CHECK(o.failure->notify == wire::NotifyType::kInvalidIdInformation);
  CHECK_THAT(o.failure->reason, Catch::Contains("198.51.100.0-198.51.101.255"));  // theirs
  CHECK_THAT(o.failure->reason, Catch::Contains("198.51.100.0-198.51.100.255"));  // ours
  QuickModePair q;
  auto other = q.Run("198.51.100.0/24", "192.0.2.0/24");
  REQUIRE(other.failure);
  CHECK(other.failure->code == ipc::INVALID_ID);
}

}  // namespace
}  // namespace ike::isakmpd

namespace ike::isakmpd {
namespace {

// RFC 2408 3.15: an ISAKMP Delete names the SA by its cookie pair. One that
// names other cookies deleted the SA it arrived on (found by the hostile
// suite's delete_isakmp_unknown_cookies).
TEST_CASE("an authenticated ISAKMP Delete deletes only the SA its cookies name", "[exchange]") {
  Phase1Context p1;
  p1.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  p1.rcookie = {9, 10, 11, 12, 13, 14, 15, 16};
  wire::DeletePayload d;
  d.protocol = static_cast<uint8_t>(wire::ProtocolId::kIsakmp);
  d.spi_size = 16;
  Bytes other(16, 0xee);
  d.spis.push_back(other);
  auto foreign = informational::Evaluate(p1, true, {wire::MakePayload(d)});
  CHECK_FALSE(foreign.delete_phase1);
  CHECK(foreign.foreign_isakmp_deletes == 1);

  Bytes ours(p1.icookie.begin(), p1.icookie.end());
  ours.insert(ours.end(), p1.rcookie.begin(), p1.rcookie.end());
  d.spis.push_back(ours);
  auto mine = informational::Evaluate(p1, true, {wire::MakePayload(d)});
  CHECK(mine.delete_phase1);
  CHECK(mine.foreign_isakmp_deletes == 1);
}

}  // namespace
}  // namespace ike::isakmpd
