// The ISAKMP wire codec (RFC 2408 section 3, RFC 2407 section 4): a pure
// library. Bytes in, typed message or ParseError out; no I/O, no globals, no
// crypto. Every read is bounds-checked; nothing casts packed structs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.h"

namespace ike::wire {

// RFC 2408 3.1 exchange types; RFC 2409 5.5 Quick Mode.
enum class ExchangeType : uint8_t {
  kNone = 0,
  kBase = 1,
  kIdentityProtection = 2,  // Main Mode
  kAuthenticationOnly = 3,
  kAggressive = 4,
  kInformational = 5,
  kQuickMode = 32,
};
const char* ExchangeTypeName(ExchangeType t);  // "Main Mode", "Quick Mode", ...

// RFC 2408 3.1 next payload types; 20/21 NAT-D/NAT-OA (RFC 3947), 130/131
// the same in draft-ietf-ipsec-nat-t-ike-02/03 (from the private range).
enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 1,
  kProposal = 2,
  kTransform = 3,
  kKeyExchange = 4,
  kIdentification = 5,
  kCertificate = 6,
  kCertificateRequest = 7,
  kHash = 8,
  kSignature = 9,
  kNonce = 10,
  kNotification = 11,
  kDelete = 12,
  kVendorId = 13,
  kNatD = 20,
  kNatOa = 21,
  kNatDDraft = 130,
  kNatOaDraft = 131,
};
const char* PayloadTypeName(PayloadType t);  // "SA", "KE", "ID", "HASH", ...

// RFC 2408 3.14.1 notify message types, plus RFC 2407 4.6.3 and RFC 3706.
enum class NotifyType : uint16_t {
  kInvalidPayloadType = 1,
  kDoiNotSupported = 2,
  kSituationNotSupported = 3,
  kInvalidCookie = 4,
  kInvalidMajorVersion = 5,
  kInvalidMinorVersion = 6,
  kInvalidExchangeType = 7,
  kInvalidFlags = 8,
  kInvalidMessageId = 9,
  kInvalidProtocolId = 10,
  kInvalidSpi = 11,
  kInvalidTransformId = 12,
  kAttributesNotSupported = 13,
  kNoProposalChosen = 14,
  kBadProposalSyntax = 15,
  kPayloadMalformed = 16,
  kInvalidKeyInformation = 17,
  kInvalidIdInformation = 18,
  kInvalidCertEncoding = 19,
  kInvalidCertificate = 20,
  kCertTypeUnsupported = 21,
  kInvalidCertAuthority = 22,
  kInvalidHashInformation = 23,
  kAuthenticationFailed = 24,
  kInvalidSignature = 25,
  kAddressNotification = 26,
  kNotifySaLifetime = 27,
  kCertificateUnavailable = 28,
  kUnsupportedExchangeType = 29,
  kUnequalPayloadLengths = 30,
  kConnected = 16384,
  kResponderLifetime = 24576,
  kReplayStatus = 24577,
  kInitialContact = 24578,
  kRUThere = 36136,
  kRUThereAck = 36137,
};
// "NO-PROPOSAL-CHOSEN", "INVALID-ID-INFORMATION", ...; "NOTIFY(n)" if unknown.
std::string NotifyTypeName(uint16_t type);

// RFC 2407 4.4.1 protocol ids.
enum class ProtocolId : uint8_t { kIsakmp = 1, kIpsecAh = 2, kIpsecEsp = 3, kIpcomp = 4 };

// RFC 2407 4.6.2.1 identification types.
enum class IdType : uint8_t {
  kIpv4Addr = 1,
  kFqdn = 2,
  kUserFqdn = 3,
  kIpv4AddrSubnet = 4,
  kIpv6Addr = 5,
  kIpv6AddrSubnet = 6,
  kIpv4AddrRange = 7,
  kIpv6AddrRange = 8,
  kDerAsn1Dn = 9,
  kDerAsn1Gn = 10,
  kKeyId = 11,
};
const char* IdTypeName(uint8_t type);  // "ID_IPV4_ADDR", ...

