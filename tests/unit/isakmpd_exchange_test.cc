// Exchange-level checks without the SA manager: message ids, constant-time
// HASH comparison, and the initiator's check of the IDs returned in Quick
// Mode 2 (hole g), run on two exchanges that share one set of phase 1 keys.
#include <catch2/catch.hpp>
#include <deque>
#include <functional>

#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/informational.h"
#include "isakmpd/exchange/quick_mode.h"
#include "isakmpd/sa/message_ids.h"
#include "isakmpd/wire/sa_attributes.h"
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
    init.step = Phase1Step::kDone;
    init.local = Endpoint{*IpAddress::Parse("192.0.2.1"), 500};
    init.remote = Endpoint{*IpAddress::Parse("192.0.2.2"), 500};
    init.suite = IkeSuite{};
    const Bytes skeyid(20, 0x11), gxy(256, 0x22), cky(8, 0x33);
    init.keys = keymat::DerivePhase1(init.suite->hash, init.suite->cipher, skeyid, gxy, cky, cky);
    resp.role = Role::kResponder;
    resp.step = Phase1Step::kDone;
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
    if (edit_message1) edit_message1(*o1.send);
    wire::EncodePayloads(*o1.send);
    db::Selector a, b;
    a.set_subnet(ci);
    b.set_subnet(cr);
    qr.ids = {wire::MakePayload(SelectorIdPayload(a)), wire::MakePayload(SelectorIdPayload(b))};
    auto o2 = quick_mode::ResponderRecvHashSaNonceSendHashSaNonce(resp, qr, *o1.send, tools);
    REQUIRE(o2.send);
    wire::EncodePayloads(*o2.send);
    message2 = *o2.send;
    return quick_mode::Receive(init, qi, QuickModeStep::kHashSaNonceSent, *o2.send);
  }
  ike::testing::SeededRandom random;
  FreshDhKeys dh;
  Phase1Context init, resp;
  QuickModeExchange qi, qr;
  std::function<void(std::vector<wire::Payload>&)> edit_message1;  // before the responder reads it
  std::vector<wire::Payload> message2;                             // as the responder sent it
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

// RFC 2407 4.6.2.1: IPv6 selectors as the three IPv6 ID types, 16 octets per
// address (a subnet's mask too), read back as the same ranges; what
// strongSwan parses from them is checked in interop.strongswan_ipv6_test.
TEST_CASE("IPv6 selectors become ID_IPV6_ADDR, _SUBNET and _RANGE and read back", "[exchange]") {
  db::Selector host, subnet, range;
  host.set_address("2001:db8:a::1");
  subnet.set_subnet("2001:db8:a::/64");
  range.set_range("2001:db8:a::1-2001:db8:a::9");
  const wire::IdPayload h = SelectorIdPayload(host), s = SelectorIdPayload(subnet),
                        r = SelectorIdPayload(range, 6);
  CHECK(h.type == uint8_t(wire::IdType::kIpv6Addr));
  CHECK(h.data.size() == 16);
  CHECK(s.type == uint8_t(wire::IdType::kIpv6AddrSubnet));
  REQUIRE(s.data.size() == 32);
  CHECK(Bytes(s.data.begin() + 16, s.data.end()) ==
        Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(r.type == uint8_t(wire::IdType::kIpv6AddrRange));
  CHECK(r.data.size() == 32);
  CHECK(r.protocol == 6);
  CHECK(IdPayloadRange(h)->ToString() == "2001:db8:a::1-2001:db8:a::1");
  CHECK(IdPayloadRange(s)->ToString() == "2001:db8:a::-2001:db8:a:0:ffff:ffff:ffff:ffff");
  CHECK(IdPayloadRange(r)->ToString() == "2001:db8:a::1-2001:db8:a::9");
  CHECK(IdPayloadText(h) == "2001:db8:a::1");
  // an IPv4 selector stays IPv4 whatever the outer family
  db::Selector v4;
  v4.set_address("198.51.100.1");
  CHECK(SelectorIdPayload(v4).type == uint8_t(wire::IdType::kIpv4Addr));
}

// RFC 2407 4.5 and interop-strongswan.md 3.7a: a life duration of 0
// (strongSwan with rekey_time = 0) means the responder's policy, and the
// responder says so with RESPONDER-LIFETIME (RFC 2407 4.5.4).
TEST_CASE("Quick Mode: an offered lifetime of 0 means the responder's, announced",
          "[exchange][lifetime]") {
  QuickModePair p;
  p.qr.protection.set_lifetime_seconds(1800);
  p.edit_message1 = [](std::vector<wire::Payload>& message1) {
    auto& t = std::get<wire::SaPayload>(message1.at(1).body).proposals.at(0).transforms.at(0);
    std::erase_if(t.attributes, [](const wire::Attribute& a) { return a.type <= 2; });
    t.attributes.insert(t.attributes.begin(), {wire::Attribute::Basic(1, wire::kLifeTypeSeconds),
                                               wire::Attribute::Basic(2, 0)});  // Life-Duration: 0
  };
  auto o = p.Run("198.51.100.0/24", "203.0.113.0/24");
  REQUIRE_FALSE(o.failure);
  CHECK(p.qr.suite->life_seconds == 1800);
  CHECK(p.qi.suite->life_seconds == 1800);  // ours was the default 3600
  const wire::NotifyPayload* n = nullptr;
  for (const auto& pl : p.message2)
    if (auto* x = std::get_if<wire::NotifyPayload>(&pl.body)) n = x;
  REQUIRE(n);
  CHECK(n->type == uint16_t(wire::NotifyType::kResponderLifetime));
  CHECK(n->spi == Bytes{0, 0, 0x20, 0});  // the responder's inbound SPI
  auto life = wire::DecodeLifeNotifyData(n->protocol, n->data);
  REQUIRE(std::holds_alternative<wire::LifeDurations>(life));
  CHECK(std::get<wire::LifeDurations>(life) == wire::LifeDurations{1800, 0});
}

TEST_CASE("phase 1: an offered lifetime of 0 or none means ours, to be announced",
          "[exchange][lifetime]") {
  db::IkeProtection ours;
  auto* mine = ours.add_proposal();
  mine->set_encryption(db::AES_CBC);
  mine->set_key_length(128);
  mine->set_hash(db::SHA2_256);
  mine->set_auth_method(db::PRESHARED_KEY);
  mine->set_dh_group(db::MODP_2048);
  mine->set_lifetime_seconds(3600);
  mine->set_lifetime_kbytes(1000);
  for (bool explicit_zero : {true, false}) {
    CAPTURE(explicit_zero);
    wire::SaPayload offer = BuildIkeSa(ours);
    auto& attrs = offer.proposals[0].transforms[0].attributes;
    std::erase_if(attrs, [](const wire::Attribute& a) { return a.type >= 11 && a.type <= 12; });
    if (explicit_zero)
      attrs.insert(attrs.end(), {wire::Attribute::Basic(11, 1), wire::Attribute::Basic(12, 0)});
    wire::SaPayload reply;
    std::string why;
    auto suite = SelectIkeSuite(offer, ours, 60, &reply, &why);
    REQUIRE(suite);
    CHECK(suite->life_seconds == 3600);
    CHECK(suite->life_kbytes == 1000);
    CHECK(suite->life_shortened);
    // RFC 2409 5: the transform goes back as offered.
    CHECK(wire::EncodeAttributeList(reply.proposals[0].transforms[0].attributes) ==
          wire::EncodeAttributeList(attrs));
  }
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
