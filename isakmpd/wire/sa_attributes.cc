// Typed phase 1 (RFC 2409 Appendix A) and phase 2 (RFC 2407 4.5) transform
// attributes. Errors carry offset 0: attributes come from an already parsed
// Transform and have no position of their own; the detail names the attribute.
#include "isakmpd/wire/sa_attributes.h"

#include <algorithm>
#include <limits>
#include <string>

namespace ike::wire {
namespace {

ParseError BadSyntax(std::string detail) {
  return ParseError{NotifyType::kBadProposalSyntax, std::move(detail), 0};
}
ParseError NotSupported(std::string detail) {
  return ParseError{NotifyType::kAttributesNotSupported, std::move(detail), 0};
}

// Life type / life duration pairs (RFC 2407 4.5, RFC 2409 Appendix A: "the
// Life Duration attribute ... MUST immediately follow" its Life Type). At
// most one pair per life type.
class LifeTracker {
 public:
  std::optional<ParseError> Type(const Attribute& a) {
    if (pending_) return BadSyntax("life type without a life duration");
    const auto v = a.AsInteger();
    bool* seen = nullptr;
    if (v == kLifeTypeSeconds) seen = &seen_seconds_;
    if (v == kLifeTypeKilobytes) seen = &seen_kbytes_;
    if (seen == nullptr) return NotSupported("life type " + std::to_string(v.value_or(0)));
    if (*seen) return BadSyntax("repeated life type " + std::to_string(*v));
    *seen = true;
    pending_ = static_cast<uint16_t>(*v);
    return std::nullopt;
  }
  // A duration of 0 decodes as 0; the engine decides what it means.
  std::optional<ParseError> Duration(const Attribute& a, uint64_t* seconds, uint64_t* kbytes) {
    if (!pending_) return BadSyntax("life duration without a life type");
    const auto v = a.AsInteger();
    if (!v) return NotSupported("life duration longer than 8 octets");
    *(*pending_ == kLifeTypeSeconds ? seconds : kbytes) = *v;
    pending_.reset();
    return std::nullopt;
  }
  std::optional<ParseError> Finish() const {
    if (pending_) return BadSyntax("life type without a life duration");
    return std::nullopt;
  }
  bool any() const { return seen_seconds_ || seen_kbytes_; }