constexpr uint8_t kFlagEncryption = 0x01;
constexpr uint8_t kFlagCommit = 0x02;
constexpr uint8_t kFlagAuthOnly = 0x04;
constexpr uint8_t kIsakmpVersion = 0x10;  // major 1, minor 0
constexpr size_t kHeaderLength = 28;
constexpr size_t kGenericHeaderLength = 4;

// RFC 2409 5: every nonce payload carries 8 to 256 octets of data.
constexpr size_t kMinNonceLength = 8;
constexpr size_t kMaxNonceLength = 256;
// RFC 2408 3.15, RFC 2407 4.6.3: SPI sizes in Delete (and proposals).
constexpr uint8_t kIsakmpSpiSize = 16;  // the cookie pair
constexpr uint8_t kIpsecSpiSize = 4;    // AH and ESP

using Cookie = std::array<uint8_t, 8>;

struct Header {
  Cookie icookie{};
  Cookie rcookie{};
  PayloadType next_payload = PayloadType::kNone;
  uint8_t version = kIsakmpVersion;
  ExchangeType exchange = ExchangeType::kNone;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // whole message, header included
};

// RFC 2408 3.3 data attribute: basic (TV, AF=1) or variable (TLV).
struct Attribute {
  uint16_t type = 0;  // without the AF bit
  bool basic = true;
  uint16_t value = 0;  // when basic
  Bytes data;          // when variable; big-endian integer for long lifetimes
  // Numeric value of a basic attribute or of a variable one up to 8 octets.
  std::optional<uint64_t> AsInteger() const;
  static Attribute Basic(uint16_t type, uint16_t value);
  // Basic when |value| fits 16 bits, otherwise the shortest variable form.
  static Attribute Integer(uint16_t type, uint64_t value);
};

struct Transform {
  uint8_t number = 1;
  uint8_t id = 0;  // KEY_IKE = 1 for ISAKMP; ESP transform id for ESP
  std::vector<Attribute> attributes;
};

struct Proposal {
  uint8_t number = 1;
  uint8_t protocol = 1;  // ProtocolId
  Bytes spi;
  std::vector<Transform> transforms;
};

// RFC 2408 3.4 / RFC 2407 4.6.1: DOI 1 (IPsec), situation SIT_IDENTITY_ONLY.
struct SaPayload {
  uint32_t doi = 1;
  uint32_t situation = 1;
  std::vector<Proposal> proposals;
};

struct KeyExchangePayload {
  Bytes data;
};

// RFC 2407 4.6.2: the IPsec DOI identification payload.
struct IdPayload {
  uint8_t type = 0;  // IdType
  uint8_t protocol = 0;
  uint16_t port = 0;
  Bytes data;
};

struct HashPayload {
  Bytes data;
};
struct SignaturePayload {
  Bytes data;
};
struct NoncePayload {
  Bytes data;
};
struct VendorIdPayload {
  Bytes data;
};
struct CertificatePayload {
  uint8_t encoding = 0;
  Bytes data;
};
struct CertificateRequestPayload {
  uint8_t type = 0;
  Bytes authority;
};

struct NotifyPayload {
  uint32_t doi = 1;
  uint8_t protocol = 1;
  Bytes spi;
  uint16_t type = 0;  // NotifyType (unknown values kept)
  Bytes data;
};

struct DeletePayload {
  uint32_t doi = 1;
  uint8_t protocol = 1;
  uint8_t spi_size = 16;
  std::vector<Bytes> spis;  // each spi_size octets
};

// A payload we do not understand but can skip (its critical bit is not part
// of IKEv1; RFC 2408 says unknown types are INVALID-PAYLOAD-TYPE).
struct UnknownPayload {
  uint8_t type = 0;
  Bytes data;
};

using PayloadBody =
    std::variant<SaPayload, KeyExchangePayload, IdPayload, HashPayload, SignaturePayload,
                 NoncePayload, VendorIdPayload, CertificatePayload, CertificateRequestPayload,
                 NotifyPayload, DeletePayload, UnknownPayload>;

