// Name tables for protocol numbers, so logs and the CLI print names
// (style.md rule 2). Spellings follow the RFCs that define the numbers.
#include <string>

#include "isakmpd/wire/wire.h"

namespace ike::wire {

// RFC 2408 3.1, RFC 2409 5.5.
const char* ExchangeTypeName(ExchangeType t) {
  switch (t) {
    case ExchangeType::kNone:
      return "None";
    case ExchangeType::kBase:
      return "Base";
    case ExchangeType::kIdentityProtection:
      return "Main Mode";
    case ExchangeType::kAuthenticationOnly:
      return "Authentication Only";
    case ExchangeType::kAggressive:
      return "Aggressive Mode";
    case ExchangeType::kInformational:
      return "Informational";
    case ExchangeType::kQuickMode:
      return "Quick Mode";
  }
  return "unknown exchange";
}

// RFC 2408 3.1 (short forms as in RFC 2409 message notation), RFC 3947.
const char* PayloadTypeName(PayloadType t) {
  switch (t) {
    case PayloadType::kNone:
      return "NONE";
    case PayloadType::kSa:
      return "SA";
    case PayloadType::kProposal:
      return "PROPOSAL";
    case PayloadType::kTransform:
      return "TRANSFORM";
    case PayloadType::kKeyExchange:
      return "KE";
    case PayloadType::kIdentification:
      return "ID";
    case PayloadType::kCertificate:
      return "CERT";
    case PayloadType::kCertificateRequest:
      return "CR";
    case PayloadType::kHash:
      return "HASH";
    case PayloadType::kSignature:
      return "SIG";
    case PayloadType::kNonce:
      return "NONCE";
    case PayloadType::kNotification:
      return "N";
    case PayloadType::kDelete:
      return "D";
    case PayloadType::kVendorId:
      return "VID";
    case PayloadType::kNatD:
      return "NAT-D";
    case PayloadType::kNatOa:
      return "NAT-OA";
    case PayloadType::kNatDDraft:
      return "NAT-D (draft)";
    case PayloadType::kNatOaDraft:
      return "NAT-OA (draft)";
  }
  return "UNKNOWN";
}

// RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706.
std::string NotifyTypeName(uint16_t type) {
  switch (static_cast<NotifyType>(type)) {
    case NotifyType::kInvalidPayloadType:
      return "INVALID-PAYLOAD-TYPE";
    case NotifyType::kDoiNotSupported:
      return "DOI-NOT-SUPPORTED";
    case NotifyType::kSituationNotSupported:
      return "SITUATION-NOT-SUPPORTED";
    case NotifyType::kInvalidCookie:
      return "INVALID-COOKIE";
    case NotifyType::kInvalidMajorVersion:
      return "INVALID-MAJOR-VERSION";
    case NotifyType::kInvalidMinorVersion:
      return "INVALID-MINOR-VERSION";
    case NotifyType::kInvalidExchangeType:
      return "INVALID-EXCHANGE-TYPE";
    case NotifyType::kInvalidFlags:
      return "INVALID-FLAGS";
    case NotifyType::kInvalidMessageId:
      return "INVALID-MESSAGE-ID";
    case NotifyType::kInvalidProtocolId:
      return "INVALID-PROTOCOL-ID";
    case NotifyType::kInvalidSpi:
      return "INVALID-SPI";
    case NotifyType::kInvalidTransformId:
      return "INVALID-TRANSFORM-ID";
    case NotifyType::kAttributesNotSupported:
      return "ATTRIBUTES-NOT-SUPPORTED";
    case NotifyType::kNoProposalChosen:
      return "NO-PROPOSAL-CHOSEN";
    case NotifyType::kBadProposalSyntax:
      return "BAD-PROPOSAL-SYNTAX";
    case NotifyType::kPayloadMalformed:
      return "PAYLOAD-MALFORMED";
    case NotifyType::kInvalidKeyInformation:
      return "INVALID-KEY-INFORMATION";
    case NotifyType::kInvalidIdInformation:
      return "INVALID-ID-INFORMATION";
    case NotifyType::kInvalidCertEncoding:
      return "INVALID-CERT-ENCODING";
    case NotifyType::kInvalidCertificate:
      return "INVALID-CERTIFICATE";
    case NotifyType::kCertTypeUnsupported:
      return "CERT-TYPE-UNSUPPORTED";
    case NotifyType::kInvalidCertAuthority:
      return "INVALID-CERT-AUTHORITY";
    case NotifyType::kInvalidHashInformation:
      return "INVALID-HASH-INFORMATION";
    case NotifyType::kAuthenticationFailed:
      return "AUTHENTICATION-FAILED";
    case NotifyType::kInvalidSignature:
      return "INVALID-SIGNATURE";
    case NotifyType::kAddressNotification:
      return "ADDRESS-NOTIFICATION";
    case NotifyType::kNotifySaLifetime:
      return "NOTIFY-SA-LIFETIME";
    case NotifyType::kCertificateUnavailable:
      return "CERTIFICATE-UNAVAILABLE";
    case NotifyType::kUnsupportedExchangeType:
      return "UNSUPPORTED-EXCHANGE-TYPE";
    case NotifyType::kUnequalPayloadLengths:
      return "UNEQUAL-PAYLOAD-LENGTHS";
    case NotifyType::kConnected:
      return "CONNECTED";
    case NotifyType::kResponderLifetime:
      return "RESPONDER-LIFETIME";
    case NotifyType::kReplayStatus:
      return "REPLAY-STATUS";
    case NotifyType::kInitialContact:
      return "INITIAL-CONTACT";
    case NotifyType::kRUThere:
      return "R-U-THERE";
    case NotifyType::kRUThereAck:
      return "R-U-THERE-ACK";
  }
  return "NOTIFY(" + std::to_string(type) + ")";
}

// RFC 2407 4.6.2.1.
const char* IdTypeName(uint8_t type) {
  switch (static_cast<IdType>(type)) {
    case IdType::kIpv4Addr:
      return "ID_IPV4_ADDR";
    case IdType::kFqdn:
      return "ID_FQDN";
    case IdType::kUserFqdn:
      return "ID_USER_FQDN";
    case IdType::kIpv4AddrSubnet:
      return "ID_IPV4_ADDR_SUBNET";
    case IdType::kIpv6Addr:
      return "ID_IPV6_ADDR";
    case IdType::kIpv6AddrSubnet:
      return "ID_IPV6_ADDR_SUBNET";
    case IdType::kIpv4AddrRange:
      return "ID_IPV4_ADDR_RANGE";
    case IdType::kIpv6AddrRange:
      return "ID_IPV6_ADDR_RANGE";
    case IdType::kDerAsn1Dn:
      return "ID_DER_ASN1_DN";
    case IdType::kDerAsn1Gn:
      return "ID_DER_ASN1_GN";
    case IdType::kKeyId:
      return "ID_KEY_ID";
  }
  return "ID_UNKNOWN";
}

std::string DescribePayloads(const std::vector<Payload>& payloads) {
  std::string out;
  for (const auto& p : payloads) {
    if (!out.empty()) out += ", ";
    const char* name = PayloadTypeName(p.type);
    if (std::string_view(name) == "UNKNOWN")
      out += "UNKNOWN(" + std::to_string(static_cast<unsigned>(p.type)) + ")";
    else
      out += name;
  }
  return out;
}

}  // namespace ike::wire
