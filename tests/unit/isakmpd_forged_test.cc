// Engine-level checks of protocol holes (issue 7, item 4 c, d, e, j): after
// a real Main Mode between two engines, the test plays A itself and sends B
// protected messages it forges with A's keys (derived here from the
// captured Main Mode, A's DH key and the PSK): Quick Mode 1 with bad nonces
// or a non-contiguous subnet mask, and a Delete with a 200-octet SPI. A
// well-formed control message shows the forging itself is right, so each
// "no SA" result is the engine's refusal and not a broken test.
// The lifetime choice (item e) is checked on the suite functions.
#include <google/protobuf/text_format.h>

#include <catch2/catch.hpp>
#include <deque>
#include <functional>

#include "ikev1/keymat.h"
#include "isakmpd/exchange/identity.h"
#include "isakmpd/exchange/suite.h"
#include "isakmpd/sa/sa_manager.h"
#include "tests/lib/fakes.h"

namespace ike::isakmpd {
namespace {

using testing::FakeClock;
using testing::SeededRandom;

const char* kHostA = "192.0.2.1";
const char* kHostB = "192.0.2.2";
const char* kPsk = "holes-secret";

db::TunnelDatabase Database(const std::string& local, const std::string& remote,
                            const std::string& local_net, const std::string& remote_net) {
  const std::string text = R"(
    settings { retransmit_interval_ms: 1000 retransmit_tries: 3 }
    ike_protection { name: "p1" mode: MAIN proposal {
      encryption: AES_CBC key_length: 128 hash: SHA2_256 auth_method: PRESHARED_KEY
      dh_group: MODP_2048 } }
    ike_tunnel { name: "t1" local_address: ")" +
                           local + R"(" remote_address: ")" + remote + R"(" protection: "p1" }
    ipsec_protection { name: "p2" pfs_group: MODP_2048
      proposal { encryption: ESP_AES_CBC key_length: 128 integrity: HMAC_SHA2_256 } }
    ipsec_tunnel { name: "net" ike_tunnel: "t1" protection: "p2"
                   local { subnet: ")" +
                           local_net + R"(" } remote { subnet: ")" + remote_net + R"(" } }
  )";
  db::TunnelDatabase d;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &d));
  return d;
}

db::TunnelDatabase DatabaseA() {
  return Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24");
}
db::TunnelDatabase DatabaseB() {
  return Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24");
}

// A DH key pair shared with the test, which needs A's g^xy.
class SharedDh : public crypto::DhKeyPair {
 public:
  explicit SharedDh(std::shared_ptr<crypto::DhKeyPair> inner) : inner_(std::move(inner)) {}
  crypto::DhGroup group() const override { return inner_->group(); }
  const Bytes& PublicValue() const override { return inner_->PublicValue(); }
  Result<SecretBytes> ComputeShared(ByteView peer) const override {
    return inner_->ComputeShared(peer);
  }

 private:
  std::shared_ptr<crypto::DhKeyPair> inner_;
};

class KeptDhKeys : public DhKeySource {
 public:
  Result<std::unique_ptr<crypto::DhKeyPair>> Take(crypto::DhGroup group) override {
    auto k = crypto::DhKeyPair::Generate(group);
    REQUIRE(k.ok());
    std::shared_ptr<crypto::DhKeyPair> shared = std::move(k.value());
    kept.push_back(shared);
    return std::unique_ptr<crypto::DhKeyPair>(std::make_unique<SharedDh>(shared));
  }
  std::vector<std::shared_ptr<crypto::DhKeyPair>> kept;
};

struct Packet {
  Endpoint from, to;
  Bytes data;
};

struct Host : PacketSink, EventSink, CredentialSource {
  Host(FakeClock& clock, std::deque<Packet>& wire, uint64_t seed, DhKeySource* dh)
      : clock(clock),
        wire(wire),
        random(seed),
        manager(SaManagerDeps{&clock, &clock, &random, this, this, this, dh}) {}
  bool SendPacket(const Endpoint& from, const Endpoint& to, ByteView packet) override {
    wire.push_back({from, to, Bytes(packet.begin(), packet.end())});
    return true;
  }
  void Emit(ipc::Envelope event) override { events.push_back(std::move(event)); }
  void RequestSkeyid(const ipc::SkeyidRequest& r,
                     std::function<void(Result<SecretBytes>)> done) override {
    SecretBytes s = keymat::SkeyidPsk(crypto::HashAlg::kSha256, View(std::string(kPsk)),
                                      View(r.ni()), View(r.nr()));
    clock.Schedule(Duration(0), [done, s] { done(s); });
  }
  int Count(const std::function<bool(const ipc::Envelope&)>& pred) const {
    int n = 0;
    for (const auto& e : events) n += pred(e);
    return n;
  }
  FakeClock& clock;
  std::deque<Packet>& wire;
  SeededRandom random;
  SaManager manager;
  std::vector<ipc::Envelope> events;
};

