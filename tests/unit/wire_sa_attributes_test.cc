// Phase 1 (RFC 2409 Appendix A) and phase 2 (RFC 2407 4.5) transform
// attributes: exact encodings, round trips and decoding errors.
#include <catch2/catch.hpp>
#include <string>

#include "isakmpd/wire/sa_attributes.h"
#include "tests/lib/hex.h"

namespace ike::wire {
namespace {

std::string Spaced(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ') out += c;
  return out;
}

template <typename T>
T Expect(ParseResult<T> r) {
  if (auto* e = std::get_if<ParseError>(&r))
    FAIL(NotifyTypeName(uint16_t(e->notify)) << ": " << e->detail);
  return std::get<T>(std::move(r));
}

template <typename T>
NotifyType ErrorOf(const ParseResult<T>& r) {
  REQUIRE(std::holds_alternative<ParseError>(r));
  return std::get<ParseError>(r).notify;
}

// The attributes of a transform as wire hex, via a one-transform SA.
std::string AttrHex(const Transform& t) {
  std::string out;
  for (const auto& a : t.attributes) {
    std::vector<Payload> p{MakePayload(SaPayload{})};
    Proposal prop;
    Transform one;
    one.attributes = {a};
    prop.transforms = {one};
    std::get<SaPayload>(p[0].body).proposals = {prop};
    const std::string hex = ToHex(EncodePayloads(p));
    out += hex.substr(2 * (4 + 8 + 8 + 8));  // SA hdr+DOI/SIT, proposal, transform
  }
  return out;
}

Transform WithAttrs(uint8_t id, std::vector<Attribute> attrs) {
  Transform t;
  t.id = id;
  t.attributes = std::move(attrs);
  return t;
}

TEST_CASE("phase 1 transform encodes in RFC order", "[wire][attrs]") {
  IkeTransformAttrs a;
  a.encryption = 7;
  a.key_length = 256;
  a.hash = 4;
  a.auth_method = 1;
  a.group = 14;
  a.life_seconds = 86400;  // > 0xffff: 4-octet TLV
  a.life_kbytes = 1000;
  const Transform t = EncodeIkeTransform(3, a);
  CHECK(t.number == 3);
  CHECK(t.id == kKeyIke);
  // enc, key length, hash, auth, group; seconds 86400 (4-octet TLV); kilobytes 1000.
  CHECK(AttrHex(t) == Spaced("80010007 800e0100 80020004 80030001 8004000e"
                             " 800b0001 000c000400015180 800b0002 800c03e8"));
  const auto d = Expect(DecodeIkeTransform(t));
  CHECK(d.encryption == 7);
  CHECK(d.key_length == 256);
  CHECK(d.hash == 4);
  CHECK(d.auth_method == 1);
  CHECK(d.group == 14);
  CHECK(d.life_seconds == 86400);
  CHECK(d.life_kbytes == 1000);
  CHECK(d.unsupported.empty());
}

TEST_CASE("phase 1 without key length or lifetimes omits them", "[wire][attrs]") {
  IkeTransformAttrs a;
  a.encryption = 5;  // 3DES
  a.hash = 2;
  a.auth_method = 3;
  a.group = 2;
  const Transform t = EncodeIkeTransform(1, a);
  CHECK(AttrHex(t) == Spaced("80010005 80020002 80030003 80040002"));
  const auto d = Expect(DecodeIkeTransform(t));
  CHECK(d.key_length == 0);
  CHECK(d.life_seconds == 0);
  CHECK(d.life_kbytes == 0);
}

TEST_CASE("phase 2 transform encodes in RFC order", "[wire][attrs]") {
  IpsecTransformAttrs a;
  a.transform_id = 12;
  a.key_length = 128;
  a.auth_algorithm = 2;
  a.encapsulation = kEncapsulationTunnel;
  a.group = 2;
  a.life_seconds = 3600;
  a.life_kbytes = 4608000;
  const Transform t = EncodeIpsecTransform(1, a);
  CHECK(t.id == 12);
  // life seconds 3600; life kilobytes 4608000 (TLV); group, encapsulation, auth, key length.
  CHECK(AttrHex(t) == Spaced("80010001 80020e10 80010002 0002000400465000"
                             " 80030002 80040001 80050002 80060080"));
  const auto d = Expect(DecodeIpsecTransform(t));
  CHECK(d.transform_id == 12);
  CHECK(d.key_length == 128);
  CHECK(d.auth_algorithm == 2);
  CHECK(d.encapsulation == 1);
  CHECK(d.group == 2);
  CHECK(d.life_seconds == 3600);
  CHECK(d.life_kbytes == 4608000);
}

TEST_CASE("phase 2 without PFS or key length omits them", "[wire][attrs]") {
  IpsecTransformAttrs a;
  a.transform_id = 3;
  a.auth_algorithm = 2;
  a.encapsulation = kEncapsulationTransport;
  a.life_seconds = 28800;
  CHECK(AttrHex(EncodeIpsecTransform(1, a)) == Spaced("80010001 80027080 80040002 80050002"));
}

TEST_CASE("long lifetimes survive a wire round trip", "[wire][attrs]") {
  for (uint64_t secs : {uint64_t{1}, uint64_t{0xffff}, uint64_t{0x10000}, uint64_t{0xffffffff},
                        uint64_t{0x123456789}, ~uint64_t{0}}) {
    CAPTURE(secs);
    IkeTransformAttrs a;
    a.encryption = 7;
    a.life_seconds = secs;
    a.life_kbytes = secs;
    SaPayload sa;
    sa.proposals.resize(1);
    sa.proposals[0].transforms = {EncodeIkeTransform(1, a)};
    std::vector<Payload> p{MakePayload(sa)};
    const Bytes body = EncodePayloads(p);
    auto parsed = ParsePayloads(PayloadType::kSa, body);
    REQUIRE(std::holds_alternative<std::vector<Payload>>(parsed));
    const auto& psa = std::get<SaPayload>(std::get<std::vector<Payload>>(parsed)[0].body);
    const auto d = Expect(DecodeIkeTransform(psa.proposals[0].transforms[0]));
    CHECK(d.life_seconds == secs);
    CHECK(d.life_kbytes == secs);
  }
}

TEST_CASE("a life duration of 0 decodes as 0", "[wire][attrs]") {
  const auto basic = Expect(
      DecodeIkeTransform(WithAttrs(kKeyIke, {Attribute::Basic(11, 1), Attribute::Basic(12, 0)})));
  CHECK(basic.life_seconds == 0);
  Attribute zero_tlv;
  zero_tlv.type = 2;
  zero_tlv.basic = false;
  zero_tlv.data = {0, 0, 0, 0};
  const auto tlv = Expect(DecodeIpsecTransform(WithAttrs(3, {Attribute::Basic(1, 1), zero_tlv})));
  CHECK(tlv.life_seconds == 0);
}

TEST_CASE("attribute errors (RFC 2407 4.5, RFC 2409 Appendix A)", "[wire][attrs]") {
  const auto enc = Attribute::Basic(1, 7);
  SECTION("repeated attribute") {
    CHECK(ErrorOf(DecodeIkeTransform(WithAttrs(kKeyIke, {enc, enc}))) ==
          NotifyType::kBadProposalSyntax);
    CHECK(ErrorOf(DecodeIpsecTransform(
              WithAttrs(12, {Attribute::Basic(4, 1), Attribute::Basic(4, 2)}))) ==
          NotifyType::kBadProposalSyntax);
  }
  SECTION("duration without a type") {
    CHECK(ErrorOf(DecodeIkeTransform(WithAttrs(kKeyIke, {enc, Attribute::Basic(12, 60)}))) ==
          NotifyType::kBadProposalSyntax);
    CHECK(ErrorOf(DecodeIpsecTransform(WithAttrs(12, {Attribute::Basic(2, 60)}))) ==
          NotifyType::kBadProposalSyntax);
  }
  SECTION("type without a duration") {
    CHECK(ErrorOf(DecodeIkeTransform(WithAttrs(kKeyIke, {Attribute::Basic(11, 1)}))) ==
          NotifyType::kBadProposalSyntax);
    CHECK(ErrorOf(DecodeIkeTransform(
              WithAttrs(kKeyIke, {Attribute::Basic(11, 1), Attribute::Basic(11, 2),
                                  Attribute::Basic(12, 1)}))) == NotifyType::kBadProposalSyntax);
  }
  SECTION("the same life type twice") {
    CHECK(ErrorOf(DecodeIpsecTransform(WithAttrs(
              12, {Attribute::Basic(1, 1), Attribute::Basic(2, 60), Attribute::Basic(1, 1),
                   Attribute::Basic(2, 90)}))) == NotifyType::kBadProposalSyntax);
  }
  SECTION("unknown life type") {
    CHECK(ErrorOf(DecodeIkeTransform(
              WithAttrs(kKeyIke, {Attribute::Basic(11, 3), Attribute::Basic(12, 1)}))) ==
          NotifyType::kAttributesNotSupported);
  }
  SECTION("duration longer than 8 octets") {
    Attribute big;
    big.type = 12;
    big.basic = false;
    big.data = Bytes(9, 1);
    CHECK(ErrorOf(DecodeIkeTransform(WithAttrs(kKeyIke, {Attribute::Basic(11, 1), big}))) ==
          NotifyType::kAttributesNotSupported);
  }
  SECTION("phase 1 transform id other than KEY_IKE") {
    CHECK(ErrorOf(DecodeIkeTransform(WithAttrs(2, {enc}))) == NotifyType::kInvalidTransformId);
  }
}

TEST_CASE("unknown attribute types are listed, not fatal", "[wire][attrs]") {
  const auto ike = Expect(DecodeIkeTransform(
      WithAttrs(kKeyIke, {Attribute::Basic(1, 7), Attribute::Basic(13, 1),  // PRF
                          Attribute::Basic(5, 1)})));                       // group type
  CHECK(ike.encryption == 7);
  CHECK(ike.unsupported == std::vector<uint16_t>{13, 5});
  const auto esp = Expect(DecodeIpsecTransform(WithAttrs(12, {Attribute::Basic(7, 1)})));
  CHECK(esp.unsupported == std::vector<uint16_t>{7});
}

TEST_CASE("a basic-only attribute sent as a short TLV is accepted", "[wire][attrs]") {
  Attribute enc;
  enc.type = 1;
  enc.basic = false;
  enc.data = {0, 7};
  CHECK(Expect(DecodeIkeTransform(WithAttrs(kKeyIke, {enc}))).encryption == 7);
  enc.data = {0, 1, 0, 0};  // does not fit 16 bits
  CHECK(ErrorOf(DecodeIkeTransform(WithAttrs(kKeyIke, {enc}))) == NotifyType::kBadProposalSyntax);
}

// RFC 2407 4.6.3.1: RESPONDER-LIFETIME data are life type/duration pairs in
// the attribute classes of the SA payload the notify answers.
constexpr uint8_t kIsakmp = static_cast<uint8_t>(ProtocolId::kIsakmp);
constexpr uint8_t kEsp = static_cast<uint8_t>(ProtocolId::kIpsecEsp);

Bytes H(std::string_view hex) { return ike::testing::H(Spaced(hex)); }

TEST_CASE("RESPONDER-LIFETIME data: exact bytes and round trips", "[wire][attrs]") {
  // ESP, a Cisco-like 3600 s and 4,608,000 KB (a 4-octet variable duration).
  const Bytes esp = EncodeLifeNotifyData(kEsp, {3600, 4608000});
  CHECK(ToHex(esp) == Spaced("80010001 80020e10 80010002 0002000400465000"));
  CHECK(Expect(DecodeLifeNotifyData(kEsp, esp)) == LifeDurations{3600, 4608000});
  // Phase 1 (protocol ISAKMP) uses the classes of RFC 2409 Appendix A.
  const Bytes ike = EncodeLifeNotifyData(kIsakmp, {28800, 0});
  CHECK(ToHex(ike) == Spaced("800b0001 800c7080"));
  CHECK(Expect(DecodeLifeNotifyData(kIsakmp, ike)) == LifeDurations{28800, 0});
  // Kilobytes alone, and an 8-octet duration.
  CHECK(Expect(DecodeLifeNotifyData(kEsp, H("80010002 000200080000000000465000"))) ==
        LifeDurations{0, 4608000});
  for (uint64_t v : {uint64_t{1}, uint64_t{0x10000}, uint64_t{0x123456789}, ~uint64_t{0}}) {
    CAPTURE(v);
    CHECK(Expect(DecodeLifeNotifyData(kEsp, EncodeLifeNotifyData(kEsp, {v, v}))) ==
          LifeDurations{v, v});
  }
}

TEST_CASE("malformed RESPONDER-LIFETIME data are refused", "[wire][attrs]") {
  auto error = [](uint8_t protocol, const char* hex) {
    return ErrorOf(DecodeLifeNotifyData(protocol, H(hex)));
  };
  // Nothing, or attribute bytes cut short at every prefix.
  CHECK(error(kEsp, "") == NotifyType::kPayloadMalformed);
  const Bytes whole = H("80010001 80020e10 80010002 0002000400465000");
  for (size_t n = 1; n < whole.size(); ++n) {
    if (n == 8) continue;  // a whole pair: valid
    CAPTURE(n);
    CHECK(std::holds_alternative<ParseError>(DecodeLifeNotifyData(kEsp, ByteView(whole).first(n))));
  }
  CHECK(error(kEsp, "80020e10") == NotifyType::kBadProposalSyntax);                // no type
  CHECK(error(kEsp, "80010001") == NotifyType::kBadProposalSyntax);                // no duration
  CHECK(error(kEsp, "80010003 80020e10") == NotifyType::kAttributesNotSupported);  // type 3
  CHECK(error(kEsp, "80010001 80020e10 80010001 80020e10") == NotifyType::kBadProposalSyntax);
  CHECK(error(kEsp, "80010001 00020009 01000000") == NotifyType::kPayloadMalformed);  // overrun
  CHECK(error(kEsp, "80010001 00020009 010000000000000000") ==
        NotifyType::kAttributesNotSupported);                             // a 9-octet duration
  CHECK(error(kEsp, "80040001") == NotifyType::kAttributesNotSupported);  // encapsulation
  // Phase 1 classes under ESP and the other way round.
  CHECK(error(kEsp, "800b0001 800c7080") == NotifyType::kAttributesNotSupported);
  CHECK(error(kIsakmp, "80010001 80020e10") == NotifyType::kAttributesNotSupported);
}

}  // namespace
}  // namespace ike::wire
