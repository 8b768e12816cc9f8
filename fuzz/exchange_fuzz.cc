// libFuzzer target for the IKEv1 engine as a responder (isakmpd/sa SaManager,
// public API only) in a fake world: fake clock and timers, seeded randomness,
// fixed DH key pairs, an in-process credential source, packets and events
// recorded in memory.
//
// Reaching the deep states: at start-up a deterministic in-process initiator
// engine negotiates Main Mode and Quick Mode with a responder engine, and the
// initiator's datagrams are recorded (the genuine prefix). Because the
// responder is deterministic (same seed, same DH keys), a fresh responder fed
// the first k of these datagrams reaches the same state every time, and the
// fuzz input supplies the next datagram:
//   stage 0  nothing yet            (next: Main Mode 1 or Aggressive Mode 1)
//   stage 1  after MM1 -> MM2       (next: MM3, plaintext KE, Ni, NAT-D)
//   stage 2  after MM3 -> MM4       (next: MM5, encrypted: IDii, HASH_I)
//   stage 3  after MM5 -> MM6       (next: QM1 or an Informational)
//   stage 4  after QM1 -> QM2       (next: QM3, HASH(3))
//   stage 5  after QM3, SA is up    (next: anything on the live ISAKMP SA)
// The harness knows every key (it holds the DH private keys and the PSK), so
// the input can give the next message's plaintext and let the harness add
// the header with the SA's cookies, encrypt it with the right IV (RFC 2409
// Appendix B) and, on request, put a correct HASH(1) in front (RFC 2409 5.5,
// 5.7): mutations then reach the handlers behind decryption and HASH checks.
//
// Input layout (kPrelude octets, then the body):
//   [0] stage (mod 6)
//   [1] mode: 0 raw (the body is the whole datagram), 1 header + plaintext
//       body, 2 header + encrypted body, 3 as 2 with HASH(1) prepended
//   [2] exchange type, [3] next payload (of the header, or after HASH(1))
//   [4..7] message id (big-endian; stage 4 uses QM1's when it is 0)
//       (mod 4); bit 2: delivered as IKEv1 fragments (payload 132, issue
//       10.8) of kFragmentOverhead + 1 + 24 * bits 3-6 octets, in reverse
//       order if bit 7
//   [8] bit 0: both endpoints on port 4500 (NAT-T); bits 1-7: minutes the
//       fake clock runs on afterwards (retransmissions, time-outs, expiry)
// Checks beyond "no crash": no IPsec SA is established from a fuzz message
// unless the prefix already made one (a forged QM3 must not complete one).
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "ikev1/keymat.h"
#include "isakmpd/sa/sa_manager.h"
#include "isakmpd/wire/fragment.h"
#include "tests/lib/fakes.h"

namespace ike::isakmpd {
namespace {

using testing::FakeClock;
using testing::SeededRandom;

constexpr size_t kPrelude = 9;
constexpr int kStages = 6;
constexpr char kPsk[] = "fuzz-secret";
constexpr auto kPrf = crypto::HashAlg::kSha256;
constexpr auto kCipher = crypto::CipherAlg::kAes128Cbc;
constexpr size_t kBlock = 16;

const char* kDatabaseText = R"(
  settings { retransmit_interval_ms: 1000 retransmit_tries: 3 }
  ike_protection { name: "p1" mode: MAIN proposal {
    encryption: AES_CBC key_length: 128 hash: SHA2_256
    auth_method: PRESHARED_KEY dh_group: ECP_256 } }
  ike_tunnel { name: "t1" local_address: "%s" remote_address: "%s" protection: "p1" }
  ipsec_protection { name: "p2" pfs_group: ECP_256 proposal {
    encryption: ESP_AES_CBC key_length: 128 integrity: HMAC_SHA2_256 } }
  ipsec_tunnel { name: "net" ike_tunnel: "t1" protection: "p2"
    local { subnet: "%s" } remote { subnet: "%s" } }
)";

db::TunnelDatabase Database(const char* local, const char* remote, const char* local_net,
                            const char* remote_net) {
  char text[1024];
  std::snprintf(text, sizeof text, kDatabaseText, local, remote, local_net, remote_net);
  db::TunnelDatabase d;
  if (!google::protobuf::TextFormat::ParseFromString(text, &d)) abort();
  return d;
}

// A deterministic stand-in for Diffie-Hellman: each side has one fixed
// public value per group, and g^xy = SHA-256(smaller | larger public value),
// the same on both sides. So keys and HASHes are the same in every process
// (a crash input replays anywhere) and no time goes into EC arithmetic: the
// fuzzer is after the engine, not OpenSSL's point validation, which
// crypto_dh_test covers. An all-zero peer value fails, like an invalid one.
class FakeKeyPair : public crypto::DhKeyPair {
 public:
  FakeKeyPair(crypto::DhGroup group, const std::string& owner) : group_(group) {
    const size_t length = crypto::DhPublicLength(group);
    for (uint8_t i = 0; public_.size() < length; ++i) {
      Append(public_, crypto::Hash(crypto::HashAlg::kSha512, View(owner + char(i))));
    }
    public_.resize(length);
  }
  crypto::DhGroup group() const override { return group_; }
  const Bytes& PublicValue() const override { return public_; }
  Result<SecretBytes> ComputeShared(ByteView peer) const override {
    if (std::all_of(peer.begin(), peer.end(), [](uint8_t b) { return b == 0; }))
      return Error{"invalid peer public value"};
    const bool mine_first =
        std::lexicographical_compare(public_.begin(), public_.end(), peer.begin(), peer.end());
    Bytes both = mine_first ? public_ : Bytes(peer.begin(), peer.end());
    Append(both, mine_first ? peer : ByteView(public_));
    return SecretBytes(crypto::Hash(crypto::HashAlg::kSha256, both));
  }

