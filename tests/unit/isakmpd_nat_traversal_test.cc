// NAT traversal in its deployed forms (issue 10.6): RFC 3947 and the drafts
// before it (draft-ietf-ipsec-nat-t-ike-02, -02\n, -03: NAT-D/NAT-OA as
// payloads 130/131, UDP encapsulation 61443/61444), the switch that turns
// it off (settings.nat_traversal), NAT keepalives (RFC 3948 4) and NAT-OA
// in transport mode (RFC 3947 5.2). Two engines with a NAT between them:
// A's 192.0.2.1:500/4500 appear to B as 198.51.100.254:40500/44500.
#include <catch2/catch.hpp>

#include "isakmpd/exchange/nat_traversal.h"
#include "isakmpd/wire/sa_attributes.h"
#include "tests/lib/fake_syslogd.h"
#include "tests/lib/isakmpd_pair.h"

namespace ike::isakmpd::testing {
namespace {

const char* kNat = "198.51.100.254";

// A behind the NAT; B knows A by its ID (its address is not its identity).
struct NatNet {
  explicit NatNet(bool transport = false) {
    db_a = net.DatabaseA();
    db_b = Database(kHostB, kNat, "203.0.113.0/24", "198.51.100.0/24", kIke, kEsp);
    db_b.mutable_ike_tunnel(0)->mutable_remote_id()->set_type(db::IPV4_ADDR);
    db_b.mutable_ike_tunnel(0)->mutable_remote_id()->set_value(kHostA);
    if (transport) {
      // Host to host; B names A by its original address, which NAT-OA
      // carries (RFC 3947 5.2).
      for (auto* d : {&db_a, &db_b}) d->mutable_ipsec_tunnel(0)->set_mode(db::ESP_TRANSPORT);
      db_a.mutable_ipsec_tunnel(0)->mutable_local()->set_address(kHostA);
      db_a.mutable_ipsec_tunnel(0)->mutable_remote()->set_address(kHostB);
      db_b.mutable_ipsec_tunnel(0)->mutable_local()->set_address(kHostB);
      db_b.mutable_ipsec_tunnel(0)->mutable_remote()->set_address(kHostA);
    }
    Apply();
  }
  void Apply() {
    net.a.manager.SetDatabase(db_a);
    net.b.manager.SetDatabase(db_b);
  }
  // Delivers packets through the NAT until the network is quiet; |edit|
  // may rewrite a packet (after translation) before it is delivered.
  void Run() {
    const IpAddress a_addr = *IpAddress::Parse(kHostA), nat = *IpAddress::Parse(kNat);
    for (int guard = 0; guard < 100; ++guard) {
      net.clock.RunDue();
      if (net.wire.empty()) return;
      Packet p = std::move(net.wire.front());
      net.wire.pop_front();
      if (p.from.address == a_addr) {
        p.from = Endpoint{nat, uint16_t(p.from.port + 40000)};
      } else if (p.to.address == nat) {
        p.to = Endpoint{a_addr, uint16_t(p.to.port - 40000)};
      }
      if (edit) edit(p);
      log.push_back(p);
      net.HostAt(p.to).manager.OnPacket(p.to, p.from, p.data);
    }
    FAIL("network never went quiet");
  }
  void Phase1() {
    REQUIRE(net.a.manager.StartPhase1(net.Phase1(net.a)).has_ack());
    Run();
  }
  void Phase2() {
    REQUIRE(net.a.manager.StartPhase2(net.Phase2(db_a)).has_ack());
    Run();
  }
  const Phase1Context& Context(Host& h) {
    SaManagerTestPeer peer(h.manager);
    return peer.Context(peer.FirstSa());
  }

