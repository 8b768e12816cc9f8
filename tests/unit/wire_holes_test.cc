// Protocol holes closed in the codec (issue 7, item 4 c, d, e, j), each with
// hand-written bytes: nonce lengths, Delete SPI sizes, lifetimes wider than
// 32 bits, and non-contiguous subnet masks.
#include <catch2/catch.hpp>
#include <string>

#include "isakmpd/wire/sa_attributes.h"
#include "isakmpd/wire/wire.h"

namespace ike::wire {
namespace {

Bytes Hex(std::string s) {
  std::string compact;
  for (char c : s)
    if (c != ' ' && c != '\n') compact += c;
  Bytes out;
  REQUIRE(FromHex(compact, &out));
  return out;
}

std::string Len16(size_t n) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "%04zx", n);
  return buf;
}

// One payload of |type| whose body is |body_hex| (generic header prepended).
Bytes OnePayload(const std::string& body_hex) {
  const Bytes body = Hex(body_hex);
  return Hex("0000" + Len16(body.size() + 4) + " " + body_hex);
}

ParseError Error(PayloadType type, const Bytes& bytes) {
  auto r = ParsePayloads(type, bytes);
  REQUIRE(std::holds_alternative<ParseError>(r));
  return std::get<ParseError>(r);
}

std::vector<Payload> Parsed(PayloadType type, const Bytes& bytes) {
  auto r = ParsePayloads(type, bytes);
  if (auto* e = std::get_if<ParseError>(&r)) FAIL(e->detail);
  return std::get<0>(r);
}

std::string Octets(size_t n, const char* octet = "5a") {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += octet;
  return s;
}

// ---- c: nonce lengths -------------------------------------------------------

TEST_CASE("a nonce of 8 to 256 octets parses (RFC 2409 5)", "[wire][holes]") {
  for (size_t n : {size_t{8}, size_t{16}, size_t{256}}) {
    auto p = Parsed(PayloadType::kNonce, OnePayload(Octets(n)));
    REQUIRE(p.size() == 1);
    CHECK(std::get<NoncePayload>(p[0].body).data == Bytes(n, 0x5a));
  }
}

TEST_CASE("a nonce of 0, 7, 257 or 300 octets is PAYLOAD-MALFORMED", "[wire][holes]") {
  // 00 00 00 04: a nonce payload with no data at all.
  const ParseError empty = Error(PayloadType::kNonce, Hex("00000004"));
  CHECK(empty.notify == NotifyType::kPayloadMalformed);
  CHECK(empty.offset == 4);
  CHECK(empty.detail == "nonce of 0 octets (RFC 2409 5: 8-256)");
  for (size_t n : {size_t{7}, size_t{257}, size_t{300}}) {
    const ParseError e = Error(PayloadType::kNonce, OnePayload(Octets(n)));
    CHECK(e.notify == NotifyType::kPayloadMalformed);
    CHECK(e.detail == "nonce of " + std::to_string(n) + " octets (RFC 2409 5: 8-256)");
  }
}

TEST_CASE("a short nonce behind a hash is found at its own offset", "[wire][holes]") {
  // HASH (20 octets) -> NONCE (4 octets): the error points at the nonce body.
  const Bytes chain = Hex("0a000018" + Octets(20, "11") + "00000008 01020304");
  const ParseError e = Error(PayloadType::kHash, chain);
  CHECK(e.notify == NotifyType::kPayloadMalformed);
  CHECK(e.offset == 24 + 4);
}

// ---- d: Delete SPI sizes ----------------------------------------------------

TEST_CASE("Delete SPI sizes that fit the protocol parse (RFC 2408 3.15)", "[wire][holes]") {
  // DOI 1, protocol ESP (3), SPI size 4, one SPI.
  auto esp = Parsed(PayloadType::kDelete, Hex("00000010 00000001 03 04 0001 c001d00d"));
  CHECK(std::get<DeletePayload>(esp[0].body).spis == std::vector<Bytes>{{0xc0, 0x01, 0xd0, 0x0d}});
  // Protocol AH (2), SPI size 4.
  Parsed(PayloadType::kDelete, Hex("00000010 00000001 02 04 0001 01020304"));
  // Protocol ISAKMP (1), SPI size 16 (the cookie pair).
  auto isakmp =
      Parsed(PayloadType::kDelete, Hex("0000001c 00000001 01 10 0001 " + Octets(16, "ab")));
  CHECK(std::get<DeletePayload>(isakmp[0].body).spis[0] == Bytes(16, 0xab));
}