 private:
  crypto::DhGroup group_;
  Bytes public_;
};

class FixedDhKeys : public DhKeySource {
 public:
  explicit FixedDhKeys(std::string owner) : owner_(std::move(owner)) {}
  Result<std::unique_ptr<crypto::DhKeyPair>> Take(crypto::DhGroup group) override {
    return std::unique_ptr<crypto::DhKeyPair>(new FakeKeyPair(group, owner_));
  }

 private:
  std::string owner_;
};

crypto::HashAlg PrfOf(db::IkeHash h) {
  switch (h) {
    case db::SHA1:
      return crypto::HashAlg::kSha1;
    case db::SHA2_384:
      return crypto::HashAlg::kSha384;
    case db::SHA2_512:
      return crypto::HashAlg::kSha512;
    default:
      return crypto::HashAlg::kSha256;
  }
}

struct Datagram {
  Endpoint from, to;
  Bytes data;
};

// One engine with recording fakes; cpsd answers on the next loop turn.
struct Host : PacketSink, EventSink, CredentialSource {
  Host(FakeClock& clock, FixedDhKeys& dh, uint64_t seed)
      : clock(clock),
        random(seed),
        manager(SaManagerDeps{&clock, &clock, &random, this, this, this, &dh}) {}
  bool SendPacket(const Endpoint& from, const Endpoint& to, ByteView packet) override {
    sent.push_back({from, to, Bytes(packet.begin(), packet.end())});
    return true;
  }
  // Established pairs only: a responder's inbound SA reported as its message
  // 2 leaves (before_message3) is not one.
  void Emit(ipc::Envelope event) override {
    phase2_established +=
        event.has_phase2_established() && !event.phase2_established().before_message3();
  }
  void RequestSkeyid(const ipc::SkeyidRequest& r,
                     std::function<void(Result<SecretBytes>)> done) override {
    SecretBytes s =
        keymat::SkeyidPsk(PrfOf(r.prf()), View(std::string(kPsk)), View(r.ni()), View(r.nr()));
    clock.Schedule(Duration(0), [done, s] { done(s); });
  }

