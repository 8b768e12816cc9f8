// Typed views of SA transform attributes: phase 1 (RFC 2409 Appendix A) and
// IPsec DOI phase 2 (RFC 2407 section 4.5). Pure, like the rest of wire/.
#pragma once

#include <cstdint>
#include <vector>

#include "isakmpd/wire/wire.h"

namespace ike::wire {

// RFC 2409 Appendix A attribute classes.
enum class IkeAttr : uint16_t {
  kEncryptionAlgorithm = 1,
  kHashAlgorithm = 2,
  kAuthenticationMethod = 3,
  kGroupDescription = 4,
  kLifeType = 11,
  kLifeDuration = 12,
  kKeyLength = 14,
};
// RFC 2407 4.5 attribute classes.
enum class IpsecAttr : uint16_t {
  kSaLifeType = 1,
  kSaLifeDuration = 2,
  kGroupDescription = 3,
  kEncapsulationMode = 4,
  kAuthenticationAlgorithm = 5,
  kKeyLength = 6,
};
constexpr uint16_t kLifeTypeSeconds = 1;
constexpr uint16_t kLifeTypeKilobytes = 2;
constexpr uint8_t kKeyIke = 1;                // RFC 2407 4.4.2 transform id
constexpr uint16_t kEncapsulationTunnel = 1;  // RFC 2407 4.5
constexpr uint16_t kEncapsulationTransport = 2;

// Phase 1 transform attributes (values are the IANA numbers; 0 = absent).
struct IkeTransformAttrs {
  uint16_t encryption = 0;   // 5 = 3DES-CBC, 7 = AES-CBC
  uint16_t key_length = 0;   // bits, AES only
  uint16_t hash = 0;         // 2 = SHA, 4 = SHA2-256, 5 = SHA2-384, 6 = SHA2-512
  uint16_t auth_method = 0;  // 1 = PSK, 3 = RSA signatures
  uint16_t group = 0;        // DH group number
  uint64_t life_seconds = 0;
  uint64_t life_kbytes = 0;
  std::vector<uint16_t> unsupported;  // attribute types we did not recognise
};

// Decodes a KEY_IKE transform. Life type/duration pairs are matched in order
// (RFC 2407 4.5: a life duration follows its life type). A duration without a
// type, or a repeated attribute, is BAD-PROPOSAL-SYNTAX; unknown attribute
// types are listed in |unsupported| (the caller rejects the transform).
ParseResult<IkeTransformAttrs> DecodeIkeTransform(const Transform& t);
// Encodes attributes in RFC order; lifetimes only when non-zero.
Transform EncodeIkeTransform(uint8_t number, const IkeTransformAttrs& a);

// Phase 2 (ESP) transform attributes.
struct IpsecTransformAttrs {
  uint8_t transform_id = 0;     // ESP_3DES = 3, ESP_AES = 12
  uint16_t key_length = 0;      // bits
  uint16_t auth_algorithm = 0;  // 2 = HMAC-SHA, 5 = HMAC-SHA2-256, ...
  uint16_t encapsulation = 0;   // 1 = tunnel, 2 = transport
  uint16_t group = 0;           // PFS group, 0 = none
  uint64_t life_seconds = 0;
  uint64_t life_kbytes = 0;
  std::vector<uint16_t> unsupported;
};

ParseResult<IpsecTransformAttrs> DecodeIpsecTransform(const Transform& t);
Transform EncodeIpsecTransform(uint8_t number, const IpsecTransformAttrs& a);

// The lifetimes a RESPONDER-LIFETIME notify carries; 0 = that life type is
// absent.
struct LifeDurations {
  uint64_t seconds = 0;
  uint64_t kbytes = 0;
  bool operator==(const LifeDurations&) const = default;
};

// RESPONDER-LIFETIME notification data (RFC 2407 4.6.3.1: "an ISAKMP
// attribute list with the responder's actual SA lifetime(s)"): life type /
// life duration pairs as in the SA payload. The notify's protocol picks the
// attribute classes: ISAKMP (1) those of phase 1 (RFC 2409 Appendix A,
// 11/12), any other those of the IPsec DOI (RFC 2407 4.5, 1/2). A zero
// duration is left out, like in a transform.
Bytes EncodeLifeNotifyData(uint8_t protocol, const LifeDurations& life);
// Reads such data under the transform rules above (a duration follows its
// type, one pair per type, a duration of up to 8 octets, unknown life types
// ATTRIBUTES-NOT-SUPPORTED). Any other attribute is ATTRIBUTES-NOT-SUPPORTED
// and data without a lifetime PAYLOAD-MALFORMED: the notify exists only to
// carry one.
ParseResult<LifeDurations> DecodeLifeNotifyData(uint8_t protocol, ByteView data);

// The lifetime an SA gets from a proposed duration and our policy (RFC 2407
// 4.5.4, RFC 2409 Appendix A): the shorter wins. A duration is decoded into
// 64 bits and compared before it is narrowed, so a proposal of 2^32 s (a
// 5-octet attribute) is capped to |ours| instead of wrapping to 0; a proposed
// 0 or absent duration means |ours|, never "expire at once". |ours| 0 means
// no policy of our own (the result is then at most UINT32_MAX).
uint32_t ChooseLifeSeconds(uint64_t proposed, uint32_t ours);
// The same for kilobytes, where 0 on either side means "no limit".
uint64_t ChooseLifeKbytes(uint64_t proposed, uint64_t ours);

}  // namespace ike::wire
