// ValidatePayloads: the per-message payload table (RFC 2409 section 5).
#include <catch2/catch.hpp>
#include <string>

#include "isakmpd/wire/wire.h"

namespace ike::wire {
namespace {

using P = PayloadType;

Payload Of(P type) {
  switch (type) {
    case P::kSa: {
      SaPayload sa;
      sa.proposals.resize(1);
      sa.proposals[0].transforms.resize(1);
      return MakePayload(sa);
    }
    case P::kKeyExchange:
      return MakePayload(KeyExchangePayload{Bytes(128, 1)});
    case P::kIdentification:
      return MakePayload(IdPayload{uint8_t(IdType::kIpv4Addr), 0, 0, {192, 0, 2, 1}});
    case P::kCertificate:
      return MakePayload(CertificatePayload{4, {1}});
    case P::kCertificateRequest:
      return MakePayload(CertificateRequestPayload{4, {}});
    case P::kHash:
      return MakePayload(HashPayload{Bytes(20, 2)});
    case P::kSignature:
      return MakePayload(SignaturePayload{Bytes(64, 3)});
    case P::kNonce:
      return MakePayload(NoncePayload{Bytes(16, 4)});
    case P::kNotification:
      return MakePayload(NotifyPayload{1, 1, {}, uint16_t(NotifyType::kInitialContact), {}});
    case P::kDelete:
      return MakePayload(DeletePayload{1, 3, 4, {{1, 2, 3, 4}}});
    case P::kVendorId:
      return MakePayload(VendorIdPayload{Bytes(16, 5)});
    default:
      return MakePayload(UnknownPayload{uint8_t(type), Bytes(20, 6)});
  }
}

std::vector<Payload> Msg(std::initializer_list<P> types) {
  std::vector<Payload> out;
  for (P t : types) out.push_back(Of(t));
  return out;
}

bool Accepts(MessageKind kind, std::initializer_list<P> types) {
  auto e = ValidatePayloads(kind, Msg(types));
  if (e) UNSCOPED_INFO(MessageKindName(kind) << ": " << e->detail);
  return !e.has_value();
}

NotifyType Rejects(MessageKind kind, std::initializer_list<P> types) {
  auto e = ValidatePayloads(kind, Msg(types));
  REQUIRE(e.has_value());
  return e->notify;
}

constexpr NotifyType kUnexpected = NotifyType::kInvalidPayloadType;
constexpr NotifyType kMalformed = NotifyType::kPayloadMalformed;

TEST_CASE("main mode messages 1 and 2: one SA, any VIDs", "[wire][rules]") {
  for (auto k : {MessageKind::kMainMode1, MessageKind::kMainMode2}) {
    CHECK(Accepts(k, {P::kSa}));
    CHECK(Accepts(k, {P::kSa, P::kVendorId, P::kVendorId, P::kVendorId}));
    CHECK(Accepts(k, {P::kVendorId, P::kSa}));
    CHECK(Rejects(k, {}) == kMalformed);
    CHECK(Rejects(k, {P::kVendorId}) == kMalformed);
    CHECK(Rejects(k, {P::kSa, P::kSa}) == kMalformed);
    CHECK(Rejects(k, {P::kSa, P::kKeyExchange}) == kUnexpected);
    CHECK(Rejects(k, {P::kSa, P::kNatD}) == kUnexpected);
    CHECK(Rejects(k, {P::kSa, P(130)}) == kUnexpected);
  }
}

TEST_CASE("main mode messages 3 and 4: KE and nonce once, NAT-D/VID/CR optional", "[wire][rules]") {
  for (auto k : {MessageKind::kMainMode3, MessageKind::kMainMode4}) {
    CHECK(Accepts(k, {P::kKeyExchange, P::kNonce}));
    CHECK(Accepts(k, {P::kKeyExchange, P::kNonce, P::kNatD, P::kNatD, P::kVendorId}));
    // draft-ietf-ipsec-nat-t-ike-02/03 number NAT-D 130.
    CHECK(Accepts(k, {P::kKeyExchange, P::kNonce, P::kNatDDraft, P::kNatDDraft}));
    CHECK(Accepts(k, {P::kKeyExchange, P::kNonce, P::kCertificateRequest}));
    CHECK(Rejects(k, {P::kKeyExchange}) == kMalformed);
    CHECK(Rejects(k, {P::kNonce}) == kMalformed);
    CHECK(Rejects(k, {P::kKeyExchange, P::kNonce, P::kNonce}) == kMalformed);
    CHECK(Rejects(k, {P::kKeyExchange, P::kKeyExchange, P::kNonce}) == kMalformed);
    CHECK(Rejects(k, {P::kKeyExchange, P::kNonce, P::kSa}) == kUnexpected);
    CHECK(Rejects(k, {P::kKeyExchange, P::kNonce, P::kIdentification}) == kUnexpected);
  }
}

TEST_CASE("main mode messages 5 and 6: ID and one of HASH or SIG", "[wire][rules]") {
  for (auto k : {MessageKind::kMainMode5, MessageKind::kMainMode6}) {
    CHECK(Accepts(k, {P::kIdentification, P::kHash}));
    CHECK(Accepts(k, {P::kIdentification, P::kHash, P::kNotification}));
    CHECK(Accepts(k, {P::kIdentification, P::kCertificate, P::kSignature, P::kCertificateRequest,
                      P::kNotification}));
    CHECK(Rejects(k, {P::kIdentification}) == kMalformed);
    CHECK(Rejects(k, {P::kHash}) == kMalformed);
    CHECK(Rejects(k, {P::kIdentification, P::kHash, P::kSignature}) == kMalformed);
    CHECK(Rejects(k, {P::kIdentification, P::kHash, P::kHash}) == kMalformed);
    CHECK(Rejects(k, {P::kIdentification, P::kIdentification, P::kHash}) == kMalformed);
    CHECK(Rejects(k, {P::kIdentification, P::kHash, P::kKeyExchange}) == kUnexpected);
    CHECK(Rejects(k, {P::kIdentification, P::kHash, P::kDelete}) == kUnexpected);
  }
}

TEST_CASE("quick mode messages 1 and 2", "[wire][rules]") {
  for (auto k : {MessageKind::kQuickMode1, MessageKind::kQuickMode2}) {
    CHECK(Accepts(k, {P::kHash, P::kSa, P::kNonce}));
    CHECK(Accepts(
        k, {P::kHash, P::kSa, P::kNonce, P::kKeyExchange, P::kIdentification, P::kIdentification}));
    CHECK(Accepts(k, {P::kHash, P::kSa, P::kNonce, P::kIdentification, P::kIdentification,
                      P::kNatOa, P::kNatOa, P::kNotification}));
    CHECK(Accepts(
        k, {P::kHash, P::kSa, P::kNonce, P::kIdentification, P::kIdentification, P::kNatOaDraft}));
    // HASH must come first.
    CHECK(Rejects(k, {P::kSa, P::kHash, P::kNonce}) == NotifyType::kInvalidHashInformation);
    CHECK(Rejects(k, {P::kSa, P::kNonce, P::kHash}) == NotifyType::kInvalidHashInformation);
    CHECK(Rejects(k, {P::kSa, P::kNonce}) == kMalformed);
    CHECK(Rejects(k, {}) == kMalformed);
    // SA right after HASH.
    CHECK(Rejects(k, {P::kHash, P::kNonce, P::kSa}) == kMalformed);
    CHECK(Rejects(k, {P::kHash}) == kMalformed);
    // IDs: both or neither.
    CHECK(Rejects(k, {P::kHash, P::kSa, P::kNonce, P::kIdentification}) ==
          NotifyType::kInvalidIdInformation);
    CHECK(Rejects(k, {P::kHash, P::kSa, P::kNonce, P::kIdentification, P::kIdentification,
                      P::kIdentification}) == NotifyType::kInvalidIdInformation);
    // multiplicities and unexpected payloads.
    CHECK(Rejects(k, {P::kHash, P::kSa, P::kSa, P::kNonce}) == kMalformed);
    CHECK(Rejects(k, {P::kHash, P::kSa}) == kMalformed);
    CHECK(Rejects(k, {P::kHash, P::kSa, P::kNonce, P::kKeyExchange, P::kKeyExchange}) ==
          kMalformed);
    CHECK(Rejects(k, {P::kHash, P::kHash, P::kSa, P::kNonce}) == kMalformed);
    CHECK(Rejects(k, {P::kHash, P::kSa, P::kNonce, P::kVendorId}) == kUnexpected);
    CHECK(Rejects(k, {P::kHash, P::kSa, P::kNonce, P::kDelete}) == kUnexpected);
  }
}

TEST_CASE("quick mode message 3: exactly HASH", "[wire][rules]") {
  const auto k = MessageKind::kQuickMode3;
  CHECK(Accepts(k, {P::kHash}));
  CHECK(Rejects(k, {}) == kMalformed);
  CHECK(Rejects(k, {P::kHash, P::kHash}) == kMalformed);
  CHECK(Rejects(k, {P::kHash, P::kNotification}) == kUnexpected);
  CHECK(Rejects(k, {P::kNonce}) == kMalformed);
  CHECK(Rejects(k, {P::kNonce, P::kHash}) == NotifyType::kInvalidHashInformation);
}

TEST_CASE("informational: HASH first, then at least one N or D", "[wire][rules]") {
  const auto k = MessageKind::kInformational;
  CHECK(Accepts(k, {P::kHash, P::kNotification}));
  CHECK(Accepts(k, {P::kHash, P::kDelete}));
  CHECK(Accepts(k, {P::kHash, P::kDelete, P::kDelete, P::kNotification}));
  CHECK(Rejects(k, {P::kHash}) == kMalformed);
  CHECK(Rejects(k, {P::kNotification}) == kMalformed);
  CHECK(Rejects(k, {P::kNotification, P::kHash}) == NotifyType::kInvalidHashInformation);
  CHECK(Rejects(k, {P::kHash, P::kNotification, P::kSa}) == kUnexpected);
  CHECK(Rejects(k, {P::kHash, P::kHash, P::kDelete}) == kMalformed);
}

TEST_CASE("validation errors point at the offending payload", "[wire][rules]") {
  auto msg = Msg({P::kHash, P::kSa, P::kNonce, P::kVendorId});
  const Bytes body = EncodePayloads(msg);  // fills raw, so offsets are known
  auto e = ValidatePayloads(MessageKind::kQuickMode1, msg);
  REQUIRE(e.has_value());
  CHECK(e->notify == kUnexpected);
  CHECK(e->offset == body.size() - msg[3].raw.size());
  CHECK(e->detail.find("VID") != std::string::npos);
  CHECK(e->detail.find("Quick Mode message 1") != std::string::npos);
}

}  // namespace
}  // namespace ike::wire