// What the test knows as A once Main Mode is done.
struct AsA {
  wire::Cookie icookie{}, rcookie{};
  keymat::Phase1Keys keys;
  Bytes last_phase1_block;  // of B's message 6: the phase 2 IV seed
};

struct Lab {
  Lab() : a(clock, wire, 1, &dh_a), b(clock, wire, 2, nullptr) {
    a.manager.SetDatabase(DatabaseA());
    b.manager.SetDatabase(DatabaseB());
  }
  void Run() {
    for (int guard = 0; guard < 1000 && (clock.RunDue(), !wire.empty()); ++guard) {
      Packet p = std::move(wire.front());
      wire.pop_front();
      seen.push_back(p);
      (p.to.address.ToString() == kHostA ? a : b).manager.OnPacket(p.to, p.from, p.data);
    }
  }
  // Main Mode (and, if |phase2|, one Quick Mode); then A's keys from what
  // crossed the wire.
  AsA Establish(bool phase2) {
    const auto d = DatabaseA();
    ipc::Phase1Request r1;
    r1.set_tunnel(1);
    *r1.mutable_definition() = d.ike_tunnel(0);
    *r1.mutable_protection() = d.ike_protection(0);
    REQUIRE(a.manager.StartPhase1(r1).has_ack());
    Run();
    if (phase2) {
      ipc::Phase2Request r2;
      r2.set_tunnel(1);
      r2.set_phase1_tunnel(1);
      *r2.mutable_definition() = d.ipsec_tunnel(0);
      *r2.mutable_protection() = d.ipsec_protection(0);
      REQUIRE(a.manager.StartPhase2(r2).has_ack());
      Run();
    }
    return Derive();
  }
  AsA Derive() {
    AsA as;
    Bytes g_xi, g_xr, ni, nr;
    for (const auto& p : seen) {
      auto h = wire::ParseHeader(p.data);
      const auto& hdr = std::get<wire::Header>(h);
      if (hdr.exchange != wire::ExchangeType::kIdentityProtection) continue;
      const bool from_a = p.from.address.ToString() == kHostA;
      if (hdr.flags & wire::kFlagEncryption) {
        if (!from_a) as.last_phase1_block.assign(p.data.end() - 16, p.data.end());
        continue;
      }
      auto parsed =
          wire::ParsePayloads(hdr.next_payload, ByteView(p.data).subspan(wire::kHeaderLength));
      const auto& payloads = std::get<0>(parsed);
      if (auto* ke = wire::FindBody<wire::KeyExchangePayload>(payloads)) {
        (from_a ? g_xi : g_xr) = ke->data;
        (from_a ? ni : nr) = wire::FindBody<wire::NoncePayload>(payloads)->data;
        as.icookie = hdr.icookie;
        as.rcookie = hdr.rcookie;
      }
    }
    REQUIRE(!g_xr.empty());
    REQUIRE(!dh_a.kept.empty());
    auto g_xy = dh_a.kept[0]->ComputeShared(g_xr);
    REQUIRE(g_xy.ok());
    const SecretBytes skeyid =
        keymat::SkeyidPsk(crypto::HashAlg::kSha256, View(std::string(kPsk)), ni, nr);
    as.keys = keymat::DerivePhase1(crypto::HashAlg::kSha256, crypto::CipherAlg::kAes128Cbc,
                                   skeyid.view(), g_xy->view(), as.icookie, as.rcookie);
    return as;
  }
  // Sends B a protected message as A: HDR*, HASH(1), |rest| (RFC 2409 5.5,
  // 5.7), HASH(1) over |rest| as sent.
  void SendAsA(const AsA& as, wire::ExchangeType exchange, uint32_t message_id,
               std::vector<wire::Payload> rest) {
    const Bytes rest_bytes = wire::EncodePayloads(rest);
    const auto hash_fn = exchange == wire::ExchangeType::kQuickMode ? keymat::QuickModeHash1
                                                                    : keymat::InformationalHash;
    Bytes hash = hash_fn(crypto::HashAlg::kSha256, as.keys.skeyid_a.view(), message_id, rest_bytes);
    std::vector<wire::Payload> all{wire::MakePayload(wire::HashPayload{std::move(hash)})};
    for (auto& p : rest) all.push_back(std::move(p));
    Bytes body = wire::EncodePayloads(all);
    body.resize((body.size() + 15) / 16 * 16, 0);
    const Bytes iv =
        keymat::Phase2Iv(crypto::HashAlg::kSha256, as.last_phase1_block, message_id, 16);
    auto sealed =
        crypto::CbcEncrypt(crypto::CipherAlg::kAes128Cbc, as.keys.enc_key.view(), iv, body);
    REQUIRE(sealed.ok());
    wire::Header h;
    h.icookie = as.icookie;
    h.rcookie = as.rcookie;
    h.next_payload = wire::PayloadType::kHash;
    h.exchange = exchange;
    h.flags = wire::kFlagEncryption;
    h.message_id = message_id;
    h.length = static_cast<uint32_t>(wire::kHeaderLength + sealed->size());
    Bytes packet = wire::EncodeHeader(h);
    Append(packet, *sealed);
    const Endpoint from{*IpAddress::Parse(kHostA), 500}, to{*IpAddress::Parse(kHostB), 500};
    b.manager.OnPacket(to, from, packet);
  }
  // B's answers since |from| that are Quick Mode messages.
  int QuickModesFromB(size_t from) const {
    int n = 0;
    for (size_t i = from; i < seen.size(); ++i) {
      auto h = wire::ParseHeader(seen[i].data);
      n += seen[i].from.address.ToString() == kHostB &&
           std::get<wire::Header>(h).exchange == wire::ExchangeType::kQuickMode;
    }
    return n;
  }