  FakeClock& clock;
  SeededRandom random;
  SaManager manager;
  std::vector<Datagram> sent;
  int phase2_established = 0;
};

const char* kInitiatorAddress = "192.0.2.1";
const char* kResponderAddress = "192.0.2.2";

// AGGRESSIVE: the responder takes Aggressive Mode as well as Main Mode.
db::TunnelDatabase ResponderDatabase() {
  auto d = Database(kResponderAddress, kInitiatorAddress, "203.0.113.0/24", "198.51.100.0/24");
  d.mutable_ike_protection(0)->set_mode(db::AGGRESSIVE);
  return d;
}

// A fresh responder in its fake world.
struct World {
  World(FixedDhKeys& dh, const db::TunnelDatabase& database) : responder(clock, dh, 2) {
    responder.manager.SetDatabase(database);
  }
  void Deliver(const Datagram& d) {
    responder.manager.OnPacket(d.to, d.from, d.data);
    clock.RunDue();
  }
  FakeClock clock;
  Host responder;
};

// What the harness knows about the genuine negotiation.
struct Prefix {
  std::vector<Datagram> to_responder;    // MM1, MM3, MM5, QM1, QM3
  std::vector<Datagram> from_responder;  // MM2, MM4, MM6, QM2
  wire::Cookie icookie{}, rcookie{};
  SecretBytes skeyid_a, enc_key;
  Bytes phase1_iv;      // for MM5
  Bytes last_p1_block;  // last cipher block of MM6: phase 2 IVs start here
  uint32_t qm_message_id = 0;
  Bytes qm3_iv;                           // last cipher block of QM2
  Bytes aggressive1;                      // a genuine Aggressive Mode 1
  std::vector<std::vector<Bytes>> seeds;  // per stage
};

std::vector<wire::Payload> PayloadsOf(ByteView packet) {
  auto h = wire::ParseHeader(packet);
  if (!std::holds_alternative<wire::Header>(h)) abort();
  auto p = wire::ParsePayloads(std::get<wire::Header>(h).next_payload,
                               packet.subspan(wire::kHeaderLength));
  if (!std::holds_alternative<std::vector<wire::Payload>>(p)) abort();
  return std::get<std::vector<wire::Payload>>(p);
}

Bytes NonceOf(ByteView packet) {
  auto payloads = PayloadsOf(packet);
  const auto* n = wire::FindBody<wire::NoncePayload>(payloads);
  if (n == nullptr) abort();
  return n->data;
}

Bytes LastBlock(const Bytes& packet) { return Bytes(packet.end() - kBlock, packet.end()); }

Bytes Decrypt(const Prefix& p, const Bytes& packet, ByteView iv) {
  auto plain = crypto::CbcDecrypt(kCipher, p.enc_key.view(), iv,
                                  ByteView(packet).subspan(wire::kHeaderLength));
  if (!plain) abort();
  return std::move(plain.value());
}

Bytes Prelude(int stage, int mode, const wire::Header& h) {
  return {uint8_t(stage),
          uint8_t(mode),
          uint8_t(h.exchange),
          uint8_t(h.next_payload),
          uint8_t(h.message_id >> 24),
          uint8_t(h.message_id >> 16),
          uint8_t(h.message_id >> 8),
          uint8_t(h.message_id),
          0};
}

wire::Header HeaderOf(const Bytes& packet) {
  return std::get<wire::Header>(wire::ParseHeader(packet));
}

// Seeds: each stage's genuine next message, raw or as the plaintext the
// harness seals, so every stage starts from an input that the engine accepts.
void AddSeeds(Prefix& p) {
  p.seeds.resize(kStages);
  std::vector<Bytes> in;
  for (const auto& d : p.to_responder) in.push_back(d.data);
  auto with = [](Bytes prelude, ByteView body) {
    Append(prelude, body);
    return prelude;
  };
  p.seeds[0].push_back(with(Prelude(0, 0, HeaderOf(in[0])), in[0]));
  p.seeds[0].push_back(with(Prelude(0, 0, HeaderOf(p.aggressive1)), p.aggressive1));
  p.seeds[1].push_back(with(Prelude(1, 0, HeaderOf(in[1])), in[1]));
  p.seeds[1].push_back(
      with(Prelude(1, 1, HeaderOf(in[1])), ByteView(in[1]).subspan(wire::kHeaderLength)));
  p.seeds[2].push_back(with(Prelude(2, 2, HeaderOf(in[2])), Decrypt(p, in[2], p.phase1_iv)));
  const Bytes qm1_iv = keymat::Phase2Iv(kPrf, p.last_p1_block, p.qm_message_id, kBlock);
  const Bytes qm1 = Decrypt(p, in[3], qm1_iv);
  p.seeds[3].push_back(with(Prelude(3, 2, HeaderOf(in[3])), qm1));
  // The same QM1 without its HASH(1), which the harness recomputes (mode 3).
  auto payloads = PayloadsOf(with(wire::EncodeHeader(HeaderOf(in[3])), qm1));
  wire::Header h = HeaderOf(in[3]);
  h.next_payload = payloads[1].type;
  Bytes rest;
  for (size_t i = 1; i < payloads.size(); ++i) Append(rest, payloads[i].raw);
  p.seeds[3].push_back(with(Prelude(3, 3, h), rest));
  p.seeds[4].push_back(with(Prelude(4, 2, HeaderOf(in[4])), Decrypt(p, in[4], p.qm3_iv)));
  // Stage 5: an authenticated Delete of the ISAKMP SA, and the phase 2 one.
  wire::DeletePayload del;
  Append(del.spis.emplace_back(), p.icookie);
  Append(del.spis.back(), p.rcookie);
  std::vector<wire::Payload> body{wire::MakePayload(del)};
  h.exchange = wire::ExchangeType::kInformational;
  h.next_payload = wire::PayloadType::kDelete;
  h.message_id = 0x01020304;
  p.seeds[5].push_back(with(Prelude(5, 3, h), wire::EncodePayloads(body)));
  wire::DeletePayload del2;
  del2.protocol = uint8_t(wire::ProtocolId::kIpsecEsp);
  del2.spi_size = 4;
  const auto qm2 = PayloadsOf(with(wire::EncodeHeader(HeaderOf(p.from_responder[3].data)),
                                   Decrypt(p, p.from_responder[3].data, LastBlock(in[3]))));
  const auto* sa = wire::FindBody<wire::SaPayload>(qm2);
  if (sa == nullptr || sa->proposals.empty()) abort();
  del2.spis.push_back(sa->proposals[0].spi);
  body = {wire::MakePayload(del2)};
  p.seeds[5].push_back(with(Prelude(5, 3, h), wire::EncodePayloads(body)));
}

// Runs initiator and responder to an established IPsec SA and learns the
// keys and IVs, checking them against the genuine encrypted messages.
Prefix Negotiate(FixedDhKeys& dh_i, FixedDhKeys& dh_r) {
  FakeClock clock;
  Host initiator(clock, dh_i, 1), responder(clock, dh_r, 2);
  const auto db_i =
      Database(kInitiatorAddress, kResponderAddress, "198.51.100.0/24", "203.0.113.0/24");
  initiator.manager.SetDatabase(db_i);
  responder.manager.SetDatabase(ResponderDatabase());
  Prefix p;
  size_t i = 0, r = 0;  // datagrams delivered so far, each way
  auto run = [&] {
    while (i < initiator.sent.size() || r < responder.sent.size()) {
      clock.RunDue();
      if (i < initiator.sent.size()) {
        const auto& d = initiator.sent[i++];
        p.to_responder.push_back(d);
        responder.manager.OnPacket(d.to, d.from, d.data);
      }
      clock.RunDue();
      if (r < responder.sent.size()) {
        const auto& d = responder.sent[r++];
        p.from_responder.push_back(d);
        initiator.manager.OnPacket(d.to, d.from, d.data);
      }
      clock.RunDue();
    }
  };
  ipc::Phase1Request r1;
  r1.set_tunnel(1);
  *r1.mutable_definition() = db_i.ike_tunnel(0);
  *r1.mutable_protection() = db_i.ike_protection(0);
  if (!initiator.manager.StartPhase1(r1).has_ack()) abort();
  run();
  {
    // The same initiator's Aggressive Mode 1 (stage 0's second seed); only
    // recorded, never delivered.
    Host aggressive(clock, dh_i, 3);
    auto db_a = db_i;
    db_a.mutable_ike_protection(0)->set_mode(db::AGGRESSIVE);
    aggressive.manager.SetDatabase(db_a);
    *r1.mutable_protection() = db_a.ike_protection(0);
    if (!aggressive.manager.StartPhase1(r1).has_ack() || aggressive.sent.empty()) abort();
    p.aggressive1 = aggressive.sent[0].data;
  }
  ipc::Phase2Request r2;
  r2.set_tunnel(1);
  r2.set_phase1_tunnel(1);
  *r2.mutable_definition() = db_i.ipsec_tunnel(0);
  *r2.mutable_protection() = db_i.ipsec_protection(0);
  if (!initiator.manager.StartPhase2(r2).has_ack()) abort();
  run();
  if (p.to_responder.size() != 5 || p.from_responder.size() != 4 ||
      responder.phase2_established != 1) {
    std::fprintf(stderr, "exchange_fuzz: the genuine negotiation did not complete\n");
    abort();
  }
  // Keys as both sides derive them (RFC 2409 5 and Appendix B).
  const auto& mm3 = p.to_responder[1].data;
  const auto& mm4 = p.from_responder[1].data;
  p.icookie = HeaderOf(mm3).icookie;
  p.rcookie = HeaderOf(mm3).rcookie;
  const FakeKeyPair initiator_keys(crypto::DhGroup::kEcp256, kInitiatorAddress);
  const FakeKeyPair responder_keys(crypto::DhGroup::kEcp256, kResponderAddress);
  const Bytes& g_xi = initiator_keys.PublicValue();
  const Bytes& g_xr = responder_keys.PublicValue();
  const SecretBytes g_xy = responder_keys.ComputeShared(g_xi).value();
  const SecretBytes skeyid =
      keymat::SkeyidPsk(kPrf, View(std::string(kPsk)), NonceOf(mm3), NonceOf(mm4));
  auto k = keymat::DerivePhase1(kPrf, kCipher, skeyid.view(), g_xy.view(), p.icookie, p.rcookie);
  p.skeyid_a = k.skeyid_a;
  p.enc_key = k.enc_key;
  p.phase1_iv = keymat::Phase1Iv(kPrf, g_xi, g_xr, kBlock);
  p.last_p1_block = LastBlock(p.from_responder[2].data);
  p.qm_message_id = HeaderOf(p.to_responder[3].data).message_id;
  p.qm3_iv = LastBlock(p.from_responder[3].data);
  AddSeeds(p);  // decrypts MM5, QM1, QM2 and QM3: aborts if the keys are wrong
  return p;
}

Bytes Seal(const Prefix& p, const wire::Header& header, ByteView body, ByteView iv) {
  Bytes plain(body.begin(), body.end());
  plain.resize((plain.size() + kBlock - 1) / kBlock * kBlock, 0);
  if (plain.empty()) plain.resize(kBlock, 0);
  Bytes sealed = crypto::CbcEncrypt(kCipher, p.enc_key.view(), iv, plain).value();
  wire::Header h = header;
  h.flags |= wire::kFlagEncryption;
  h.length = uint32_t(wire::kHeaderLength + sealed.size());
  Bytes packet = wire::EncodeHeader(h);
  Append(packet, sealed);
  return packet;
}

// The IV the responder expects for |message_id| at |stage| (RFC 2409
// Appendix B): phase 1's from the KE values, QM3's from QM2's last block,
// any other phase 2 message's from phase 1's last block and the message id.
Bytes IvFor(const Prefix& p, int stage, uint32_t message_id) {
  if (stage <= 2) return p.phase1_iv;
  if (stage == 4 && message_id == p.qm_message_id) return p.qm3_iv;
  return keymat::Phase2Iv(kPrf, p.last_p1_block, message_id, kBlock);
}

Bytes BuildDatagram(const Prefix& p, int stage, int mode, const uint8_t* in, ByteView body) {
  if (mode == 0) return Bytes(body.begin(), body.end());
  wire::Header h;
  h.icookie = p.icookie;
  h.rcookie = stage == 0 ? wire::Cookie{} : p.rcookie;
  h.exchange = wire::ExchangeType(in[2]);
  h.next_payload = wire::PayloadType(in[3]);
  h.message_id = (uint32_t{in[4]} << 24) | (uint32_t{in[5]} << 16) | (uint32_t{in[6]} << 8) | in[7];
  if (stage == 4 && h.message_id == 0) h.message_id = p.qm_message_id;
  if (mode == 1 || stage < 2) {
    h.length = uint32_t(wire::kHeaderLength + body.size());
    Bytes packet = wire::EncodeHeader(h);
    Append(packet, body);
    return packet;
  }
  Bytes plain;
  if (mode == 3) {
    // HASH(1) = prf(SKEYID_a, M-ID | rest) for Quick Mode 1 and Informational.
    Bytes hash = keymat::QuickModeHash1(kPrf, p.skeyid_a.view(), h.message_id, body);
    plain = {uint8_t(h.next_payload), 0, uint8_t((4 + hash.size()) >> 8), uint8_t(4 + hash.size())};
    Append(plain, hash);
    h.next_payload = wire::PayloadType::kHash;
  }
  Append(plain, body);
  return Seal(p, h, plain, IvFor(p, stage, h.message_id));
}

struct Harness {
  FixedDhKeys dh_i{kInitiatorAddress}, dh_r{kResponderAddress};
  Prefix prefix = Negotiate(dh_i, dh_r);
  db::TunnelDatabase database = ResponderDatabase();
};

// What the fuzz datagram did, before the clock runs on.
struct Effect {
  size_t replies = 0;          // datagrams the responder sent in answer
  int phase2_established = 0;  // IPsec SAs it completed
  size_t isakmp_sas_before = 0, isakmp_sas_after = 0;
};

Effect RunInput(Harness& harness, const uint8_t* data, size_t size) {
  const Prefix& p = harness.prefix;
  const int stage = data[0] % kStages;
  const int mode = data[1] % 4;
  World world(harness.dh_r, harness.database);
  for (int i = 0; i < stage; ++i) world.Deliver(p.to_responder[i]);
  Effect effect;
  const size_t sent_before = world.responder.sent.size();
  const int established_before = world.responder.phase2_established;
  effect.isakmp_sas_before = world.responder.manager.isakmp_sa_count();
  Datagram d{p.to_responder[0].from, p.to_responder[0].to,
             BuildDatagram(p, stage, mode, data, ByteView(data + kPrelude, size - kPrelude))};
  if (data[8] & 1) {
    d.from.port = 4500;
    d.to.port = 4500;
  }
  std::vector<Bytes> fragments;
  if (data[1] & 4)
    fragments =
        wire::FragmentMessage(d.data, 7, wire::kFragmentOverhead + 1 + 24 * ((data[1] >> 3) & 15),
                              wire::ExchangeType::kIdentityProtection);
  if (data[1] & 0x80) std::reverse(fragments.begin(), fragments.end());
  if (fragments.empty()) {
    world.Deliver(d);
  } else {
    for (Bytes& f : fragments) world.Deliver(Datagram{d.from, d.to, std::move(f)});
  }
  effect.replies = world.responder.sent.size() - sent_before;
  effect.phase2_established = world.responder.phase2_established - established_before;
  effect.isakmp_sas_after = world.responder.manager.isakmp_sa_count();
  world.clock.Advance(int64_t(data[8] >> 1) * 60000);
  return effect;
}

// The generated seeds must do what the genuine messages do; otherwise the
// harness's idea of keys or IVs has drifted from the engine's and the fuzzer
// would only ever reach the decryption failure.
void CheckSeeds(Harness& harness) {
  const auto& seeds = harness.prefix.seeds;
  auto effect = [&](int stage, size_t i) {
    return RunInput(harness, seeds[stage][i].data(), seeds[stage][i].size());
  };
  bool ok = true;
  for (int stage : {0, 1, 2, 3}) ok = ok && effect(stage, 0).replies == 1;  // MM2, MM4, MM6, QM2
  ok = ok && effect(1, 1).replies == 1 && effect(3, 1).replies == 1;
  ok = ok && effect(0, 1).replies == 1;  // Aggressive Mode 2
  Bytes cut = seeds[1][0];               // MM3 again, in fragments of 121 octets, last first
  cut[1] |= 4 | (4 << 3) | 0x80;
  ok = ok && RunInput(harness, cut.data(), cut.size()).replies == 1;
  ok = ok && effect(4, 0).phase2_established == 1;
  const Effect deleted = effect(5, 0);
  ok = ok && deleted.isakmp_sas_before == 1 && deleted.isakmp_sas_after == 0;
  if (!ok) {
    std::fprintf(stderr, "exchange_fuzz: a generated seed no longer reaches its state\n");
    abort();
  }
}

Harness& TheHarness() {
  static Harness* h = [] {
    auto* harness = new Harness;
    CheckSeeds(*harness);
    return harness;
  }();
  return *h;
}

}  // namespace
}  // namespace ike::isakmpd

using namespace ike::isakmpd;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)TheHarness();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kPrelude) return 0;
  const Effect effect = RunInput(TheHarness(), data, size);
  // Only a QM3 completes a responder's Quick Mode (RFC 2409 5.5), and only
  // at stage 4 is one pending: anything else establishing an IPsec SA is a
  // bug (e.g. a QM1 or Informational taken for a QM3).
  if (effect.phase2_established > 0 && data[0] % kStages != 4) abort();
  return 0;
}

extern "C" int FuzzWriteSeeds(const char* dir) {
  const Prefix& p = TheHarness().prefix;
  std::filesystem::create_directories(dir);
  for (int stage = 0; stage < kStages; ++stage)
    for (size_t i = 0; i < p.seeds[stage].size(); ++i) {
      const auto path = std::filesystem::path(dir) /
                        ("stage" + std::to_string(stage) + "_" + std::to_string(i) + ".bin");
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(p.seeds[stage][i].data()),
                std::streamsize(p.seeds[stage][i].size()));
      if (!out) return 1;
    }
  return 0;
}
