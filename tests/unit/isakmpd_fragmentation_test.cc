// IKE fragmentation in the engine (issue 10.8), two engines over the fake
// network: the FRAGMENTATION vendor ID both ways, messages cut when they do
// not fit settings.fragment_size (Main Mode 3/4 and Quick Mode with
// MODP_4096, Aggressive Mode 1 with FORCE), retransmission of fragments,
// the OFF switch, and hostile fragments (never a crash, never a lost SA).
#include <catch2/catch.hpp>

#include "isakmpd/wire/fragment.h"
#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd {
namespace {

using testing::Database;
using testing::HeaderOf;
using testing::kEsp;
using testing::kHostA;
using testing::kHostB;
using testing::Packet;
using testing::Pair;

const std::string kIke4096 =
    "encryption: AES_CBC key_length: 256 hash: SHA2_256 "
    "auth_method: PRESHARED_KEY dh_group: MODP_4096";
constexpr uint8_t kFragmentationVid[] = {0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85,
                                         0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3};

struct Settings {
  db::Fragmentation mode = db::FRAGMENTATION_UNSPECIFIED;
  uint32_t size = 0;
};

db::TunnelDatabase Definitions(const char* local, const char* remote, const char* local_net,
                               const char* remote_net, db::IkeMode mode, const Settings& s) {
  db::TunnelDatabase d =
      Database(local, remote, local_net, remote_net, kIke4096, kEsp, "MODP_4096");
  d.mutable_ike_protection(0)->set_mode(mode);
  if (mode == db::AGGRESSIVE) {  // Aggressive Mode finds the definition by identity
    auto* t = d.mutable_ike_tunnel(0);
    const bool is_a = std::string(local) == kHostA;
    t->mutable_local_id()->set_type(db::FQDN);
    t->mutable_local_id()->set_value(is_a ? "a.example" : "b.example");
    t->mutable_remote_id()->set_type(db::FQDN);
    t->mutable_remote_id()->set_value(is_a ? "b.example" : "a.example");
  }
  d.mutable_settings()->set_fragmentation(s.mode);
  d.mutable_settings()->set_fragment_size(s.size);
  return d;
}

// A initiates to B; both use MODP_4096 in both phases (PFS), so messages 3
// and 4 and the Quick Mode messages are 600 to 700 octets.
struct FragmentPair : Pair {
  FragmentPair(Settings sa, Settings sb, db::IkeMode mode = db::MAIN) {
    db_a = Definitions(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", mode, sa);
    db_b = Definitions(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", mode, sb);
    a.manager.SetDatabase(db_a);
    b.manager.SetDatabase(db_b);
  }
  void Start() {
    ipc::Phase1Request r;
    r.set_tunnel(1);
    *r.mutable_definition() = db_a.ike_tunnel(0);
    *r.mutable_protection() = db_a.ike_protection(0);
    REQUIRE(a.manager.StartPhase1(r).has_ack());
  }
  void StartPhase2() { REQUIRE(a.manager.StartPhase2(Phase2(db_a)).has_ack()); }
  // Runs and records every datagram that crossed the wire.
  void RunRecording(std::function<bool(const Packet&)> drop = {}) {
    Run([&](const Packet& p) {
      sent.push_back(p);
      return drop && drop(p);
    });
  }
  void Wait(int seconds, std::function<bool(const Packet&)> drop = {}) {
    for (int i = 0; i < seconds * 4; ++i) {
      clock.Advance(250);
      RunRecording(drop);
    }
  }
  size_t FragmentsFrom(const char* host) const {
    size_t n = 0;
    for (const Packet& p : sent) n += IsFragment(p) && p.from.address.ToString() == host ? 1 : 0;
    return n;
  }
  static bool IsFragment(const Packet& p) {
    return static_cast<uint8_t>(HeaderOf(p).next_payload) == wire::kFragmentPayloadType;
  }
  db::TunnelDatabase db_a, db_b;
  std::vector<Packet> sent;
};

bool AnnouncesFragmentation(const Packet& p) {
  const wire::Header h = HeaderOf(p);
  auto parsed = wire::ParsePayloads(h.next_payload, ByteView(p.data).subspan(wire::kHeaderLength));
  if (!std::holds_alternative<std::vector<wire::Payload>>(parsed)) return false;
  for (const auto& payload : std::get<0>(parsed))
    if (const auto* v = std::get_if<wire::VendorIdPayload>(&payload.body))
      if (v->data.size() == 20 &&
          std::equal(std::begin(kFragmentationVid), std::end(kFragmentationVid), v->data.begin()))
        return v->data[16] == 0x80;  // the flags strongSwan and racoon send
  return false;
}

Endpoint At(const char* host) { return Endpoint{*IpAddress::Parse(host), 500}; }

TEST_CASE("both ends announce FRAGMENTATION, and nothing is cut while it fits", "[fragmentation]") {
  FragmentPair net({}, {});  // defaults: ON, 1280
  net.Start();
  net.RunRecording();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  REQUIRE(net.sent.size() >= 2);
  CHECK(AnnouncesFragmentation(net.sent[0]));  // Main Mode 1
  CHECK(AnnouncesFragmentation(net.sent[1]));  // Main Mode 2: the responder's answer
  CHECK(net.FragmentsFrom(kHostA) + net.FragmentsFrom(kHostB) == 0);
  CHECK(net.a.manager.counters().messages_fragmented == 0);
}

TEST_CASE("with fragment_size 576, MODP_4096 messages go in fragments and the tunnel comes up",
          "[fragmentation]") {
  FragmentPair net({db::FRAGMENTATION_ON, 576}, {db::FRAGMENTATION_ON, 576});
  net.Start();
  net.RunRecording();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  net.StartPhase2();
  net.RunRecording();
  REQUIRE(net.a.Established(2));
  REQUIRE(net.b.Established(2));
  // Main Mode 3 and 4 (KE 512 octets) and Quick Mode 1 and 2 (PFS) were cut.
  CHECK(net.FragmentsFrom(kHostA) >= 4);
  CHECK(net.FragmentsFrom(kHostB) >= 4);
  for (const Packet& p : net.sent) {
    CHECK(p.data.size() <= 576 - 20 - 8);  // the IPv4 and UDP headers fit too
    if (FragmentPair::IsFragment(p)) {
      // Every carrier says Main Mode and message ID 0, as strongSwan wants.
      CHECK(HeaderOf(p).exchange == wire::ExchangeType::kIdentityProtection);
      CHECK(HeaderOf(p).message_id == 0);
    }
  }
  CHECK(net.a.manager.counters().messages_fragmented >= 2);
  CHECK(net.b.manager.counters().messages_reassembled >= 2);
  CHECK(net.a.manager.counters().messages_reassembled >= 2);
  CHECK(net.a.manager.counters().fragments_dropped == 0);
  CHECK(net.b.manager.counters().fragments_dropped == 0);
}

TEST_CASE("a lost fragment: the whole message is sent again under the same fragment ID",
          "[fragmentation]") {
  FragmentPair net({db::FRAGMENTATION_ON, 576}, {db::FRAGMENTATION_ON, 576});
  bool dropped = false;
  std::optional<uint16_t> first_id;
  bool same_id_again = false;
  net.Start();
  net.Wait(6, [&](const Packet& p) {
    if (!FragmentPair::IsFragment(p) || p.from.address.ToString() != kHostA) return false;
    const auto f = std::get<wire::Fragment>(wire::ParseFragment(p.data));
    if (!first_id) first_id = f.id;
    if (dropped && f.id == *first_id) same_id_again = true;
    if (!dropped && f.number == 2) return dropped = true;  // Main Mode 3's second slice
    return false;
  });
  CHECK(dropped);
  CHECK(same_id_again);
  CHECK(net.a.Established(1));
  CHECK(net.b.Established(1));
}

TEST_CASE("FORCE cuts Aggressive Mode 1 before the peer has said anything", "[fragmentation]") {
  FragmentPair net({db::FRAGMENTATION_FORCE, 576}, {}, db::AGGRESSIVE);
  net.Start();
  net.RunRecording();
  REQUIRE(net.a.Established(1));
  REQUIRE(net.b.Established(1));
  REQUIRE_FALSE(net.sent.empty());
  CHECK(FragmentPair::IsFragment(net.sent[0]));
  CHECK(HeaderOf(net.sent[0]).exchange == wire::ExchangeType::kAggressive);
}

TEST_CASE("ON does not cut for a peer that did not announce it", "[fragmentation]") {
  FragmentPair net({db::FRAGMENTATION_ON, 576}, {db::FRAGMENTATION_OFF, 576});
  net.Start();
  net.RunRecording();
  REQUIRE(net.a.Established(1));  // Main Mode 3 went whole (and IP would fragment it)
  CHECK(AnnouncesFragmentation(net.sent[0]));
  CHECK_FALSE(AnnouncesFragmentation(net.sent[1]));  // OFF: no vendor ID
  CHECK(net.FragmentsFrom(kHostA) + net.FragmentsFrom(kHostB) == 0);
}

TEST_CASE("OFF drops fragments, so a FORCE peer does not get in", "[fragmentation]") {
  FragmentPair net({db::FRAGMENTATION_FORCE, 576}, {db::FRAGMENTATION_OFF, 576});
  net.Start();
  net.Wait(10);
  CHECK_FALSE(net.b.Established(1));
  CHECK(net.b.manager.counters().fragments_dropped > 0);
  CHECK(net.b.manager.counters().messages_reassembled == 0);
}

// ---- hostile fragments, straight into B (listening, no SA)

Bytes Carrier(const wire::Cookie& icookie, uint16_t id, uint8_t number, bool last, Bytes slice) {
  wire::Header h;
  h.icookie = icookie;
  h.next_payload = static_cast<wire::PayloadType>(wire::kFragmentPayloadType);
  h.exchange = wire::ExchangeType::kIdentityProtection;
  h.length = static_cast<uint32_t>(wire::kFragmentOverhead + slice.size());
  Bytes p = wire::EncodeHeader(h);
  const uint16_t len = static_cast<uint16_t>(8 + slice.size());
  Append(p, Bytes{0, 0, uint8_t(len >> 8), uint8_t(len), uint8_t(id >> 8), uint8_t(id), number,
                  uint8_t(last ? 1 : 0)});
  Append(p, slice);
  return p;
}

TEST_CASE("hostile fragments are dropped and counted, and the daemon carries on",
          "[fragmentation]") {
  FragmentPair net({}, {});
  net.Start();
  net.RunRecording();
  REQUIRE(net.b.Established(1));
  SaManager& b = net.b.manager;
  const auto dropped = [&] { return b.counters().fragments_dropped; };
  const wire::Cookie c{1, 2, 3, 4, 5, 6, 7, 8};

  SECTION("malformed: number 0, empty, a second payload, a short header") {
    const uint64_t before = dropped();
    b.OnPacket(At(kHostB), At(kHostA), Carrier(c, 1, 0, true, Bytes(10, 1)));
    b.OnPacket(At(kHostB), At(kHostA), Carrier(c, 1, 1, true, {}));
    Bytes next_payload = Carrier(c, 1, 1, true, Bytes(10, 1));
    next_payload[28] = 5;  // the fragment payload says another follows
    b.OnPacket(At(kHostB), At(kHostA), next_payload);
    Bytes short_one = Carrier(c, 1, 1, true, Bytes(10, 1));
    short_one.resize(31);
    short_one[27] = 31;
    b.OnPacket(At(kHostB), At(kHostA), short_one);
    CHECK(dropped() - before == 4);
  }
  SECTION("a rebuilt message that is itself a fragment, or names other cookies") {
    const uint64_t before = dropped();
    const Bytes nested = Carrier(c, 9, 1, true, Bytes(10, 1));
    b.OnPacket(At(kHostB), At(kHostA), Carrier(c, 2, 1, true, nested));
    const wire::Cookie other{8, 7, 6, 5, 4, 3, 2, 1};
    const Bytes foreign = Carrier(other, 9, 1, true, Bytes(10, 1));
    b.OnPacket(At(kHostB), At(kHostA), Carrier(c, 3, 1, true, foreign));
    CHECK(dropped() - before == 2);
    CHECK(b.counters().messages_reassembled == 0);
  }
  SECTION("garbage that reassembles is an ordinary bad message") {
    b.OnPacket(At(kHostB), At(kHostA), Carrier(c, 4, 1, false, Bytes(100, 0xab)));
    b.OnPacket(At(kHostB), At(kHostA), Carrier(c, 4, 2, true, Bytes(100, 0xcd)));
    CHECK(b.counters().messages_reassembled == 0);  // no ISAKMP header inside: dropped
    CHECK(dropped() == 1);
  }
  SECTION("a flood of fragments that never complete stays bounded") {
    for (uint32_t i = 0; i < 5000; ++i) {
      const wire::Cookie ci{uint8_t(i), uint8_t(i >> 8), 3, 4, 5, 6, 7, 8};
      b.OnPacket(At(kHostB), At(kHostA), Carrier(ci, uint16_t(i), 1, false, Bytes(1000, 1)));
    }
    CHECK(b.counters().fragments_received >= 5000);
    CHECK(b.fragments_pending() <= 64);  // the oldest gave way
  }
  // Whatever came in, the SA with A is still there and still works.
  CHECK(b.isakmp_sa_count() == 1);
  net.StartPhase2();
  net.RunRecording();
  CHECK(net.a.Established(2));
}

}  // namespace
}  // namespace ike::isakmpd
