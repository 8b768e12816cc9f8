// Hostile input for the ISAKMP codec: truncation at every prefix, corrupted
// length and count fields, malformed SA nesting (RFC 2408 3.4-3.6, 4.2),
// seeded random bytes and seeded mutations of valid messages. Every input
// must give a ParseError or a message that re-encodes stably; none may crash
// (scripts/test runs it under ASan + UBSan too: build-asan, -DSANITIZE=ON).
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "isakmpd/wire/sa_attributes.h"
#include "isakmpd/wire/wire.h"

namespace ike::wire {
namespace {

struct Message {
  PayloadType first = PayloadType::kNone;
  Bytes bytes;  // header + payloads
};

Message Build(ExchangeType exchange, std::vector<Payload> payloads) {
  Header h;
  h.icookie = {1, 2, 3, 4, 5, 6, 7, 8};
  h.rcookie = {8, 7, 6, 5, 4, 3, 2, 1};
  h.exchange = exchange;
  const Bytes body = EncodePayloads(payloads);
  h.next_payload = payloads[0].type;
  h.length = static_cast<uint32_t>(kHeaderLength + body.size());
  Message m{h.next_payload, EncodeHeader(h)};
  Append(m.bytes, body);
  return m;
}

Proposal EspProposal(uint8_t number, int transforms) {
  Proposal p;
  p.number = number;
  p.protocol = uint8_t(ProtocolId::kIpsecEsp);
  p.spi = {0x12, 0x34, 0x56, 0x78};
  for (int i = 1; i <= transforms; ++i) {
    IpsecTransformAttrs a;
    a.transform_id = 12;
    a.key_length = 128;
    a.auth_algorithm = 2;
    a.encapsulation = kEncapsulationTunnel;
    a.life_seconds = 3600 * i * 100;  // > 0xffff for i >= 1: TLV durations
    a.life_kbytes = 4608000;
    p.transforms.push_back(EncodeIpsecTransform(static_cast<uint8_t>(i), a));
  }
  return p;
}

std::vector<Message> SampleMessages() {
  std::vector<Message> out;
  {  // MM1: HDR, SA, VID
    IkeTransformAttrs a{7, 128, 2, 1, 2, 28800, 0, {}};
    Proposal p;
    p.transforms = {EncodeIkeTransform(1, a), EncodeIkeTransform(2, a)};
    SaPayload sa;
    sa.proposals = {p};
    out.push_back(Build(ExchangeType::kIdentityProtection,
                        {MakePayload(sa), MakePayload(VendorIdPayload{Bytes(16, 0xaf)})}));
  }
  // MM3: HDR, KE, Ni, NAT-D, NAT-D
  out.push_back(Build(
      ExchangeType::kIdentityProtection,
      {MakePayload(KeyExchangePayload{Bytes(128, 0x55)}),
       MakePayload(NoncePayload{Bytes(16, 0x66)}), MakePayload(UnknownPayload{20, Bytes(20, 1)}),
       MakePayload(UnknownPayload{20, Bytes(20, 2)})}));
  // MM5: HDR*, IDii, HASH_I, N(INITIAL-CONTACT), CERT, CR
  out.push_back(Build(
      ExchangeType::kIdentityProtection,
      {MakePayload(IdPayload{uint8_t(IdType::kIpv4Addr), 17, 500, {192, 0, 2, 1}}),
       MakePayload(HashPayload{Bytes(20, 0x77)}),
       MakePayload(NotifyPayload{1, 1, Bytes(16, 9), uint16_t(NotifyType::kInitialContact), {}}),
       MakePayload(CertificatePayload{4, Bytes(40, 3)}),
       MakePayload(CertificateRequestPayload{4, {}})}));
  {  // QM1: HDR*, HASH(1), SA, Ni, KE, IDci, IDcr, N
    SaPayload sa;
    sa.proposals = {EspProposal(1, 3), EspProposal(2, 1)};
    out.push_back(
        Build(ExchangeType::kQuickMode,
              {MakePayload(HashPayload{Bytes(20, 0x11)}), MakePayload(sa),
               MakePayload(NoncePayload{Bytes(16, 0x22)}),
               MakePayload(KeyExchangePayload{Bytes(64, 0x33)}),
               MakePayload(
                   IdPayload{uint8_t(IdType::kIpv4AddrSubnet), 0, 0, {10, 0, 0, 0, 255, 0, 0, 0}}),
               MakePayload(IdPayload{uint8_t(IdType::kIpv6AddrRange), 0, 0, Bytes(32, 0xfe)}),
               MakePayload(NotifyPayload{1, 3, {1, 2, 3, 4}, 24576, {0x80, 1, 0, 1}})}));
  }
  // Informational: HDR*, HASH(1), D, N(R-U-THERE)
  out.push_back(Build(ExchangeType::kInformational,
                      {MakePayload(HashPayload{Bytes(20, 0x44)}),
                       MakePayload(DeletePayload{1, 3, 4, {{1, 1, 1, 1}, {2, 2, 2, 2}}}),
                       MakePayload(NotifyPayload{1, 1, Bytes(16, 5), 36136, {0, 0, 0, 1}})}));
  return out;
}

// Header, then the payloads within the header's length.
ParseResult<std::vector<Payload>> ParseMessage(ByteView packet, bool allow_unknown = false) {
  auto h = ParseHeader(packet);
  if (auto* e = std::get_if<ParseError>(&h)) return *e;
  const Header& hdr = std::get<Header>(h);
  return ParsePayloads(hdr.next_payload, packet.subspan(kHeaderLength, hdr.length - kHeaderLength),
                       allow_unknown);
}

bool IsError(const ParseResult<std::vector<Payload>>& r) {
  return std::holds_alternative<ParseError>(r);
}

NotifyType ErrorOf(const ParseResult<std::vector<Payload>>& r) {
  REQUIRE(IsError(r));
  return std::get<ParseError>(r).notify;
}

// A successful parse must re-encode to bytes that parse to the same encoding.
void CheckStable(std::vector<Payload> parsed, bool allow_unknown) {
  const Bytes once = EncodePayloads(parsed);
  const PayloadType first = parsed.empty() ? PayloadType::kNone : parsed[0].type;
  auto again = ParsePayloads(first, once, allow_unknown);
  REQUIRE_FALSE(IsError(again));
  auto& reparsed = std::get<std::vector<Payload>>(again);
  REQUIRE(reparsed.size() == parsed.size());
  REQUIRE(EncodePayloads(reparsed) == once);
}

TEST_CASE("sample messages parse and re-encode identically", "[wire]") {
  for (const auto& m : SampleMessages()) {
    auto r = ParseMessage(m.bytes);
    REQUIRE_FALSE(IsError(r));
    auto payloads = std::get<std::vector<Payload>>(r);
    Bytes body(m.bytes.begin() + kHeaderLength, m.bytes.end());
    CHECK(EncodePayloads(payloads) == body);
  }
}

TEST_CASE("every truncated prefix is a parse error", "[wire]") {
  for (const auto& m : SampleMessages()) {
    CAPTURE(m.bytes.size());
    // The whole packet cut short: the header length no longer fits.
    for (size_t n = 0; n < m.bytes.size(); ++n) {
      CAPTURE(n);
      REQUIRE(IsError(ParseMessage(ByteView(m.bytes).first(n))));
    }
    // The payload chain cut short, as if the header length had been shrunk
    // to match: only the chain structure can tell.
    const ByteView body = ByteView(m.bytes).subspan(kHeaderLength);
    for (size_t n = 0; n < body.size(); ++n) {
      CAPTURE(n);
      REQUIRE(IsError(ParsePayloads(m.first, body.first(n))));
      REQUIRE(IsError(ParsePayloads(m.first, body.first(n), true)));
    }
  }
}

// Offsets inside the MM1 sample (body-relative): SA generic header at 0,
// proposal at 12, first transform at 20.
constexpr size_t kSaLen = 2, kPropNext = 12, kPropLen = 14, kNumTransforms = 19;
constexpr size_t kT1Next = 20, kT1Len = 22, kT2Next = 20 + 36;

Bytes Mm1Body() {
  const Bytes b = SampleMessages()[0].bytes;
  return Bytes(b.begin() + kHeaderLength, b.end());
}

void Put16(Bytes& b, size_t at, unsigned v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
unsigned Get16(const Bytes& b, size_t at) { return (b[at] << 8) | b[at + 1]; }

TEST_CASE("corrupted SA, proposal and transform lengths are rejected", "[wire]") {
  const Bytes good = Mm1Body();
  REQUIRE(Get16(good, kT1Len) == 36);
  for (size_t field : {kSaLen, kPropLen, kT1Len}) {
    const unsigned len = Get16(good, field);
    for (unsigned v : {0u, 1u, 3u, 4u, 7u, len - 1, len + 1, len + 4, 0xffffu}) {
      CAPTURE(field, v);
      Bytes b = good;
      Put16(b, field, v);
      CHECK(IsError(ParsePayloads(PayloadType::kSa, b)));
    }
  }
}

TEST_CASE("every 16-bit field set to hostile values never crashes", "[wire]") {
  for (const auto& m : SampleMessages()) {
    const Bytes good(m.bytes.begin() + kHeaderLength, m.bytes.end());
    for (size_t at = 0; at + 1 < good.size(); ++at) {
      for (unsigned v : {0u, 1u, 3u, 4u, 5u, 8u, 0x7fffu, 0x8000u, 0xffffu}) {
        Bytes b = good;
        Put16(b, at, v);
        for (bool allow : {false, true}) {
          auto r = ParsePayloads(m.first, b, allow);
          if (!IsError(r)) CheckStable(std::get<std::vector<Payload>>(r), allow);
        }
      }
    }
  }
}

TEST_CASE("a payload length below 4 or past the end is PAYLOAD-MALFORMED", "[wire]") {
  const Message m = SampleMessages()[1];  // MM3
  Bytes body(m.bytes.begin() + kHeaderLength, m.bytes.end());
  Bytes b = body;
  Put16(b, 2, 3);
  CHECK(ErrorOf(ParsePayloads(m.first, b)) == NotifyType::kPayloadMalformed);
  CHECK(std::get<ParseError>(ParsePayloads(m.first, b)).offset == 2);
  b = body;
  const size_t last = body.size() - 24;  // last NAT-D: 4 + 20
  REQUIRE(Get16(b, last + 2) == 24);
  Put16(b, last + 2, 25);
  CHECK(ErrorOf(ParsePayloads(m.first, b)) == NotifyType::kPayloadMalformed);
  // The header length field corrupted.
  Bytes msg = m.bytes;
  msg[27] = static_cast<uint8_t>(msg[27] + 1);
  CHECK(IsError(ParseMessage(msg)));
  msg[27] = 20;
  CHECK(IsError(ParseMessage(msg)));
}

TEST_CASE("SA nesting errors give specific notifies (RFC 2408 4.2, 5.5, 5.6)", "[wire]") {
  const Bytes good = Mm1Body();
  Bytes b = good;
  SECTION("no transforms") {
    b[kNumTransforms] = 0;
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kBadProposalSyntax);
  }
  SECTION("more transforms announced than present") {
    b[kNumTransforms] = 3;
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kBadProposalSyntax);
  }
  SECTION("fewer transforms announced than present") {
    b[kNumTransforms] = 1;
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kBadProposalSyntax);
  }
  SECTION("transform next-payload wrong") {
    b[kT1Next] = 0;
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kBadProposalSyntax);
    b = good;
    b[kT2Next] = 3;
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kBadProposalSyntax);
  }
  SECTION("last proposal says more follow") {
    b[kPropNext] = 2;
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kBadProposalSyntax);
  }
  SECTION("SA without proposals") {
    Bytes sa = {0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, sa)) == NotifyType::kBadProposalSyntax);
  }
  SECTION("unsupported DOI and situation") {
    b[7] = 2;
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kDoiNotSupported);
    b = good;
    b[11] = 3;  // SIT_IDENTITY_ONLY | SIT_SECRECY
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kSituationNotSupported);
  }
  SECTION("attribute overruns its transform") {
    b[kT1Next + 8] = 0x00;        // first attribute becomes a TLV...
    Put16(b, kT1Next + 10, 100);  // ...longer than the transform
    CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, b)) == NotifyType::kPayloadMalformed);
  }
}

