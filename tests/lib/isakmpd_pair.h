// Two isakmpd engines in one process over a fake network, with a fake clock
// and seeded randomness (style.md rule 12): the harness the isakmpd_* engine
// tests share. Each host records its events; packets wait in one queue.
#pragma once

#include <google/protobuf/text_format.h>

#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "ikev1/keymat.h"
#include "isakmpd/sa/sa_manager.h"
#include "tests/lib/fakes.h"

namespace ike::isakmpd {

// Reaches into an SaManager for what tests cannot do from outside: an
// illegal transition, a protected Informational with any body, a broken
// table entry.
class SaManagerTestPeer {
 public:
  explicit SaManagerTestPeer(SaManager& m) : m_(m) {}
  uint64_t FirstSa() const { return m_.sas_.empty() ? 0 : m_.sas_.begin()->first; }
  Phase1Step Step(uint64_t handle) { return m_.FindSa(handle)->step; }
  // What an exchange sees of an SA (keys included: never print them).
  const Phase1Context& Context(uint64_t handle) { return *m_.FindSa(handle); }
  bool Transition(uint64_t handle, Phase1Step next) {
    return m_.Transition(*m_.FindSa(handle), next);
  }
  void SendInformational(uint64_t handle, std::vector<wire::Payload> body) {
    m_.SendInformational(*m_.FindSa(handle), std::move(body));
  }
  void MapPhase2Tunnel(uint32_t tunnel, uint64_t handle) { m_.p2_by_tunnel_[tunnel] = handle; }
  Bytes Seal(uint64_t handle, std::vector<wire::Payload> payloads, Bytes* iv) {
    return m_.Seal(*m_.FindSa(handle), wire::ExchangeType::kInformational, 1, payloads, iv);
  }

 private:
  SaManager& m_;
};

}  // namespace ike::isakmpd

namespace ike::isakmpd::testing {

using ike::testing::FakeClock;
using ike::testing::SeededRandom;

inline const char* kHostA = "192.0.2.1";
inline const char* kHostB = "192.0.2.2";

inline db::TunnelDatabase Database(const std::string& local, const std::string& remote,
                                   const std::string& local_net, const std::string& remote_net,
                                   const std::string& ike_proposal, const std::string& esp_proposal,
                                   const std::string& pfs = "MODP_2048") {
  const std::string text = R"(
    settings { retransmit_interval_ms: 1000 retransmit_tries: 3 }
    ike_protection { name: "p1" mode: MAIN proposal { )" +
                           ike_proposal + R"( } }
    ike_tunnel { name: "t1" local_address: ")" +
                           local + R"(" remote_address: ")" + remote +
                           R"(" protection: "p1" }
    ipsec_protection { name: "p2" pfs_group: )" +
                           pfs + R"( proposal { )" + esp_proposal + R"( } }
    ipsec_tunnel { name: "net" ike_tunnel: "t1" protection: "p2"
                   local { subnet: ")" +
                           local_net + R"(" } remote { subnet: ")" + remote_net + R"(" } }
  )";
  db::TunnelDatabase d;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &d));
  return d;
}

inline const std::string kIke =
    "encryption: AES_CBC key_length: 128 hash: SHA2_256 "
    "auth_method: PRESHARED_KEY dh_group: MODP_2048";
inline const std::string kEsp = "encryption: ESP_AES_CBC key_length: 128 integrity: HMAC_SHA2_256";

struct Packet {
  Endpoint from, to;
  Bytes data;
  size_t sender_events = 0;  // events the sender had emitted when it sent this
};

// One host: an engine plus recording fakes. Packets go to a shared queue.
struct Host : PacketSink, EventSink, CredentialSource, KeyLogSink {
  Host(FakeClock& clock, std::deque<Packet>& wire, uint64_t seed, std::string psk,
       SpiAllocator* spis = nullptr)
      : clock(clock),
        wire(wire),
        random(seed),
        psk(std::move(psk)),
        manager(SaManagerDeps{&clock, &clock, &random, this, this, this, nullptr, spis, this}) {}