  FakeClock clock;
  std::deque<Packet> wire;
  KeptDhKeys dh_a;
  Host a, b;
  std::vector<Packet> seen;
};

// QM1 payloads after HASH(1): SA, Ni (|nonce_len| octets), KE, IDci, IDcr.
std::vector<wire::Payload> QuickMode1Rest(size_t nonce_len, const db::Selector& local,
                                          const db::Selector& remote) {
  const auto d = DatabaseA();
  std::vector<wire::Payload> rest;
  rest.push_back(wire::MakePayload(BuildEspSa(d.ipsec_protection(0), 0x01020304, 1)));
  rest.push_back(wire::MakePayload(wire::NoncePayload{Bytes(nonce_len, 0x4e)}));
  auto ke = crypto::DhKeyPair::Generate(crypto::DhGroup::kModp2048);
  REQUIRE(ke.ok());
  rest.push_back(wire::MakePayload(wire::KeyExchangePayload{(*ke)->PublicValue()}));
  rest.push_back(wire::MakePayload(SelectorIdPayload(local)));
  rest.push_back(wire::MakePayload(SelectorIdPayload(remote)));
  return rest;
}

std::vector<wire::Payload> QuickMode1Rest(size_t nonce_len) {
  const auto d = DatabaseA();
  return QuickMode1Rest(nonce_len, d.ipsec_tunnel(0).local(), d.ipsec_tunnel(0).remote());
}

// Item c: RFC 2409 5.5 nonces are 8 to 256 octets in Quick Mode too.
TEST_CASE("Quick Mode 1 with a 0- or 300-octet nonce gets no SA", "[engine][holes]") {
  Lab lab;
  const AsA as = lab.Establish(false);
  REQUIRE(lab.b.manager.isakmp_sa_count() == 1);

  // HDR*, HASH(1), SA, Ni(16), KE, IDci, IDcr -->  <-- HDR*, HASH(2), ...
  size_t mark = lab.seen.size();
  lab.SendAsA(as, wire::ExchangeType::kQuickMode, 0x11111111, QuickMode1Rest(16));
  lab.Run();
  REQUIRE(lab.QuickModesFromB(mark) == 1);  // the forging is right
  REQUIRE(lab.b.manager.quick_mode_count() == 1);

  for (size_t len : {size_t{0}, size_t{300}}) {
    INFO("nonce of " << len << " octets");
    mark = lab.seen.size();
    // HDR*, HASH(1), SA, Ni(len), KE, IDci, IDcr -->  (no answer, no SA)
    lab.SendAsA(as, wire::ExchangeType::kQuickMode, 0x22222222 + uint32_t(len),
                QuickMode1Rest(len));
    lab.Run();
    CHECK(lab.QuickModesFromB(mark) == 0);
    CHECK(lab.b.manager.quick_mode_count() == 1);  // only the control's
  }
  // Only the control's inbound SA, reported as its message 2 left; none
  // established.
  auto reports = [&](bool early) {
    return lab.b.Count([early](const ipc::Envelope& e) {
      return e.has_phase2_established() && e.phase2_established().before_message3() == early;
    });
  };
  CHECK(reports(true) == 1);
  CHECK(reports(false) == 0);
}