TEST_CASE("ESP SPI size, ID lengths and delete counts are checked", "[wire]") {
  SaPayload sa;
  sa.proposals = {EspProposal(1, 1)};
  sa.proposals[0].spi = {1, 2, 3};
  std::vector<Payload> p{MakePayload(sa)};
  CHECK(ErrorOf(ParsePayloads(PayloadType::kSa, EncodePayloads(p))) == NotifyType::kInvalidSpi);

  p = {MakePayload(IdPayload{uint8_t(IdType::kIpv4Addr), 0, 0, {10, 0, 0}})};
  CHECK(ErrorOf(ParsePayloads(PayloadType::kIdentification, EncodePayloads(p))) ==
        NotifyType::kInvalidIdInformation);
  p = {MakePayload(IdPayload{uint8_t(IdType::kIpv6AddrSubnet), 0, 0, Bytes(16, 0)})};
  CHECK(ErrorOf(ParsePayloads(PayloadType::kIdentification, EncodePayloads(p))) ==
        NotifyType::kInvalidIdInformation);

  p = {MakePayload(DeletePayload{1, 3, 4, {{1, 2, 3, 4}}})};
  Bytes b = EncodePayloads(p);
  b[11] = 2;  // count 2, one SPI present
  CHECK(ErrorOf(ParsePayloads(PayloadType::kDelete, b)) == NotifyType::kPayloadMalformed);
  b[10] = 0, b[11] = 0;  // count 0 with SPI bytes left over
  CHECK(ErrorOf(ParsePayloads(PayloadType::kDelete, b)) == NotifyType::kPayloadMalformed);
  b = EncodePayloads(p);
  b[9] = 0;  // SPI size 0, count 1
  CHECK(ErrorOf(ParsePayloads(PayloadType::kDelete, b)) == NotifyType::kPayloadMalformed);
}