  Pair net;
  db::TunnelDatabase db_a, db_b;
  std::function<void(Packet&)> edit;
  std::vector<Packet> log;
};

std::vector<wire::Payload> PlainPayloads(const Packet& p) {
  const wire::Header h = HeaderOf(p);
  auto parsed = wire::ParsePayloads(h.next_payload, ByteView(p.data).subspan(wire::kHeaderLength),
                                    /*allow_unknown=*/true);
  REQUIRE(std::holds_alternative<std::vector<wire::Payload>>(parsed));
  return std::get<0>(parsed);
}

// An encrypted Quick Mode message, opened with |p1|'s keys: the first of
// its exchange (|previous| null), or the one after |previous|, whose last
// cipher block is the IV (RFC 2409 Appendix B).
std::vector<wire::Payload> OpenPayloads(const Phase1Context& p1, const Packet& p,
                                        const Packet* previous = nullptr) {
  const wire::Header h = HeaderOf(p);
  REQUIRE((h.flags & wire::kFlagEncryption) != 0);
  const size_t block = crypto::CipherBlockSize(p1.suite->cipher);
  const Bytes iv =
      previous ? Bytes(previous->data.end() - block, previous->data.end()) : p1.IvFor(h.message_id);
  auto plain = crypto::CbcDecrypt(p1.suite->cipher, p1.keys.enc_key.view(), iv,
                                  ByteView(p.data).subspan(wire::kHeaderLength));
  REQUIRE(plain);
  auto parsed = wire::ParsePayloads(h.next_payload, plain.value(), /*allow_unknown=*/true);
  REQUIRE(std::holds_alternative<std::vector<wire::Payload>>(parsed));
  return std::get<0>(parsed);
}

// A plain message again, from |payloads| (which the test edited).
Bytes Reencode(const Packet& p, std::vector<wire::Payload> payloads) {
  wire::Header h = HeaderOf(p);
  h.next_payload = payloads.front().type;
  Bytes body = wire::EncodePayloads(payloads);
  h.length = static_cast<uint32_t>(wire::kHeaderLength + body.size());
  Bytes out = wire::EncodeHeader(h);
  Append(out, body);
  return out;
}

std::vector<Bytes> VendorIds(const std::vector<wire::Payload>& payloads) {
  std::vector<Bytes> out;
  for (const auto& p : payloads)
    if (auto* v = std::get_if<wire::VendorIdPayload>(&p.body)) out.push_back(v->data);
  return out;
}

bool HasNatTVid(const std::vector<wire::Payload>& payloads) {
  return nat_traversal::Agreed(payloads) != NatTVersion::kNone;
}

int CountType(const std::vector<wire::Payload>& payloads, wire::PayloadType type) {
  int n = 0;
  for (const auto& p : payloads) n += p.type == type;
  return n;
}

uint16_t OfferedEncapsulation(const std::vector<wire::Payload>& payloads) {
  const auto* sa = wire::FindBody<wire::SaPayload>(payloads);
  REQUIRE(sa != nullptr);
  auto attrs = wire::DecodeIpsecTransform(sa->proposals.at(0).transforms.at(0));
  REQUIRE(std::holds_alternative<wire::IpsecTransformAttrs>(attrs));
  return std::get<wire::IpsecTransformAttrs>(attrs).encapsulation;
}

bool IsMainMode1(const Packet& p) {
  const wire::Header h = HeaderOf(p);
  return h.exchange == wire::ExchangeType::kIdentityProtection && h.rcookie == wire::Cookie{} &&
         !(h.flags & wire::kFlagEncryption);
}

// Keeps, of a message 1's vendor IDs, those |keep| says.
std::function<void(Packet&)> FilterMessage1Vids(std::function<bool(const Bytes&)> keep) {
  return [keep](Packet& p) {
    if (!IsMainMode1(p)) return;
    std::vector<wire::Payload> out;
    for (auto& pl : PlainPayloads(p)) {
      auto* v = std::get_if<wire::VendorIdPayload>(&pl.body);
      if (v == nullptr || keep(v->data)) out.push_back(std::move(pl));
    }
    p.data = Reencode(p, std::move(out));
  };
}

TEST_CASE("the initiator offers RFC 3947 and the three drafts; the responder answers the best",
          "[nat]") {
  NatNet n;
  n.Phase1();
  REQUIRE(n.net.b.Established(1));
  REQUIRE(n.log.size() == 6);
  // HDR, SA, VID(RFC 3947), VID(-03), VID(-02\n), VID(-02), ... -->
  const auto m1 = VendorIds(PlainPayloads(n.log[0]));
  REQUIRE(m1.size() >= 4);
  CHECK(m1[0] == nat_traversal::VendorId(NatTVersion::kRfc3947));
  CHECK(m1[1] == nat_traversal::VendorId(NatTVersion::kDraft03));
  CHECK(m1[2] == nat_traversal::VendorId(NatTVersion::kDraft02n));
  CHECK(m1[3] == nat_traversal::VendorId(NatTVersion::kDraft02));
  // <-- HDR, SA, VID(RFC 3947) only
  const auto m2 = PlainPayloads(n.log[1]);
  CHECK(nat_traversal::Agreed(m2) == NatTVersion::kRfc3947);
  for (const auto& v : VendorIds(m2)) CHECK(v != nat_traversal::VendorId(NatTVersion::kDraft03));
  CHECK(CountType(PlainPayloads(n.log[2]), wire::PayloadType::kNatD) == 2);
  CHECK(n.Context(n.net.a).nat_t == NatTVersion::kRfc3947);
}

// A peer that knows only the drafts (an older Cisco or Windows): message 1
// carries no RFC 3947 vendor ID. Both ends then speak the best draft named:
// NAT-D as payload 130, UDP-Encapsulated-Tunnel 61443 in Quick Mode.
TEST_CASE("a peer with only draft vendor IDs: NAT-D 130, encapsulation 61443, still floats",
          "[nat]") {
  struct Case {
    std::vector<NatTVersion> sent;
    NatTVersion agreed;
  };
  for (const Case& c :
       {Case{{NatTVersion::kDraft03, NatTVersion::kDraft02n, NatTVersion::kDraft02},
             NatTVersion::kDraft03},
        Case{{NatTVersion::kDraft02n, NatTVersion::kDraft02}, NatTVersion::kDraft02n},
        Case{{NatTVersion::kDraft02}, NatTVersion::kDraft02}}) {
    INFO("agreed " << nat_traversal::VersionName(c.agreed));
    NatNet n;
    n.edit = FilterMessage1Vids([&](const Bytes& vid) {
      if (nat_traversal::Agreed({wire::MakePayload(wire::VendorIdPayload{vid})}) ==
          NatTVersion::kNone)
        return true;  // DPD, ours
      for (NatTVersion v : c.sent)
        if (vid == nat_traversal::VendorId(v)) return true;
      return false;
    });
    n.Phase1();
    REQUIRE(n.net.a.Established(1));
    REQUIRE(n.net.b.Established(1));
    REQUIRE(n.log.size() == 6);
    // <-- HDR, SA, VID(the best draft A sent)
    const auto m2 = PlainPayloads(n.log[1]);
    CHECK(nat_traversal::Agreed(m2) == c.agreed);
    CHECK(n.Context(n.net.a).nat_t == c.agreed);
    CHECK(n.Context(n.net.b).nat_t == c.agreed);
    // HDR, KE, Ni, NAT-D(130), NAT-D(130) -->  <-- the same from B
    for (int m : {2, 3}) {
      const auto ke = PlainPayloads(n.log[m]);
      CHECK(CountType(ke, wire::PayloadType::kNatDDraft) == 2);
      CHECK(CountType(ke, wire::PayloadType::kNatD) == 0);
    }
    CHECK(n.Context(n.net.b).nat_remote);
    CHECK(n.Context(n.net.a).nat_local);
    CHECK(n.log[4].to.port == 4500);  // drafts -02 and -03 float like the RFC
    n.Phase2();
    REQUIRE(n.net.a.Established(2));
    REQUIRE(n.net.b.Established(2));
    CHECK(OfferedEncapsulation(OpenPayloads(n.Context(n.net.b), n.log[6])) ==
          nat_traversal::kDraftUdpEncapsulatedTunnel);
    CHECK(OfferedEncapsulation(OpenPayloads(n.Context(n.net.a), n.log[7], &n.log[6])) ==
          nat_traversal::kDraftUdpEncapsulatedTunnel);
    const auto& in_b = n.net.b.Established(2)->phase2_established().sa(0);
    CHECK(in_b.source_port() == 44500);  // ESP in UDP through the NAT
    CHECK(in_b.destination_port() == 4500);
  }
}

TEST_CASE("a draft NAT-D is no RFC NAT-D: the payload numbers are not mixed", "[nat]") {
  Phase1Context p1;
  p1.suite = IkeSuite{};
  p1.nat_t = NatTVersion::kDraft03;
  p1.local = Endpoint{*IpAddress::Parse(kHostA), 500};
  p1.remote = Endpoint{*IpAddress::Parse(kHostB), 500};
  auto natd = nat_traversal::NatDPayloads(p1);
  REQUIRE(natd.size() == 2);
  CHECK(natd[0].type == wire::PayloadType::kNatDDraft);
  // An RFC 3947 SA reads no NAT from payloads of the draft's type.
  Phase1Context rfc = p1;
  rfc.nat_t = NatTVersion::kRfc3947;
  std::swap(rfc.local, rfc.remote);
  for (auto& p : natd) std::get<wire::UnknownPayload>(p.body).data[0] ^= 1;  // would mean a NAT
  nat_traversal::Detect(rfc, natd);
  CHECK_FALSE(rfc.behind_nat());
  CHECK(nat_traversal::UdpEncapsulation(NatTVersion::kDraft02, true) == 61444);
  CHECK(nat_traversal::UdpEncapsulation(NatTVersion::kRfc3947, true) == 4);
  CHECK(nat_traversal::IsTransport(61444));
  CHECK(nat_traversal::IsUdpEncapsulation(61443));
  CHECK_FALSE(nat_traversal::IsUdpEncapsulation(1));
}

// settings.nat_traversal OFF on either end: no NAT-T vendor ID from it, the
// other's ignored; so no NAT-D, no float, no UDP encapsulation. Through the
// NAT phase 1 still comes up on port 500 (A is known by ID).
TEST_CASE("settings.nat_traversal OFF: no vendor ID, no NAT-D, no float", "[nat]") {
  for (const bool off_at_a : {true, false}) {
    INFO((off_at_a ? "A (initiator)" : "B (responder)") << " has NAT-T off");
    ike::testing::FakeSyslogd syslogd("isakmpd_nat_traversal_test");
    SetLogLevel(LogLevel::kInformation);
    NatNet n;
    (off_at_a ? n.db_a : n.db_b).mutable_settings()->set_nat_traversal(db::NAT_TRAVERSAL_OFF);
    n.Apply();
    n.Phase1();
    REQUIRE(n.net.a.Established(1));
    REQUIRE(n.net.b.Established(1));
    REQUIRE(n.log.size() == 6);
    CHECK(HasNatTVid(PlainPayloads(n.log[0])) == !off_at_a);
    CHECK_FALSE(HasNatTVid(PlainPayloads(n.log[1])));
    for (int m : {2, 3}) {
      CHECK(CountType(PlainPayloads(n.log[m]), wire::PayloadType::kNatD) == 0);
      CHECK(CountType(PlainPayloads(n.log[m]), wire::PayloadType::kNatDDraft) == 0);
    }
    for (const auto& p : n.log) {
      CHECK(p.to.port != 4500);
      CHECK(p.from.port != 44500);
    }
    CHECK(n.Context(n.net.a).nat_t == NatTVersion::kNone);
    CHECK_FALSE(n.Context(n.net.a).behind_nat());
    n.Phase2();
    REQUIRE(n.net.b.Established(2));
    CHECK(n.net.b.Established(2)->phase2_established().sa(0).source_port() == 0);
    const std::string log = syslogd.Drain();
    INFO(log);
    CHECK_THAT(log, Catch::Contains("NAT traversal: off (settings.nat_traversal)"));
    CHECK_THAT(log, Catch::Contains("NAT traversal: the peer announced none"));
    SetLogLevel(LogLevel::kEvents);
  }
}

TEST_CASE("NAT detection is logged by both ends, naming the version and where the NAT is",
          "[nat]") {
  ike::testing::FakeSyslogd syslogd("isakmpd_nat_traversal_test");
  NatNet n;
  n.Phase1();
  REQUIRE(n.net.b.Established(1));
  const std::string log = syslogd.Drain();
  INFO(log);
  CHECK_THAT(log, Catch::Contains("NAT traversal RFC 3947: NAT detected in front of us, IKE and "
                                  "ESP on 192.0.2.1[4500]"));
  CHECK_THAT(log, Catch::Contains("NAT traversal RFC 3947: NAT detected in front of the peer"));
}

// RFC 3948 4: the side behind the NAT sends a one-octet 0xFF to the peer's
// 4500 every settings.nat_keepalive_seconds (20 s unless set; 0: never)
// while the ISAKMP SA lives; the other side sends none.
TEST_CASE("NAT keepalives from the side behind the NAT, every nat_keepalive_seconds", "[nat]") {
  struct Case {
    std::optional<uint32_t> seconds;
    int in_61_s;
  };
  for (const Case& c : {Case{std::nullopt, 3}, Case{10, 6}, Case{0, 0}}) {
    INFO("nat_keepalive_seconds " << (c.seconds ? std::to_string(*c.seconds) : "absent"));
    NatNet n;
    if (c.seconds) n.db_a.mutable_settings()->set_nat_keepalive_seconds(*c.seconds);
    n.Apply();
    n.Phase1();
    REQUIRE(n.net.a.Established(1));
    n.net.clock.Advance(61000);
    CHECK(int(n.net.a.keepalives.size()) == c.in_61_s);
    CHECK(n.net.b.keepalives.empty());  // not behind a NAT
    for (const auto& k : n.net.a.keepalives) {
      CHECK(k.data == Bytes{0xff});
      CHECK(k.from == Endpoint{*IpAddress::Parse(kHostA), 4500});
      CHECK(k.to == Endpoint{*IpAddress::Parse(kHostB), 4500});
    }
    CHECK(n.net.a.manager.counters().nat_keepalives == uint64_t(c.in_61_s));
    // The SA goes: so do the keepalives.
    const size_t before = n.net.a.keepalives.size();
    ipc::RemoveTunnel remove;
    remove.set_phase(1);
    remove.set_tunnel(1);
    n.net.a.manager.Remove(remove);
    n.net.clock.Advance(120000);
    CHECK(n.net.a.keepalives.size() == before);
  }
  // No NAT, no keepalives.
  Pair direct;
  direct.EstablishPhase1();
  direct.clock.Advance(61000);
  CHECK(direct.a.keepalives.empty());
  CHECK(direct.b.keepalives.empty());
}

// A received keepalive (the service drops it before the engine; a 1-octet
// datagram that got through anyway) changes nothing and is not answered.
TEST_CASE("a keepalive that reaches the engine is dropped without an answer", "[nat]") {
  NatNet n;
  n.Phase1();
  REQUIRE(n.net.b.Established(1));
  const size_t events = n.net.b.events.size();
  n.net.b.manager.OnPacket(Endpoint{*IpAddress::Parse(kHostB), 4500},
                           Endpoint{*IpAddress::Parse(kNat), 44500}, Bytes{0xff});
  CHECK(n.net.wire.empty());
  CHECK(n.net.b.events.size() == events);
}

// RFC 3947 5.2: transport mode through a NAT: Quick Mode 1 and 2 carry
// NAT-OAi and NAT-OAr, each end's view of the original addresses; the
// receiver logs them. Tunnel mode carries none.
TEST_CASE("transport mode through a NAT: NAT-OAi and NAT-OAr in Quick Mode 1 and 2", "[nat]") {
  ike::testing::FakeSyslogd syslogd("isakmpd_nat_traversal_test");
  SetLogLevel(LogLevel::kInformation);
  NatNet n(/*transport=*/true);
  n.Phase1();
  n.Phase2();
  REQUIRE(n.net.a.Established(2));
  REQUIRE(n.net.b.Established(2));
  REQUIRE(n.log.size() == 9);
  auto addresses = [](const std::vector<wire::Payload>& payloads) {
    std::vector<std::string> out;
    for (const auto& p : payloads) {
      if (p.type != wire::PayloadType::kNatOa) continue;
      const Bytes& d = std::get<wire::UnknownPayload>(p.body).data;
      REQUIRE(d.size() == 8);
      CHECK(d[0] == 1);  // ID_IPV4_ADDR
      out.push_back(IpAddress::FromBytes(ByteView(d).subspan(4))->ToString());
    }
    return out;
  };
  const auto qm1 = OpenPayloads(n.Context(n.net.b), n.log[6]);
  const auto qm2 = OpenPayloads(n.Context(n.net.a), n.log[7], &n.log[6]);
  CHECK(OfferedEncapsulation(qm1) == nat_traversal::kUdpEncapsulatedTransport);
  // HDR*, HASH(1), SA, Ni, KE, IDci, IDcr, NAT-OAi, NAT-OAr -->
  CHECK(addresses(qm1) == std::vector<std::string>{kHostA, kHostB});
  // <-- HDR*, HASH(2), SA, Nr, KE, IDci, IDcr, NAT-OAi, NAT-OAr (as B sees them)
  CHECK(addresses(qm2) == std::vector<std::string>{kNat, kHostB});
  for (const auto* h : {&n.net.a, &n.net.b})
    for (const auto& sa : h->Established(2)->phase2_established().sa()) CHECK(sa.transport());
  const std::string log = syslogd.Drain();
  INFO(log);
  CHECK_THAT(log, Catch::Contains("the peer's NAT-OA (original addresses, RFC 3947 5.2): "
                                  "192.0.2.1, 192.0.2.2"));
  CHECK_THAT(log, Catch::Contains("the peer's NAT-OA (original addresses, RFC 3947 5.2): "
                                  "198.51.100.254, 192.0.2.2"));

  NatNet tunnel;
  tunnel.Phase1();
  tunnel.Phase2();
  REQUIRE(tunnel.net.b.Established(2));
  CHECK(addresses(OpenPayloads(tunnel.Context(tunnel.net.b), tunnel.log[6])).empty());
  SetLogLevel(LogLevel::kEvents);
}

// strongSwan with kernel-libipsec and NAT-T off here answers Quick Mode,
// cannot install plain ESP, and deletes the pair naming *our* inbound SPI
// (interop matrix row nat_off_ours): the pair goes on our side too.
TEST_CASE("a Delete naming our inbound SPI (strongSwan's failed install) removes the pair",
          "[nat]") {
  ike::testing::FakeSyslogd syslogd("isakmpd_nat_traversal_test");
  Pair net;
  net.EstablishPhase1();
  net.EstablishPhase2();
  const auto& est = net.a.Established(2)->phase2_established();
  const uint32_t our_in = est.sa(0).spi();
  wire::DeletePayload d;
  d.protocol = uint8_t(wire::ProtocolId::kIpsecEsp);
  d.spi_size = 4;
  d.spis.push_back(
      {uint8_t(our_in >> 24), uint8_t(our_in >> 16), uint8_t(our_in >> 8), uint8_t(our_in)});
  SaManagerTestPeer b(net.b.manager);
  b.SendInformational(b.FirstSa(), {wire::MakePayload(std::move(d))});
  net.Run();
  CHECK(net.a.manager.quick_mode_count() == 0);
  CHECK(net.a.Find([](const ipc::Envelope& e) {
    return e.has_sa_deleted() && e.sa_deleted().phase() == 2;
  }) != nullptr);
  CHECK_THAT(syslogd.Drain(), Catch::Contains("peer deleted phase 2 tunnel 1"));
}

}  // namespace
}  // namespace ike::isakmpd::testing