TEST_CASE("a Delete with a 200-octet ESP SPI is PAYLOAD-MALFORMED", "[wire][holes]") {
  // The SPI's last 4 octets equal a live SA's SPI; the payload must still
  // be refused as a whole.
  const Bytes d = Hex("000000d4 00000001 03 c8 0001 " + Octets(196, "00") + "c001d00d");
  REQUIRE(d.size() == 212);
  const ParseError e = Error(PayloadType::kDelete, d);
  CHECK(e.notify == NotifyType::kPayloadMalformed);
  CHECK(e.detail == "delete SPI size 200 for ESP");
  CHECK(e.offset == 4 + 5);  // the SPI size octet
}

TEST_CASE("every SPI size but the protocol's own is refused", "[wire][holes]") {
  struct Case {
    const char* hex;
    const char* detail;
  };
  const Case cases[] = {
      {"0000001c 00000001 03 10 0001 "
       "0102030405060708090a0b0c0d0e0f10",
       "delete SPI size 16 for ESP"},
      {"0000000e 00000001 03 02 0001 0102", "delete SPI size 2 for ESP"},
      {"00000010 00000001 02 08 0001 0102030405060708"
       "",
       "delete SPI size 8 for AH"},
      {"00000010 00000001 01 04 0001 01020304", "delete SPI size 4 for ISAKMP"},
      {"0000000c 00000001 03 00 0000", "delete SPI size 0 for ESP"},
  };
  for (const auto& c : cases) {
    Bytes b = Hex(c.hex);
    // Fix the payload length to the bytes given.
    b[2] = static_cast<uint8_t>(b.size() >> 8);
    b[3] = static_cast<uint8_t>(b.size());
    const ParseError e = Error(PayloadType::kDelete, b);
    CHECK(e.notify == NotifyType::kPayloadMalformed);
    CHECK(e.detail == c.detail);
  }
}

TEST_CASE("a Delete for an unknown protocol is INVALID-PROTOCOL-ID", "[wire][holes]") {
  const ParseError e = Error(PayloadType::kDelete, Hex("00000010 00000001 09 04 0001 01020304"));
  CHECK(e.notify == NotifyType::kInvalidProtocolId);
  CHECK(e.offset == 4 + 4);
}

// ---- j: subnet masks --------------------------------------------------------

TEST_CASE("subnet IDs with contiguous masks parse (RFC 2407 4.6.2.3)", "[wire][holes]") {
  // ID_IPV4_ADDR_SUBNET 198.51.100.0 / 255.255.255.0.
  auto p = Parsed(PayloadType::kIdentification, Hex("00000010 04 00 0000 c6336400 ffffff00"));
  CHECK(std::get<IdPayload>(p[0].body).data == Hex("c6336400ffffff00"));
  // ID_IPV6_ADDR_SUBNET 2001:db8::/32.
  Parsed(PayloadType::kIdentification, Hex("00000028 06 00 0000 20010db8000000000000000000000000 "
                                           "ffffffff000000000000000000000000"));
  // 0.0.0.0/0 is contiguous too.
  Parsed(PayloadType::kIdentification, Hex("00000010 04 00 0000 00000000 00000000"));
}

TEST_CASE("a non-contiguous subnet mask is INVALID-ID-INFORMATION", "[wire][holes]") {
  // 255.0.255.0 was read as /8, widening the selector.
  const ParseError v4 =
      Error(PayloadType::kIdentification, Hex("00000010 04 00 0000 c6336400 ff00ff00"));
  CHECK(v4.notify == NotifyType::kInvalidIdInformation);
  CHECK(v4.detail == "ID_IPV4_ADDR_SUBNET with a non-contiguous netmask ff00ff00");
  CHECK(v4.offset == 4 + 4 + 4);  // the mask
  const ParseError v6 = Error(PayloadType::kIdentification,
                              Hex("00000028 06 00 0000 20010db8000000000000000000000000 "
                                  "ffffffff000000000000000000000001"));
  CHECK(v6.notify == NotifyType::kInvalidIdInformation);
  CHECK(v6.offset == 4 + 4 + 16);
  // A range is two addresses, not a mask: 198.51.100.0-255.0.255.0 is fine.
  Parsed(PayloadType::kIdentification, Hex("00000010 07 00 0000 c6336400 ff00ff00"));
}