TEST_CASE("seeded random bytes never crash the parsers", "[wire]") {
  std::mt19937 rng(20240501);
  std::uniform_int_distribution<int> byte(0, 255);
  const PayloadType firsts[] = {PayloadType::kSa,     PayloadType::kKeyExchange,
                                PayloadType::kHash,   PayloadType::kNotification,
                                PayloadType::kDelete, PayloadType::kIdentification,
                                PayloadType(130)};
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(static_cast<size_t>(rng() % 160));
    for (auto& x : b) x = static_cast<uint8_t>(byte(rng));
    if (i % 2 == 0 && b.size() >= 4) {
      // Make the first generic header plausible so parsing gets deeper.
      b[0] = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : b[0] % 14);
      Put16(b, 2, static_cast<unsigned>(b.size() - (rng() % 3)));
    }
    (void)ParseHeader(b);
    const bool allow = (i & 4) != 0;
    auto r = ParsePayloads(firsts[static_cast<size_t>(i) % std::size(firsts)], b, allow);
    if (!IsError(r)) {
      ++accepted;
      CheckStable(std::get<std::vector<Payload>>(r), allow);
    }
  }
  CHECK(accepted > 0);
}

TEST_CASE("seeded mutations of valid messages never crash", "[wire]") {
  std::mt19937 rng(7);
  const auto samples = SampleMessages();
  size_t accepted = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    const Message& m = samples[static_cast<size_t>(i) % samples.size()];
    Bytes b = m.bytes;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    if (rng() % 8 == 0) b.resize(rng() % b.size());
    const bool allow = rng() % 2 == 0;
    auto r = ParseMessage(b, allow);
    if (IsError(r)) {
      ++rejected;
      continue;
    }
    ++accepted;
    CheckStable(std::get<std::vector<Payload>>(r), allow);
  }
  CHECK(accepted > 0);
  CHECK(rejected > 0);
}

}  // namespace
}  // namespace ike::wire