  bool SendPacket(const Endpoint& from, const Endpoint& to, ByteView packet) override {
    wire.push_back({from, to, Bytes(packet.begin(), packet.end()), events.size()});
    return true;
  }
  // NAT keepalives (RFC 3948 4) are recorded, not put on the wire: the
  // service and the peer's kernel drop them before any engine sees them.
  bool SendNatKeepalive(const Endpoint& from, const Endpoint& to) override {
    keepalives.push_back({from, to, Bytes{0xff}, events.size()});
    return true;
  }
  void Emit(ipc::Envelope event) override { events.push_back(std::move(event)); }
  // tmd answers at once, as if it had installed the SA; with |hold_answers|
  // the answers wait in |answers| until the test gives them.
  void EmitAndWait(ipc::Envelope event, std::function<void()> done) override {
    events.push_back(std::move(event));
    if (!hold_answers) return done();
    answers.push_back(std::move(done));
  }
  // Gives tmd's pending answers, in order.
  void Answer() {
    std::vector<std::function<void()>> pending;
    pending.swap(answers);
    for (auto& done : pending) done();
  }
  // settings.ike_key_log: what would have gone to the file (holds keys:
  // never print it).
  void AppendKeyLine(const std::string& path, const SecretBytes& line) override {
    key_log.push_back({path, std::string(line.bytes().begin(), line.bytes().end())});
  }
  void RequestSkeyid(const ipc::SkeyidRequest& r,
                     std::function<void(Result<SecretBytes>)> done) override {
    skeyid_requests.push_back(r);
    const auto hash = r.prf() == db::SHA1 ? crypto::HashAlg::kSha1 : crypto::HashAlg::kSha256;
    SecretBytes s = keymat::SkeyidPsk(hash, View(psk), View(r.ni()), View(r.nr()));
    clock.Schedule(Duration(0), [done, s] { done(s); });  // answers later, like cpsd
  }

  template <typename Pred>
  const ipc::Envelope* Find(Pred pred) const {
    for (const auto& e : events)
      if (pred(e)) return &e;
    return nullptr;
  }
  // The first report of an established SA (a responder's inbound SA
  // reported before message 3 is not one).
  const ipc::Envelope* Established(int phase) const {
    return Find([phase](const ipc::Envelope& e) {
      return phase == 1 ? e.has_phase1_established()
                        : e.has_phase2_established() && !e.phase2_established().before_message3();
    });
  }
  // Phase2Established reports; |early|: those of a responder's inbound SA
  // before message 3, else the others.
  int Phase2Reports(bool early = false) const {
    return Count([early](const ipc::Envelope& e) {
      return e.has_phase2_established() && e.phase2_established().before_message3() == early;
    });
  }
  template <typename Pred>
  int Count(Pred pred) const {
    int n = 0;
    for (const auto& e : events) n += pred(e) ? 1 : 0;
    return n;
  }
  const ipc::Envelope* Failed(int phase) const {
    return Find([phase](const ipc::Envelope& e) {
      return e.has_negotiation_failed() && e.negotiation_failed().phase() == uint32_t(phase);
    });
  }

  FakeClock& clock;
  std::deque<Packet>& wire;
  SeededRandom random;
  std::string psk;
  SaManager manager;
  std::vector<ipc::Envelope> events;
  bool hold_answers = false;
  std::vector<std::function<void()>> answers;       // EmitAndWait's, held
  std::vector<ipc::SkeyidRequest> skeyid_requests;  // what cpsd was asked
  std::vector<Packet> keepalives;                   // NAT keepalives sent
  struct KeyLine {
    std::string path, line;
  };
  std::vector<KeyLine> key_log;  // lines for settings.ike_key_log
};