// Item j: an ID_IPV4_ADDR_SUBNET with mask 255.0.255.0 was read as /8.
TEST_CASE("Quick Mode 1 with a non-contiguous subnet mask gets no SA", "[engine][holes]") {
  Lab lab;
  const AsA as = lab.Establish(false);
  const auto d = DatabaseA();
  auto rest = QuickMode1Rest(16);
  // IDci 198.51.100.0 / 255.255.255.1: its leading ones were read as /24,
  // exactly B's policy, so it was accepted (and 255.0.255.0 as /8). A mask
  // that is not a prefix names no subnet, however it would be read.
  auto& idci = std::get<wire::IdPayload>(rest[3].body);
  idci.data = {198, 51, 100, 0, 255, 255, 255, 1};
  const size_t mark = lab.seen.size();
  lab.SendAsA(as, wire::ExchangeType::kQuickMode, 0x33333333, std::move(rest));
  lab.Run();
  CHECK(lab.QuickModesFromB(mark) == 0);
  CHECK(lab.b.manager.quick_mode_count() == 0);
}

// Item d: a Delete's SPI is 4 octets for ESP; one of 200 whose last 4 octets
// are a live SA's SPI removed that SA.
TEST_CASE("a Delete with a 200-octet SPI removes nothing", "[engine][holes]") {
  Lab lab;
  const AsA as = lab.Establish(true);
  const ipc::Envelope* est = nullptr;
  for (const auto& e : lab.b.events)
    if (e.has_phase2_established()) est = &e;
  REQUIRE(est != nullptr);
  // A deletes its inbound SA, i.e. B's outbound (RFC 2408 3.15).
  const uint32_t spi = est->phase2_established().sa(1).spi();
  auto deleted = [](const ipc::Envelope& e) { return e.has_sa_deleted(); };

  wire::DeletePayload bad;
  bad.protocol = static_cast<uint8_t>(wire::ProtocolId::kIpsecEsp);
  bad.spi_size = 200;
  Bytes long_spi(196, 0);
  for (int shift : {24, 16, 8, 0}) long_spi.push_back(uint8_t(spi >> shift));
  bad.spis = {long_spi};
  // HDR*, HASH(1), D(ESP, SPI size 200) -->
  lab.SendAsA(as, wire::ExchangeType::kInformational, 0x44444444, {wire::MakePayload(bad)});
  lab.Run();
  CHECK(lab.b.Count(deleted) == 0);
  CHECK(lab.b.manager.quick_mode_count() == 1);

  // Control: the same SPI in a well-formed Delete does remove it.
  wire::DeletePayload good = bad;
  good.spi_size = 4;
  good.spis = {Bytes(long_spi.end() - 4, long_spi.end())};
  lab.SendAsA(as, wire::ExchangeType::kInformational, 0x55555555, {wire::MakePayload(good)});
  lab.Run();
  CHECK(lab.b.Count(deleted) == 1);
  CHECK(lab.b.manager.quick_mode_count() == 0);
}

// ---- item e: the lifetime chosen from an offer ----------------------------

constexpr uint32_t kMinLife = tunneldb::kMinLifetimeSeconds;

wire::SaPayload IkeOffer(uint64_t life_seconds) {
  wire::IkeTransformAttrs a;
  a.encryption = 7;
  a.key_length = 128;
  a.hash = 4;
  a.auth_method = 1;
  a.group = 14;
  wire::Transform t = wire::EncodeIkeTransform(1, a);
  // Life type seconds, then the duration exactly as given (a 5-octet
  // variable attribute for 2^32).
  t.attributes.push_back(wire::Attribute::Basic(11, wire::kLifeTypeSeconds));
  t.attributes.push_back(wire::Attribute::Integer(12, life_seconds));
  wire::Proposal p;
  p.protocol = static_cast<uint8_t>(wire::ProtocolId::kIsakmp);
  p.transforms = {t};
  wire::SaPayload sa;
  sa.proposals = {p};
  // Through the codec, so the test sees what a peer's bytes decode to.
  std::vector<wire::Payload> chain{wire::MakePayload(sa)};
  const Bytes bytes = wire::EncodePayloads(chain);
  auto parsed = wire::ParsePayloads(wire::PayloadType::kSa, bytes);
  return std::get<wire::SaPayload>(std::get<0>(parsed).at(0).body);
}