struct Payload {
  PayloadType type = PayloadType::kNone;
  PayloadBody body;
  // The payload exactly as received, generic header included; empty for
  // payloads built locally until encoded. Used for SAi_b / IDii_b and the
  // quick mode HASHes, which are computed over the bytes on the wire.
  Bytes raw;
  ByteView raw_body() const {
    return raw.size() >= kGenericHeaderLength ? ByteView(raw).subspan(kGenericHeaderLength)
                                              : ByteView();
  }
};

struct ParseError {
  NotifyType notify = NotifyType::kPayloadMalformed;
  std::string detail;  // for logs: what was wrong, never secret data
  size_t offset = 0;   // byte offset in the buffer given to the parser
};

template <typename T>
using ParseResult = std::variant<T, ParseError>;

// RFC 2408 3.3: a run of data attributes that fills |data| exactly, as in a
// transform or in notification data (RESPONDER-LIFETIME, RFC 2407
// 4.6.3.1). Error offsets are relative to |data|.
ParseResult<std::vector<Attribute>> ParseAttributeList(ByteView data);
Bytes EncodeAttributeList(const std::vector<Attribute>& attributes);

// Parses the fixed 28-octet header and checks: buffer >= length field >= 28,
// major version 1. Does not look at payloads.
ParseResult<Header> ParseHeader(ByteView packet);

// Parses a chain of payloads starting with |first| until next payload NONE.
// Trailing bytes after the last payload are allowed (encryption padding).
// Each payload's length must be >= 4 and fit; SA/proposal/transform nesting
// is checked (counts, lengths, SPI sizes); unknown payload types within the
// IKEv1 range give UnknownPayload only if |allow_unknown|, else
// INVALID-PAYLOAD-TYPE.
ParseResult<std::vector<Payload>> ParsePayloads(PayloadType first, ByteView body,
                                                bool allow_unknown = false);

// Encodes one payload body (without generic header).
Bytes EncodePayloadBody(const PayloadBody& body);
// Encodes a chain, setting each generic header's next-payload and length;
// fills each payload's |raw| with its bytes as encoded.
Bytes EncodePayloads(std::vector<Payload>& payloads);
Bytes EncodeHeader(const Header& header);

PayloadType TypeOf(const PayloadBody& body);
Payload MakePayload(PayloadBody body);

// Finds the first payload of a type, or nullptr.
const Payload* Find(const std::vector<Payload>& payloads, PayloadType type);
template <typename T>
const T* FindBody(const std::vector<Payload>& payloads) {
  for (const auto& p : payloads)
    if (auto* b = std::get_if<T>(&p.body)) return b;
  return nullptr;
}

// ---- payload rules per exchange message (RFC 2409 section 5) -------------
enum class MessageKind {
  kMainMode1,      // HDR, SA [, VID...]
  kMainMode2,      // HDR, SA [, VID...]
  kMainMode3,      // HDR, KE, Ni [, NAT-D...] [, VID...]
  kMainMode4,      // HDR, KE, Nr [, NAT-D...] [, VID...]
  kMainMode5,      // HDR*, IDii, HASH_I [, N...]
  kMainMode6,      // HDR*, IDir, HASH_R [, N...]
  kAggressive1,    // HDR, SA, KE, Ni, IDii [, VID...]
  kAggressive2,    // HDR, SA, KE, Nr, IDir, HASH_R [, NAT-D...] [, N...] [, VID...]
  kAggressive3,    // HDR[*], HASH_I [, NAT-D...] [, N...]
  kQuickMode1,     // HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr] [, N...]
  kQuickMode2,     // HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] [, N...]
  kQuickMode3,     // HDR*, HASH(3)
  kInformational,  // HDR*, HASH(1), N/D [, N/D ...]
};
const char* MessageKindName(MessageKind kind);

// Checks required/allowed payloads, multiplicities and order constraints
// (HASH first in encrypted phase 2/informational messages; IDci/IDcr both or
// neither). Returns nullopt when acceptable.
std::optional<ParseError> ValidatePayloads(MessageKind kind, const std::vector<Payload>& payloads);

// "SA, KE, NONCE, ID, ID" for logs.
std::string DescribePayloads(const std::vector<Payload>& payloads);

}  // namespace ike::wire