 private:
  std::optional<uint16_t> pending_;
  bool seen_seconds_ = false;
  bool seen_kbytes_ = false;
};

// A 16-bit valued attribute that may appear once. The basic form is the
// RFC's; a variable form holding a value that fits 16 bits is accepted too.
std::optional<ParseError> Once16(const Attribute& a, uint32_t* seen_mask, uint16_t* out) {
  const uint32_t bit = a.type < 32 ? (1u << a.type) : 0;
  if (*seen_mask & bit) return BadSyntax("repeated attribute " + std::to_string(a.type));
  *seen_mask |= bit;
  const auto v = a.AsInteger();
  if (!v || *v > 0xffff) return BadSyntax("attribute " + std::to_string(a.type) + " too long");
  *out = static_cast<uint16_t>(*v);
  return std::nullopt;
}

void AddLife(std::vector<Attribute>& out, uint16_t type_attr, uint16_t duration_attr,
             uint16_t life_type, uint64_t value) {
  if (value == 0) return;
  out.push_back(Attribute::Basic(type_attr, life_type));
  out.push_back(Attribute::Integer(duration_attr, value));
}

// The life type and life duration attribute classes of a notify's protocol
// (RFC 2407 4.6.3.1 names no classes: those of the SA payload it answers).
struct LifeClasses {
  uint16_t type;
  uint16_t duration;
};
LifeClasses LifeClassesFor(uint8_t protocol) {
  if (protocol == static_cast<uint8_t>(ProtocolId::kIsakmp))
    return {static_cast<uint16_t>(IkeAttr::kLifeType),
            static_cast<uint16_t>(IkeAttr::kLifeDuration)};
  return {static_cast<uint16_t>(IpsecAttr::kSaLifeType),
          static_cast<uint16_t>(IpsecAttr::kSaLifeDuration)};
}

void AddIfSet(Transform& t, uint16_t type, uint16_t value) {
  if (value != 0) t.attributes.push_back(Attribute::Basic(type, value));
}

}  // namespace

// RFC 2409 Appendix A.
ParseResult<IkeTransformAttrs> DecodeIkeTransform(const Transform& t) {
  if (t.id != kKeyIke)
    return ParseError{NotifyType::kInvalidTransformId,
                      "phase 1 transform id " + std::to_string(t.id) + " is not KEY_IKE", 0};
  IkeTransformAttrs out;
  LifeTracker life;
  uint32_t seen = 0;
  for (const Attribute& a : t.attributes) {
    std::optional<ParseError> e;
    switch (static_cast<IkeAttr>(a.type)) {
      case IkeAttr::kEncryptionAlgorithm:
        e = Once16(a, &seen, &out.encryption);
        break;
      case IkeAttr::kHashAlgorithm:
        e = Once16(a, &seen, &out.hash);
        break;
      case IkeAttr::kAuthenticationMethod:
        e = Once16(a, &seen, &out.auth_method);
        break;
      case IkeAttr::kGroupDescription:
        e = Once16(a, &seen, &out.group);
        break;
      case IkeAttr::kKeyLength:
        e = Once16(a, &seen, &out.key_length);
        break;
      case IkeAttr::kLifeType:
        e = life.Type(a);
        break;
      case IkeAttr::kLifeDuration:
        e = life.Duration(a, &out.life_seconds, &out.life_kbytes);
        break;
      default:
        out.unsupported.push_back(a.type);
        break;
    }
    if (e) return std::move(*e);
  }
  if (auto e = life.Finish()) return std::move(*e);
  return out;
}

// RFC 2409 Appendix A order, as strongSwan and most peers send it.
Transform EncodeIkeTransform(uint8_t number, const IkeTransformAttrs& a) {
  Transform t;
  t.number = number;
  t.id = kKeyIke;
  AddIfSet(t, static_cast<uint16_t>(IkeAttr::kEncryptionAlgorithm), a.encryption);
  AddIfSet(t, static_cast<uint16_t>(IkeAttr::kKeyLength), a.key_length);
  AddIfSet(t, static_cast<uint16_t>(IkeAttr::kHashAlgorithm), a.hash);
  AddIfSet(t, static_cast<uint16_t>(IkeAttr::kAuthenticationMethod), a.auth_method);
  AddIfSet(t, static_cast<uint16_t>(IkeAttr::kGroupDescription), a.group);
  const auto type = static_cast<uint16_t>(IkeAttr::kLifeType);
  const auto duration = static_cast<uint16_t>(IkeAttr::kLifeDuration);
  AddLife(t.attributes, type, duration, kLifeTypeSeconds, a.life_seconds);
  AddLife(t.attributes, type, duration, kLifeTypeKilobytes, a.life_kbytes);
  return t;
}

// RFC 2407 4.5.
ParseResult<IpsecTransformAttrs> DecodeIpsecTransform(const Transform& t) {
  IpsecTransformAttrs out;
  out.transform_id = t.id;
  LifeTracker life;
  uint32_t seen = 0;
  for (const Attribute& a : t.attributes) {
    std::optional<ParseError> e;
    switch (static_cast<IpsecAttr>(a.type)) {
      case IpsecAttr::kSaLifeType:
        e = life.Type(a);
        break;
      case IpsecAttr::kSaLifeDuration:
        e = life.Duration(a, &out.life_seconds, &out.life_kbytes);
        break;
      case IpsecAttr::kGroupDescription:
        e = Once16(a, &seen, &out.group);
        break;
      case IpsecAttr::kEncapsulationMode:
        e = Once16(a, &seen, &out.encapsulation);
        break;
      case IpsecAttr::kAuthenticationAlgorithm:
        e = Once16(a, &seen, &out.auth_algorithm);
        break;
      case IpsecAttr::kKeyLength:
        e = Once16(a, &seen, &out.key_length);
        break;
      default:
        out.unsupported.push_back(a.type);
        break;
    }
    if (e) return std::move(*e);
  }
  if (auto e = life.Finish()) return std::move(*e);
  return out;
}

// RFC 2407 4.5 order: life type/duration pairs, group, encapsulation,
// authentication algorithm, key length.
Transform EncodeIpsecTransform(uint8_t number, const IpsecTransformAttrs& a) {
  Transform t;
  t.number = number;
  t.id = a.transform_id;
  const auto type = static_cast<uint16_t>(IpsecAttr::kSaLifeType);
  const auto duration = static_cast<uint16_t>(IpsecAttr::kSaLifeDuration);
  AddLife(t.attributes, type, duration, kLifeTypeSeconds, a.life_seconds);
  AddLife(t.attributes, type, duration, kLifeTypeKilobytes, a.life_kbytes);
  AddIfSet(t, static_cast<uint16_t>(IpsecAttr::kGroupDescription), a.group);
  AddIfSet(t, static_cast<uint16_t>(IpsecAttr::kEncapsulationMode), a.encapsulation);
  AddIfSet(t, static_cast<uint16_t>(IpsecAttr::kAuthenticationAlgorithm), a.auth_algorithm);
  AddIfSet(t, static_cast<uint16_t>(IpsecAttr::kKeyLength), a.key_length);
  return t;
}

// RFC 2407 4.6.3.1.
Bytes EncodeLifeNotifyData(uint8_t protocol, const LifeDurations& life) {
  const LifeClasses c = LifeClassesFor(protocol);
  std::vector<Attribute> attrs;
  AddLife(attrs, c.type, c.duration, kLifeTypeSeconds, life.seconds);
  AddLife(attrs, c.type, c.duration, kLifeTypeKilobytes, life.kbytes);
  return EncodeAttributeList(attrs);
}

ParseResult<LifeDurations> DecodeLifeNotifyData(uint8_t protocol, ByteView data) {
  auto attrs = ParseAttributeList(data);
  if (auto* e = std::get_if<ParseError>(&attrs)) return std::move(*e);
  const LifeClasses c = LifeClassesFor(protocol);
  LifeDurations out;
  LifeTracker life;
  for (const Attribute& a : std::get<std::vector<Attribute>>(attrs)) {
    std::optional<ParseError> e;
    if (a.type == c.type)
      e = life.Type(a);
    else if (a.type == c.duration)
      e = life.Duration(a, &out.seconds, &out.kbytes);
    else
      e = NotSupported("attribute " + std::to_string(a.type) + " in a RESPONDER-LIFETIME");
    if (e) return std::move(*e);
  }
  if (auto e = life.Finish()) return std::move(*e);
  if (!life.any())
    return ParseError{NotifyType::kPayloadMalformed, "RESPONDER-LIFETIME without a lifetime", 0};
  return out;
}

uint32_t ChooseLifeSeconds(uint64_t proposed, uint32_t ours) {
  const uint64_t cap = ours ? ours : std::numeric_limits<uint32_t>::max();
  if (proposed == 0) return static_cast<uint32_t>(cap);
  return static_cast<uint32_t>(std::min<uint64_t>(proposed, cap));
}

uint64_t ChooseLifeKbytes(uint64_t proposed, uint64_t ours) {
  if (proposed == 0) return ours;
  if (ours == 0) return proposed;
  return std::min(proposed, ours);
}

}  // namespace ike::wire
