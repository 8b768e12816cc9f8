// Byte-exact encodings and round trips of the ISAKMP codec (RFC 2408 section
// 3, RFC 2407 section 4.6), plus the name tables.
#include <catch2/catch.hpp>
#include <string>

#include "isakmpd/wire/sa_attributes.h"
#include "isakmpd/wire/wire.h"

namespace ike::wire {
namespace {

// Hex with the spaces removed, for vectors written field by field.
std::string Spaced(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ') out += c;
  return out;
}

Bytes Hex(std::string s) {
  std::string compact;
  for (char c : s)
    if (c != ' ' && c != '\n') compact += c;
  Bytes out;
  REQUIRE(FromHex(compact, &out));
  return out;
}

Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }

Cookie MakeCookie(uint8_t first) {
  Cookie c{};
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(first + 0x11 * i);
  return c;
}

// Header + payload chain, with the header's next payload and length set.
Bytes BuildMessage(Header h, std::vector<Payload>& payloads) {
  Bytes body = EncodePayloads(payloads);
  h.next_payload = payloads.empty() ? PayloadType::kNone : payloads[0].type;
  h.length = static_cast<uint32_t>(kHeaderLength + body.size());
  Bytes out = EncodeHeader(h);
  Append(out, body);
  return out;
}

// Returns the parsed value, failing the test with the error's text otherwise.
template <typename T>
T Expect(ParseResult<T> r) {
  if (auto* e = std::get_if<ParseError>(&r))
    FAIL(NotifyTypeName(uint16_t(e->notify)) << ": " << e->detail << " @" << e->offset);
  return std::get<T>(std::move(r));
}

ParseError ExpectError(const ParseResult<std::vector<Payload>>& r) {
  REQUIRE(std::holds_alternative<ParseError>(r));
  return std::get<ParseError>(r);
}

// Parses and re-encodes a chain; the bytes must be identical.
std::vector<Payload> RoundTrip(std::vector<Payload> payloads) {
  const Bytes body = EncodePayloads(payloads);
  auto parsed = Expect(ParsePayloads(payloads[0].type, body));
  REQUIRE(parsed.size() == payloads.size());
  size_t at = 0;
  for (size_t i = 0; i < parsed.size(); ++i) {
    CHECK(parsed[i].type == payloads[i].type);
    CHECK(parsed[i].raw == payloads[i].raw);
    CHECK(Bytes(body.begin() + at, body.begin() + at + parsed[i].raw.size()) == parsed[i].raw);
    at += parsed[i].raw.size();
  }
  auto again = parsed;
  CHECK(EncodePayloads(again) == body);
  return parsed;
}

// The main mode message 1 written by hand from RFC 2408 3.1/3.4-3.6 and RFC
// 2409 Appendix A: one proposal, one KEY_IKE transform with AES-CBC-128,
// SHA, pre-shared key, MODP1024 (group 2), 28800 seconds.
const char kMm1Hex[] =
    "0011223344556677 0000000000000000 01 10 02 00 00000000 00000054"  // HDR
    "00 00 0038 00000001 00000001"                                     // SA: DOI, SIT
    "00 00 002c 01 01 00 01"                                           // P #1 ISAKMP
    "00 00 0024 01 01 0000"                                            // T #1 KEY_IKE
    "8001 0007 800e 0080 8002 0002 8003 0001 8004 0002 800b 0001 800c 7080";

IkeTransformAttrs Aes128Sha1PskModp1024() {
  IkeTransformAttrs a;
  a.encryption = 7;
  a.key_length = 128;
  a.hash = 2;
  a.auth_method = 1;
  a.group = 2;
  a.life_seconds = 28800;
  return a;
}

TEST_CASE("main mode message 1 encodes byte-exactly", "[wire]") {
  SaPayload sa;
  Proposal p;
  p.transforms.push_back(EncodeIkeTransform(1, Aes128Sha1PskModp1024()));
  sa.proposals.push_back(p);
  std::vector<Payload> payloads{MakePayload(sa)};
  Header h;
  h.icookie = MakeCookie(0x00);
  h.exchange = ExchangeType::kIdentityProtection;
  CHECK(ToHex(BuildMessage(h, payloads)) == ToHex(Hex(kMm1Hex)));
}

TEST_CASE("main mode message 1 parses from the hand-written vector", "[wire]") {
  const Bytes msg = Hex(kMm1Hex);
  const Header h = Expect(ParseHeader(msg));
  CHECK(h.icookie == MakeCookie(0x00));
  CHECK(h.rcookie == Cookie{});
  CHECK(h.next_payload == PayloadType::kSa);
  CHECK(h.version == kIsakmpVersion);
  CHECK(h.exchange == ExchangeType::kIdentityProtection);
  CHECK(h.length == 84);
  const auto body = ByteView(msg).subspan(kHeaderLength, h.length - kHeaderLength);
  const auto payloads = Expect(ParsePayloads(h.next_payload, body));
  REQUIRE(payloads.size() == 1);
  CHECK(payloads[0].raw == Bytes(msg.begin() + 28, msg.end()));
  CHECK(payloads[0].raw_body().size() == 52);
  const auto* sa = FindBody<SaPayload>(payloads);
  REQUIRE(sa != nullptr);
  CHECK(sa->doi == 1);
  CHECK(sa->situation == 1);
  REQUIRE(sa->proposals.size() == 1);
  CHECK(sa->proposals[0].protocol == uint8_t(ProtocolId::kIsakmp));
  CHECK(sa->proposals[0].spi.empty());
  REQUIRE(sa->proposals[0].transforms.size() == 1);
  const auto attrs = Expect(DecodeIkeTransform(sa->proposals[0].transforms[0]));
  CHECK(attrs.encryption == 7);
  CHECK(attrs.key_length == 128);
  CHECK(attrs.hash == 2);
  CHECK(attrs.auth_method == 1);
  CHECK(attrs.group == 2);
  CHECK(attrs.life_seconds == 28800);
  CHECK(attrs.life_kbytes == 0);
  CHECK(attrs.unsupported.empty());
}

TEST_CASE("header encodes and parses every field", "[wire]") {
  Header h;
  h.icookie = MakeCookie(0x01);
  h.rcookie = MakeCookie(0x80);
  h.next_payload = PayloadType::kHash;
  h.exchange = ExchangeType::kQuickMode;
  h.flags = kFlagEncryption | kFlagCommit;
  h.message_id = 0xdeadbeef;
  h.length = 28;
  const Bytes b = EncodeHeader(h);
  CHECK(ToHex(b) == Spaced("0112233445566778 8091a2b3c4d5e6f7 08 10 20 03 deadbeef 0000001c"));
  const Header p = Expect(ParseHeader(b));
  CHECK(p.icookie == h.icookie);
  CHECK(p.rcookie == h.rcookie);
  CHECK(p.next_payload == h.next_payload);
  CHECK(p.exchange == h.exchange);
  CHECK(p.flags == h.flags);
  CHECK(p.message_id == h.message_id);
  CHECK(p.length == 28);
}

TEST_CASE("header checks size, length and major version", "[wire]") {
  Header h;
  h.length = 40;
  Bytes b = EncodeHeader(h);
  b.resize(40, 0);
  SECTION("trailing bytes beyond the length are ignored") {
    b.resize(60, 0xee);
    CHECK(Expect(ParseHeader(b)).length == 40);
  }
  SECTION("too short") {
    auto r = ParseHeader(ByteView(b).first(27));
    REQUIRE(std::holds_alternative<ParseError>(r));
    CHECK(std::get<ParseError>(r).notify == NotifyType::kPayloadMalformed);
  }
  SECTION("length below 28") {
    b[27] = 27;
    auto r = ParseHeader(b);
    REQUIRE(std::holds_alternative<ParseError>(r));
    CHECK(std::get<ParseError>(r).offset == 24);
  }
  SECTION("length beyond the buffer") {
    b[27] = 41;
    CHECK(std::holds_alternative<ParseError>(ParseHeader(b)));
  }
  SECTION("major version 2 (IKEv2)") {
    b[17] = 0x20;
    auto r = ParseHeader(b);
    REQUIRE(std::holds_alternative<ParseError>(r));
    CHECK(std::get<ParseError>(r).notify == NotifyType::kInvalidMajorVersion);
  }
  SECTION("minor version is not checked") {
    b[17] = 0x11;
    CHECK(std::holds_alternative<Header>(ParseHeader(b)));
  }
}

TEST_CASE("ID payload encodes byte-exactly (RFC 2407 4.6.2)", "[wire]") {
  IdPayload id;
  id.type = uint8_t(IdType::kIpv4AddrSubnet);
  id.protocol = 17;
  id.port = 500;
  id.data = {198, 51, 100, 0, 255, 255, 255, 0};
  std::vector<Payload> payloads{MakePayload(id)};
  CHECK(ToHex(EncodePayloads(payloads)) == Spaced("00000010 041101f4 c6336400ffffff00"));
  CHECK(ToHex(payloads[0].raw) == "00000010041101f4c6336400ffffff00");
}

TEST_CASE("notify and delete encode byte-exactly (RFC 2408 3.14, 3.15)", "[wire]") {
  NotifyPayload n;
  n.protocol = uint8_t(ProtocolId::kIsakmp);
  n.spi = Bytes(16, 0xab);
  n.type = uint16_t(NotifyType::kRUThere);
  n.data = {0, 0, 0, 7};
  DeletePayload d;
  d.protocol = uint8_t(ProtocolId::kIpsecEsp);
  d.spi_size = 4;
  d.spis = {{1, 2, 3, 4}, {5, 6, 7, 8}};
  std::vector<Payload> payloads{MakePayload(n), MakePayload(d)};
  std::string spi_hex;
  for (int i = 0; i < 16; ++i) spi_hex += "ab";
  // N(R-U-THERE, ISAKMP SPI) then D(ESP, two SPIs).
  CHECK(ToHex(EncodePayloads(payloads)) ==
        Spaced("0c000020 00000001 01 10 8d28") + spi_hex + Spaced("00000007") +
            Spaced("00000014 00000001 03 04 0002 01020304 05060708"));
}

TEST_CASE("a quick mode message 1 round-trips with every field", "[wire]") {
  HashPayload hash{Bytes(20, 0x11)};
  SaPayload sa;
  Proposal p;
  p.protocol = uint8_t(ProtocolId::kIpsecEsp);
  p.spi = {0xc0, 0x01, 0xd0, 0x0d};
  IpsecTransformAttrs esp;
  esp.transform_id = 12;
  esp.key_length = 256;
  esp.auth_algorithm = 5;
  esp.encapsulation = kEncapsulationTunnel;
  esp.group = 14;
  esp.life_seconds = 3600;
  esp.life_kbytes = 4608000;
  p.transforms.push_back(EncodeIpsecTransform(1, esp));
  esp.transform_id = 3;
  esp.key_length = 0;
  p.transforms.push_back(EncodeIpsecTransform(2, esp));
  sa.proposals.push_back(p);
  p.number = 2;
  p.protocol = uint8_t(ProtocolId::kIpsecAh);
  sa.proposals.push_back(p);
  NoncePayload nonce{Bytes(32, 0x22)};
  KeyExchangePayload ke{Bytes(256, 0x33)};
  IdPayload idci{uint8_t(IdType::kIpv4Addr), 0, 0, {192, 0, 2, 1}};
  IdPayload idcr{uint8_t(IdType::kIpv6AddrRange), 6, 443, Bytes(32, 0x44)};
  auto parsed = RoundTrip({MakePayload(hash), MakePayload(sa), MakePayload(nonce), MakePayload(ke),
                           MakePayload(idci), MakePayload(idcr)});
  CHECK(DescribePayloads(parsed) == "HASH, SA, NONCE, KE, ID, ID");
  const auto& psa = std::get<SaPayload>(parsed[1].body);
  REQUIRE(psa.proposals.size() == 2);
  CHECK(psa.proposals[1].number == 2);
  CHECK(psa.proposals[1].protocol == uint8_t(ProtocolId::kIpsecAh));
  CHECK(psa.proposals[0].spi == Bytes{0xc0, 0x01, 0xd0, 0x0d});
  REQUIRE(psa.proposals[0].transforms.size() == 2);
  const auto t1 = Expect(DecodeIpsecTransform(psa.proposals[0].transforms[0]));
  CHECK(t1.transform_id == 12);
  CHECK(t1.key_length == 256);
  CHECK(t1.life_kbytes == 4608000);
  CHECK(std::get<IdPayload>(parsed[5].body).port == 443);
  CHECK(std::get<IdPayload>(parsed[5].body).protocol == 6);
}

TEST_CASE("every payload type round-trips", "[wire]") {
  std::vector<Payload> all{
      MakePayload(KeyExchangePayload{Bytes(128, 1)}),
      MakePayload(IdPayload{uint8_t(IdType::kFqdn), 17, 500, Str("vpn.example.com")}),
      MakePayload(CertificatePayload{4, Bytes(300, 2)}),
      MakePayload(CertificateRequestPayload{4, Bytes(20, 3)}),
      MakePayload(CertificateRequestPayload{4, {}}),
      MakePayload(HashPayload{Bytes(32, 4)}),
      MakePayload(SignaturePayload{Bytes(256, 5)}),
      MakePayload(NoncePayload{Bytes(16, 6)}),
      MakePayload(NotifyPayload{
          1, 3, {1, 2, 3, 4}, uint16_t(NotifyType::kResponderLifetime), {0x80, 0x01, 0x00, 0x01}}),
      MakePayload(NotifyPayload{1, 1, {}, uint16_t(NotifyType::kInitialContact), {}}),
      MakePayload(DeletePayload{1, 1, 16, {Bytes(16, 7)}}),
      MakePayload(DeletePayload{1, 3, 4, {}}),
      MakePayload(VendorIdPayload{Bytes(16, 8)}),
      MakePayload(UnknownPayload{uint8_t(PayloadType::kNatD), Bytes(20, 9)}),
      MakePayload(UnknownPayload{uint8_t(PayloadType::kNatOa), {1, 0, 0, 0, 10, 0, 0, 1}}),
      MakePayload(HashPayload{{}}),
  };
  auto parsed = RoundTrip(all);
  CHECK(DescribePayloads(parsed) ==
        "KE, ID, CERT, CR, CR, HASH, SIG, NONCE, N, N, D, D, VID, NAT-D, NAT-OA, HASH");
  CHECK(std::get<IdPayload>(parsed[1].body).data == Str("vpn.example.com"));
  CHECK(std::get<CertificatePayload>(parsed[2].body).encoding == 4);
  CHECK(std::get<CertificatePayload>(parsed[2].body).data.size() == 300);
  CHECK(std::get<CertificateRequestPayload>(parsed[4].body).authority.empty());
  const auto& n = std::get<NotifyPayload>(parsed[8].body);
  CHECK(n.protocol == 3);
  CHECK(n.spi == Bytes{1, 2, 3, 4});
  CHECK(n.type == uint16_t(NotifyType::kResponderLifetime));
  CHECK(n.data == Bytes{0x80, 0x01, 0x00, 0x01});
  const auto& d = std::get<DeletePayload>(parsed[10].body);
  CHECK(d.spi_size == 16);
  REQUIRE(d.spis.size() == 1);
  CHECK(d.spis[0] == Bytes(16, 7));
  CHECK(std::get<UnknownPayload>(parsed[13].body).type == 20);
  CHECK(parsed[13].type == PayloadType::kNatD);
  CHECK(Find(parsed, PayloadType::kNatOa) == &parsed[14]);
  CHECK(Find(parsed, PayloadType::kSa) == nullptr);
  CHECK(FindBody<NoncePayload>(parsed)->data == Bytes(16, 6));
}

TEST_CASE("SA with several proposals and attributes of both forms round-trips", "[wire]") {
  SaPayload sa;
  for (uint8_t n = 1; n <= 3; ++n) {
    Proposal p;
    p.number = n;
    for (uint8_t t = 1; t <= n; ++t) {
      Transform tr;
      tr.number = t;
      tr.id = 1;
      tr.attributes.push_back(Attribute::Basic(1, t));
      tr.attributes.push_back(Attribute::Integer(12, 0x1000000 + t));
      Attribute v;
      v.type = 16;
      v.basic = false;
      v.data = Bytes(t * 3, t);  // odd-sized variable attribute
      tr.attributes.push_back(v);
      p.transforms.push_back(tr);
    }
    sa.proposals.push_back(p);
  }
  auto parsed = RoundTrip({MakePayload(sa)});
  const auto& psa = std::get<SaPayload>(parsed[0].body);
  REQUIRE(psa.proposals.size() == 3);
  REQUIRE(psa.proposals[2].transforms.size() == 3);
  const auto& attrs = psa.proposals[2].transforms[2].attributes;
  REQUIRE(attrs.size() == 3);
  CHECK(attrs[0].basic);
  CHECK(attrs[0].value == 3);
  CHECK_FALSE(attrs[1].basic);
  CHECK(attrs[1].AsInteger() == 0x1000003);
  CHECK(attrs[2].data == Bytes(9, 3));
  CHECK(attrs[2].AsInteger() == std::nullopt);
}

TEST_CASE("Attribute::Integer picks basic, then at least 4 octets", "[wire]") {
  CHECK(Attribute::Integer(12, 0).basic);
  CHECK(Attribute::Integer(12, 0xffff).basic);
  CHECK(Attribute::Integer(12, 0xffff).value == 0xffff);
  auto a = Attribute::Integer(12, 0x10000);
  CHECK_FALSE(a.basic);
  CHECK(a.data == Bytes{0, 1, 0, 0});
  CHECK(Attribute::Integer(12, 0xffffffff).data == Bytes{0xff, 0xff, 0xff, 0xff});
  CHECK(Attribute::Integer(12, 0x100000000).data == Bytes{1, 0, 0, 0, 0});
  CHECK(Attribute::Integer(12, ~uint64_t{0}).data == Bytes(8, 0xff));
  CHECK(Attribute::Integer(12, ~uint64_t{0}).AsInteger() == ~uint64_t{0});
  std::vector<Payload> p{MakePayload(SaPayload{})};
  Transform t;
  t.attributes = {Attribute::Integer(12, 172800)};
  Proposal prop;
  prop.transforms = {t};
  std::get<SaPayload>(p[0].body).proposals = {prop};
  // TLV: type 12 without AF, length 4, value 0x0002a300.
  CHECK(ToHex(EncodePayloads(p)).ends_with("000c00040002a300"));
}

TEST_CASE("unknown payload types", "[wire]") {
  VendorIdPayload vid{{1, 2, 3}};
  // 200: private use, nobody's (130 and 131 are the NAT-T drafts' NAT-D and NAT-OA).
  std::vector<Payload> payloads{MakePayload(UnknownPayload{200, {9, 9}}), MakePayload(vid)};
  const Bytes body = EncodePayloads(payloads);
  SECTION("rejected by default") {
    auto e = ExpectError(ParsePayloads(PayloadType(200), body));
    CHECK(e.notify == NotifyType::kInvalidPayloadType);
    CHECK(e.offset == 4);
  }
  SECTION("kept when allowed, and the chain continues") {
    const auto p = Expect(ParsePayloads(PayloadType(200), body, true));
    REQUIRE(p.size() == 2);
    CHECK(std::get<UnknownPayload>(p[0].body).type == 200);
    CHECK(std::get<UnknownPayload>(p[0].body).data == Bytes{9, 9});
    CHECK(DescribePayloads(p) == "UNKNOWN(200), VID");
  }
  SECTION("proposal and transform are never top-level payloads") {
    CHECK(ExpectError(ParsePayloads(PayloadType::kProposal, body, true)).notify ==
          NotifyType::kInvalidPayloadType);
    CHECK(ExpectError(ParsePayloads(PayloadType::kTransform, body, true)).notify ==
          NotifyType::kInvalidPayloadType);
  }
}

TEST_CASE("an empty chain and trailing padding", "[wire]") {
  CHECK(Expect(ParsePayloads(PayloadType::kNone, Bytes{1, 2, 3})).empty());
  std::vector<Payload> p{MakePayload(HashPayload{Bytes(20, 1)})};
  Bytes body = EncodePayloads(p);
  body.insert(body.end(), {0, 0, 0, 0, 0, 0, 0, 7});  // CBC padding
  const auto parsed = Expect(ParsePayloads(PayloadType::kHash, body));
  REQUIRE(parsed.size() == 1);
  CHECK(parsed[0].raw.size() == 24);
}

TEST_CASE("name tables use RFC spellings", "[wire]") {
  CHECK(NotifyTypeName(14) == "NO-PROPOSAL-CHOSEN");
  CHECK(NotifyTypeName(18) == "INVALID-ID-INFORMATION");
  CHECK(NotifyTypeName(24) == "AUTHENTICATION-FAILED");
  CHECK(NotifyTypeName(16) == "PAYLOAD-MALFORMED");
  CHECK(NotifyTypeName(24578) == "INITIAL-CONTACT");
  CHECK(NotifyTypeName(36136) == "R-U-THERE");
  CHECK(NotifyTypeName(36137) == "R-U-THERE-ACK");
  CHECK(NotifyTypeName(24576) == "RESPONDER-LIFETIME");
  CHECK(NotifyTypeName(9999) == "NOTIFY(9999)");
  for (uint16_t n = 1; n <= 30; ++n) CHECK(NotifyTypeName(n).find("NOTIFY(") == std::string::npos);
  CHECK(std::string(IdTypeName(1)) == "ID_IPV4_ADDR");
  CHECK(std::string(IdTypeName(4)) == "ID_IPV4_ADDR_SUBNET");
  CHECK(std::string(IdTypeName(7)) == "ID_IPV4_ADDR_RANGE");
  CHECK(std::string(IdTypeName(11)) == "ID_KEY_ID");
  CHECK(std::string(IdTypeName(200)) == "ID_UNKNOWN");
  CHECK(std::string(ExchangeTypeName(ExchangeType::kIdentityProtection)) == "Main Mode");
  CHECK(std::string(ExchangeTypeName(ExchangeType::kQuickMode)) == "Quick Mode");
  CHECK(std::string(ExchangeTypeName(ExchangeType::kAggressive)) == "Aggressive Mode");
  CHECK(std::string(ExchangeTypeName(ExchangeType(99))) == "unknown exchange");
  CHECK(std::string(PayloadTypeName(PayloadType::kSa)) == "SA");
  CHECK(std::string(PayloadTypeName(PayloadType::kNatD)) == "NAT-D");
  CHECK(std::string(MessageKindName(MessageKind::kQuickMode2)) == "Quick Mode message 2");
  CHECK(std::string(MessageKindName(MessageKind::kInformational)) == "Informational");
}

}  // namespace
}  // namespace ike::wire