uint32_t ChosenIkeLife(uint64_t offered, uint32_t ours) {
  auto prot = DatabaseB().ike_protection(0);
  prot.mutable_proposal(0)->set_lifetime_seconds(ours);
  wire::SaPayload reply;
  std::string why;
  auto suite = SelectIkeSuite(IkeOffer(offered), prot, kMinLife, &reply, &why);
  REQUIRE(suite);
  return suite->life_seconds;
}

TEST_CASE("phase 1: a proposed lifetime of 2^32 s is capped, never 0", "[engine][holes]") {
  const Bytes five = wire::Attribute::Integer(12, uint64_t{1} << 32).data;
  CHECK(five == Bytes{1, 0, 0, 0, 0});  // the 5-octet attribute of the issue
  CHECK(ChosenIkeLife(uint64_t{1} << 32, 28800) == 28800);
  CHECK(ChosenIkeLife(uint64_t{1} << 32, 0) == kDefaultIkeLifetime);  // 0: default 28800
  CHECK(ChosenIkeLife(86400, 3600) == 3600);                          // ours is shorter
  CHECK(ChosenIkeLife(600, 3600) == 600);                             // theirs is shorter
  CHECK(ChosenIkeLife(0, 3600) == 3600);                              // none proposed
  // The initiator applies the same cap to the responder's answer.
  auto prot = DatabaseA().ike_protection(0);
  prot.mutable_proposal(0)->set_lifetime_seconds(7200);
  std::string why;
  auto accepted = AcceptIkeReply(IkeOffer(uint64_t{1} << 32), prot, kMinLife, &why);
  REQUIRE(accepted);
  CHECK(accepted->life_seconds == 7200);
}

wire::SaPayload EspOffer(uint64_t life_seconds, uint64_t life_kbytes) {
  wire::IpsecTransformAttrs a;
  a.transform_id = 12;
  a.key_length = 128;
  a.auth_algorithm = 5;
  a.encapsulation = wire::kEncapsulationTunnel;
  a.group = 14;
  wire::Transform t = wire::EncodeIpsecTransform(1, a);
  t.attributes.insert(t.attributes.begin(), {wire::Attribute::Basic(1, wire::kLifeTypeSeconds),
                                             wire::Attribute::Integer(2, life_seconds),
                                             wire::Attribute::Basic(1, wire::kLifeTypeKilobytes),
                                             wire::Attribute::Integer(2, life_kbytes)});
  wire::Proposal p;
  p.protocol = static_cast<uint8_t>(wire::ProtocolId::kIpsecEsp);
  p.spi = {1, 2, 3, 4};
  p.transforms = {t};
  wire::SaPayload sa;
  sa.proposals = {p};
  std::vector<wire::Payload> chain{wire::MakePayload(sa)};
  const Bytes bytes = wire::EncodePayloads(chain);
  auto parsed = wire::ParsePayloads(wire::PayloadType::kSa, bytes);
  return std::get<wire::SaPayload>(std::get<0>(parsed).at(0).body);
}

TEST_CASE("phase 2: a proposed lifetime of 2^32 s is capped, never 0", "[engine][holes]") {
  auto prot = DatabaseB().ipsec_protection(0);
  prot.set_lifetime_seconds(1800);
  prot.set_lifetime_kbytes(100000);
  auto choose = [&](uint64_t secs, uint64_t kbytes) {
    wire::SaPayload reply;
    uint32_t peer_spi = 0;
    std::string why;
    auto suite = SelectEspSuite(EspOffer(secs, kbytes), prot, 1, 0x0a0b0c0d, kMinLife, &reply,
                                &peer_spi, &why);
    REQUIRE(suite);
    return std::make_pair(suite->life_seconds, suite->life_kbytes);
  };
  CHECK(choose(uint64_t{1} << 32, uint64_t{1} << 40) == std::make_pair(1800u, uint64_t{100000}));
  CHECK(choose(600, 5000) == std::make_pair(600u, uint64_t{5000}));
  CHECK(choose(7200, 0) == std::make_pair(1800u, uint64_t{100000}));
  prot.set_lifetime_seconds(0);  // default 3600
  CHECK(choose(uint64_t{1} << 32, 1).first == kDefaultIpsecLifetime);
  std::string why;
  uint32_t peer_spi = 0;
  auto accepted =
      AcceptEspReply(EspOffer(uint64_t{1} << 32, 0), prot, 1, kMinLife, &peer_spi, &why);
  REQUIRE(accepted);
  CHECK(accepted->life_seconds == kDefaultIpsecLifetime);
}

}  // namespace
}  // namespace ike::isakmpd