// ---- e: lifetimes -----------------------------------------------------------

// An ISAKMP SA payload with one KEY_IKE transform (AES-128, SHA2-256, PSK,
// MODP-2048) whose life duration is |duration_tlv| (type 12, variable form).
Bytes IkeSaWithLife(const std::string& duration_tlv) {
  const std::string attrs =
      "8001 0007  800e 0080  8002 0004  8003 0001  8004 000e  800b 0001 " + duration_tlv;
  const size_t attr_len = Hex(attrs).size();
  const std::string transform = "0000" + Len16(8 + attr_len) + " 01 01 0000 " + attrs;
  const std::string proposal = "0000" + Len16(16 + attr_len) + " 01 01 00 01 " + transform;
  return Hex("0000" + Len16(4 + 8 + 16 + attr_len) + " 00000001 00000001 " + proposal);
}

IkeTransformAttrs DecodeFirst(const Bytes& sa_bytes) {
  auto p = Parsed(PayloadType::kSa, sa_bytes);
  const auto& sa = std::get<SaPayload>(p[0].body);
  auto d = DecodeIkeTransform(sa.proposals.at(0).transforms.at(0));
  if (auto* e = std::get_if<ParseError>(&d)) FAIL(e->detail);
  return std::get<IkeTransformAttrs>(d);
}

TEST_CASE("a 5-octet life duration of 2^32 s decodes wide", "[wire][holes]") {
  const Bytes sa = IkeSaWithLife("000c 0005 0100000000");
  CHECK(sa.size() == 61);
  const IkeTransformAttrs a = DecodeFirst(sa);
  CHECK(a.life_seconds == (uint64_t{1} << 32));
  // Narrowing would give 0, i.e. "expire at once"; the choice caps it.
  CHECK(static_cast<uint32_t>(a.life_seconds) == 0);
  CHECK(ChooseLifeSeconds(a.life_seconds, 28800) == 28800);
}

TEST_CASE("an 8-octet life duration decodes, a 9-octet one is refused", "[wire][holes]") {
  CHECK(DecodeFirst(IkeSaWithLife("000c 0008 ffffffffffffffff")).life_seconds == ~uint64_t{0});
  auto p = Parsed(PayloadType::kSa, IkeSaWithLife("000c 0009 010000000000000000"));
  auto d = DecodeIkeTransform(std::get<SaPayload>(p[0].body).proposals[0].transforms[0]);
  REQUIRE(std::holds_alternative<ParseError>(d));
  CHECK(std::get<ParseError>(d).notify == NotifyType::kAttributesNotSupported);
}

TEST_CASE("the chosen lifetime: the shorter wins, 0 means ours", "[wire][holes]") {
  CHECK(ChooseLifeSeconds(600, 28800) == 600);
  CHECK(ChooseLifeSeconds(86400, 28800) == 28800);
  CHECK(ChooseLifeSeconds(0, 28800) == 28800);
  CHECK(ChooseLifeSeconds(uint64_t{1} << 32, 3600) == 3600);
  CHECK(ChooseLifeSeconds((uint64_t{1} << 32) + 5, 3600) == 3600);
  CHECK(ChooseLifeSeconds(~uint64_t{0}, 3600) == 3600);
  CHECK(ChooseLifeSeconds(uint64_t{1} << 32, 0) == 0xffffffffu);
  CHECK(ChooseLifeKbytes(0, 4608000) == 4608000);
  CHECK(ChooseLifeKbytes(1000, 0) == 1000);
  CHECK(ChooseLifeKbytes(uint64_t{1} << 40, 4608000) == 4608000);
  CHECK(ChooseLifeKbytes(0, 0) == 0);
}

}  // namespace
}  // namespace ike::wire