struct Pair {
  explicit Pair(std::string psk_a = "secret", std::string psk_b = "secret",
                SpiAllocator* spis_a = nullptr, SpiAllocator* spis_b = nullptr)
      : a(clock, wire, 1, psk_a, spis_a), b(clock, wire, 2, psk_b, spis_b) {
    a.manager.SetDatabase(
        Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp));
    b.manager.SetDatabase(
        Database(kHostB, kHostA, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp));
  }
  Host& HostAt(const Endpoint& e) { return e.address.ToString() == kHostA ? a : b; }
  // Delivers queued packets (and due callbacks) until the network is quiet.
  // |drop| may discard a packet: return true to drop.
  void Run(std::function<bool(const Packet&)> drop = {}) {
    for (int guard = 0; guard < 1000; ++guard) {
      clock.RunDue();
      if (wire.empty()) return;
      Packet p = std::move(wire.front());
      wire.pop_front();
      ++delivered;
      if (drop && drop(p)) continue;
      HostAt(p.to).manager.OnPacket(p.to, p.from, p.data);
    }
    FAIL("network never went quiet");
  }
  ipc::Phase1Request Phase1(Host& h, uint32_t tunnel = 1) {
    const auto d = Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
    ipc::Phase1Request r;
    r.set_tunnel(tunnel);
    *r.mutable_definition() = d.ike_tunnel(0);
    *r.mutable_protection() = d.ike_protection(0);
    return r;
  }
  ipc::Phase2Request Phase2(const db::TunnelDatabase& d) {
    ipc::Phase2Request r;
    r.set_tunnel(1);
    r.set_phase1_tunnel(1);
    *r.mutable_definition() = d.ipsec_tunnel(0);
    *r.mutable_protection() = d.ipsec_protection(0);
    return r;
  }
  db::TunnelDatabase DatabaseA() const {
    return Database(kHostA, kHostB, "198.51.100.0/24", "203.0.113.0/24", kIke, kEsp);
  }
  // A starts phase 1 (tunnel 1) and the network runs until quiet.
  void EstablishPhase1() {
    REQUIRE(a.manager.StartPhase1(Phase1(a)).has_ack());
    Run();
    REQUIRE(a.Established(1));
    REQUIRE(b.Established(1));
  }
  // Then phase 2 tunnel 1.
  void EstablishPhase2() {
    REQUIRE(a.manager.StartPhase2(Phase2(DatabaseA())).has_ack());
    Run();
    REQUIRE(a.Established(2));
    REQUIRE(b.Established(2));
  }
  FakeClock clock;
  std::deque<Packet> wire;
  Host a, b;
  int delivered = 0;
};

// An unprotected Informational (HDR, N/D...) with the given cookies.
inline Bytes PlainInformational(const wire::Cookie& i, const wire::Cookie& r,
                                std::vector<wire::Payload> payloads) {
  wire::Header h;
  h.icookie = i;
  h.rcookie = r;
  h.exchange = wire::ExchangeType::kInformational;
  h.next_payload = payloads.front().type;
  Bytes body = wire::EncodePayloads(payloads);
  h.length = static_cast<uint32_t>(wire::kHeaderLength + body.size());
  Bytes packet = wire::EncodeHeader(h);
  Append(packet, body);
  return packet;
}

inline wire::Header HeaderOf(const Packet& p) {
  return std::get<wire::Header>(wire::ParseHeader(p.data));
}

// RFC 3706: N(R-U-THERE or R-U-THERE-ACK), SPI the cookie pair of |p1|,
// data the sequence number.
inline wire::Payload DpdNotify(const Phase1Context& p1, uint32_t seq,
                               wire::NotifyType type = wire::NotifyType::kRUThere) {
  wire::NotifyPayload n;
  n.protocol = 1;
  n.type = static_cast<uint16_t>(type);
  n.spi.assign(p1.icookie.begin(), p1.icookie.end());
  n.spi.insert(n.spi.end(), p1.rcookie.begin(), p1.rcookie.end());
  n.data = {uint8_t(seq >> 24), uint8_t(seq >> 16), uint8_t(seq >> 8), uint8_t(seq)};
  return wire::MakePayload(std::move(n));
}

inline wire::Payload NotifyOf(wire::NotifyType type) {
  wire::NotifyPayload n;
  n.protocol = 1;
  n.type = static_cast<uint16_t>(type);
  return wire::MakePayload(std::move(n));
}

}  // namespace ike::isakmpd::testing
