// ISAKMP header and payload parsing and encoding (RFC 2408 section 3, RFC 2407
// section 4.6). Every read goes through Reader, every write through Writer;
// nothing casts packed structs. Errors are values (ParseError), never
// exceptions.
#include "isakmpd/wire/wire.h"

#include <algorithm>
#include <utility>

#include "common/address.h"
#include "common/byte_reader.h"

namespace ike::wire {
namespace {

// The bounds-checked big-endian reader and writer (common/byte_reader.h).
using Reader = ByteReader;
using Writer = ByteWriter;

ParseError Error(NotifyType notify, std::string detail, size_t offset) {
  return ParseError{notify, std::move(detail), offset};
}
ParseError Malformed(std::string detail, size_t offset) {
  return Error(NotifyType::kPayloadMalformed, std::move(detail), offset);
}
ParseError BadSyntax(std::string detail, size_t offset) {
  return Error(NotifyType::kBadProposalSyntax, std::move(detail), offset);
}

constexpr size_t kProposalHeaderLength = 8;       // RFC 2408 3.5
constexpr size_t kTransformHeaderLength = 8;      // RFC 2408 3.6
constexpr uint16_t kAttributeFormatBit = 0x8000;  // RFC 2408 3.3 AF
constexpr uint32_t kDoiIsakmp = 0;
constexpr uint32_t kDoiIpsec = 1;
constexpr uint32_t kSitIdentityOnly = 1;  // RFC 2407 4.6.1

// RFC 2408 3.3: data attributes fill the rest of a transform.
std::optional<ParseError> ParseAttributes(Reader& r, std::vector<Attribute>* out) {
  while (!r.empty()) {
    const size_t at = r.offset();
    Attribute a;
    uint16_t type_field = 0;
    if (!r.U16(&type_field)) return Malformed("truncated attribute type", at);
    a.type = type_field & ~kAttributeFormatBit;
    a.basic = (type_field & kAttributeFormatBit) != 0;
    if (a.basic) {
      if (!r.U16(&a.value)) return Malformed("truncated basic attribute value", at);
    } else {
      uint16_t len = 0;
      if (!r.U16(&len)) return Malformed("truncated attribute length", at);
      if (!r.Copy(len, &a.data)) return Malformed("attribute value overruns its container", at);
    }
    out->push_back(std::move(a));
  }
  return std::nullopt;
}

// RFC 2408 3.6: one transform payload; |r| covers exactly its bytes.
std::optional<ParseError> ParseTransform(Reader& r, Transform* t) {
  const size_t at = r.offset();
  uint16_t reserved2 = 0;
  if (!r.U8(&t->number) || !r.U8(&t->id) || !r.U16(&reserved2))
    return Malformed("truncated transform", at);
  return ParseAttributes(r, &t->attributes);
}

// Reads one nested generic header (proposal or transform, RFC 2408 3.5/3.6)
// and returns a reader over that substructure's bytes (header excluded).
std::optional<ParseError> NestedHeader(Reader& r, size_t min_length, const char* what,
                                       uint8_t* next, Reader* inner) {
  const size_t at = r.offset();
  uint8_t reserved = 0;
  uint16_t len = 0;
  if (!r.U8(next) || !r.U8(&reserved) || !r.U16(&len))
    return Malformed(std::string("truncated ") + what + " header", at);
  if (len < min_length) return Malformed(std::string(what) + " length too small", at);
  ByteView v;
  if (!r.View(len - kGenericHeaderLength, &v))
    return Malformed(std::string(what) + " length overruns its container", at);
  *inner = Reader(v, at + kGenericHeaderLength);
  return std::nullopt;
}

// RFC 2408 3.5 and 4.2: a proposal with its SPI and transforms. The
// transforms must exactly fill the proposal and their count must match.
std::optional<ParseError> ParseProposal(Reader& r, Proposal* p) {
  const size_t at = r.offset();
  uint8_t spi_size = 0, num_transforms = 0;
  if (!r.U8(&p->number) || !r.U8(&p->protocol) || !r.U8(&spi_size) || !r.U8(&num_transforms))
    return Malformed("truncated proposal", at);
  const auto protocol = static_cast<ProtocolId>(p->protocol);
  if ((protocol == ProtocolId::kIpsecAh || protocol == ProtocolId::kIpsecEsp) && spi_size != 4)
    return Error(NotifyType::kInvalidSpi, "AH/ESP SPI size must be 4", at + 2);
  if (!r.Copy(spi_size, &p->spi)) return Malformed("SPI overruns proposal", at + 2);
  if (num_transforms == 0) return BadSyntax("proposal without transforms", at + 3);
  for (unsigned i = 0; i < num_transforms; ++i) {
    const size_t t_at = r.offset();
    if (r.empty()) return BadSyntax("fewer transforms than the proposal announces", t_at);
    uint8_t next = 0;
    Reader inner({}, 0);
    if (auto e = NestedHeader(r, kTransformHeaderLength, "transform", &next, &inner)) return e;
    const bool last = i + 1 == num_transforms;
    const auto want = last ? PayloadType::kNone : PayloadType::kTransform;
    if (next != static_cast<uint8_t>(want))
      return BadSyntax("transform next-payload does not match the transform count", t_at);
    Transform t;
    if (auto e = ParseTransform(inner, &t)) return e;
    p->transforms.push_back(std::move(t));
  }
  if (!r.empty()) return BadSyntax("bytes after the last transform", r.offset());
  return std::nullopt;
}

// RFC 2408 3.4 and RFC 2407 4.6.1: DOI, situation, then proposals. Only the
// 4-octet situation (SIT_IDENTITY_ONLY) is supported.
std::optional<ParseError> ParseSa(Reader& r, SaPayload* sa) {
  const size_t at = r.offset();
  if (!r.U32(&sa->doi)) return Malformed("truncated SA DOI", at);
  if (sa->doi != kDoiIpsec && sa->doi != kDoiIsakmp)
    return Error(NotifyType::kDoiNotSupported, "SA DOI " + std::to_string(sa->doi), at);
  if (!r.U32(&sa->situation)) return Malformed("truncated SA situation", at + 4);
  if ((sa->situation & ~kSitIdentityOnly) != 0)
    return Error(NotifyType::kSituationNotSupported, "situation " + std::to_string(sa->situation),
                 at + 4);
  if (r.empty()) return BadSyntax("SA without proposals", r.offset());
  while (!r.empty()) {
    const size_t p_at = r.offset();
    uint8_t next = 0;
    Reader inner({}, 0);
    if (auto e = NestedHeader(r, kProposalHeaderLength, "proposal", &next, &inner)) return e;
    if (r.empty() ? next != 0 : next != static_cast<uint8_t>(PayloadType::kProposal))
      return BadSyntax("proposal next-payload does not match the proposals present", p_at);
    Proposal p;
    if (auto e = ParseProposal(inner, &p)) return e;
    sa->proposals.push_back(std::move(p));
  }
  return std::nullopt;
}

// RFC 2407 4.6.2.3 and 4.6.2.5: a subnet ID is an address and a netmask,
// i.e. a CIDR block. A mask whose ones are not contiguous (255.0.255.0)
// names no block; taking its leading ones alone (/8) would widen the
// selector, so it is refused (RFC 2408 3.4: INVALID-ID-INFORMATION).
std::optional<ParseError> CheckIdMask(const IdPayload& id, size_t at) {
  const auto type = static_cast<IdType>(id.type);
  if (type != IdType::kIpv4AddrSubnet && type != IdType::kIpv6AddrSubnet) return std::nullopt;
  const size_t half = id.data.size() / 2;
  const ByteView mask = ByteView(id.data).subspan(half);
  if (MaskPrefixLength(mask)) return std::nullopt;
  return Error(NotifyType::kInvalidIdInformation,
               std::string(IdTypeName(id.type)) + " with a non-contiguous netmask " + ToHex(mask),
               at + 4 + half);
}

// RFC 2407 4.6.2.1: address identities have fixed sizes.
std::optional<ParseError> CheckIdLength(const IdPayload& id, size_t at) {
  size_t want = 0;
  switch (static_cast<IdType>(id.type)) {
    case IdType::kIpv4Addr:
      want = 4;
      break;
    case IdType::kIpv4AddrSubnet:
    case IdType::kIpv4AddrRange:
      want = 8;
      break;
    case IdType::kIpv6Addr:
      want = 16;
      break;
    case IdType::kIpv6AddrSubnet:
    case IdType::kIpv6AddrRange:
      want = 32;
      break;
    default:
      return std::nullopt;
  }
  if (id.data.size() != want)
    return Error(NotifyType::kInvalidIdInformation,
                 std::string(IdTypeName(id.type)) + " with " + std::to_string(id.data.size()) +
                     " octets of data",
                 at);
  return CheckIdMask(id, at);
}

// RFC 2407 4.6.2: type, protocol, port, data.
std::optional<ParseError> ParseId(Reader& r, IdPayload* id) {
  const size_t at = r.offset();
  if (!r.U8(&id->type) || !r.U8(&id->protocol) || !r.U16(&id->port))
    return Malformed("truncated ID payload", at);
  id->data = r.Rest();
  return CheckIdLength(*id, at);
}

// RFC 2408 3.14: DOI, protocol, SPI size, type, SPI, data.
std::optional<ParseError> ParseNotify(Reader& r, NotifyPayload* n) {
  const size_t at = r.offset();
  uint8_t spi_size = 0;
  if (!r.U32(&n->doi) || !r.U8(&n->protocol) || !r.U8(&spi_size) || !r.U16(&n->type))
    return Malformed("truncated notification payload", at);
  if (!r.Copy(spi_size, &n->spi)) return Malformed("notification SPI overruns payload", at + 5);
  n->data = r.Rest();
  return std::nullopt;
}

// RFC 2409 5 (and 5.5 for Quick Mode): "The length of nonce payload MUST be
// between 8 and 256 bytes inclusive." Checked here, once, for every nonce of
// every exchange; anything else is PAYLOAD-MALFORMED (RFC 2408 3.13).
std::optional<ParseError> CheckNonceLength(const NoncePayload& n, size_t at) {
  if (n.data.size() >= kMinNonceLength && n.data.size() <= kMaxNonceLength) return std::nullopt;
  return Malformed("nonce of " + std::to_string(n.data.size()) + " octets (RFC 2409 5: 8-256)", at);
}

// The SPI size a Delete must carry for its protocol (RFC 2408 3.15: the
// ISAKMP SPI is the cookie pair, 16 octets; RFC 2407 4.6.3 and 4.4.3: AH and
// ESP SPIs are 4 octets, an IPCOMP CPI 2, or 4 when sent in an SPI field).
// A Delete whose SPI size does not fit its protocol is refused as a whole
// rather than read at some offset: matching a live SA by the last 4 octets
// of a 200-octet "SPI" would delete it on nonsense.
constexpr const char* kProtocolNames[] = {"protocol 0", "ISAKMP", "AH", "ESP", "IPCOMP"};

std::optional<ParseError> CheckDeleteSpiSize(const DeletePayload& d, size_t at) {
  bool ok = false;
  switch (static_cast<ProtocolId>(d.protocol)) {
    case ProtocolId::kIsakmp:
      ok = d.spi_size == kIsakmpSpiSize;
      break;
    case ProtocolId::kIpsecAh:
    case ProtocolId::kIpsecEsp:
      ok = d.spi_size == kIpsecSpiSize;
      break;
    case ProtocolId::kIpcomp:
      ok = d.spi_size == 2 || d.spi_size == kIpsecSpiSize;
      break;
    default:
      return Error(NotifyType::kInvalidProtocolId,
                   "delete for protocol " + std::to_string(d.protocol), at + 4);
  }
  if (ok) return std::nullopt;
  return Malformed("delete SPI size " + std::to_string(d.spi_size) + " for " +
                       kProtocolNames[std::min<size_t>(d.protocol, 4)],
                   at + 5);
}

// RFC 2408 3.15: DOI, protocol, SPI size, count, then exactly count SPIs.
std::optional<ParseError> ParseDelete(Reader& r, DeletePayload* d) {
  const size_t at = r.offset();
  uint16_t count = 0;
  if (!r.U32(&d->doi) || !r.U8(&d->protocol) || !r.U8(&d->spi_size) || !r.U16(&count))
    return Malformed("truncated delete payload", at);
  if (auto e = CheckDeleteSpiSize(*d, at)) return e;
  if (size_t{count} * d->spi_size != r.remaining())
    return Malformed("delete SPI count and payload length disagree", at + 6);
  d->spis.resize(count);
  for (auto& spi : d->spis) r.Copy(d->spi_size, &spi);  // size checked above
  return std::nullopt;
}

// Parses the body (generic header excluded) of a payload of type |type|.
std::optional<ParseError> ParseBody(PayloadType type, Reader& r, bool allow_unknown,
                                    PayloadBody* body) {
  const size_t at = r.offset();
  switch (type) {
    case PayloadType::kSa:
      return ParseSa(r, &body->emplace<SaPayload>());
    case PayloadType::kKeyExchange:
      body->emplace<KeyExchangePayload>().data = r.Rest();
      return std::nullopt;
    case PayloadType::kIdentification:
      return ParseId(r, &body->emplace<IdPayload>());
    case PayloadType::kCertificate: {
      auto& c = body->emplace<CertificatePayload>();
      if (!r.U8(&c.encoding)) return Malformed("certificate payload without encoding", at);
      c.data = r.Rest();
      return std::nullopt;
    }
    case PayloadType::kCertificateRequest: {
      auto& c = body->emplace<CertificateRequestPayload>();
      if (!r.U8(&c.type)) return Malformed("certificate request without type", at);
      c.authority = r.Rest();
      return std::nullopt;
    }
    case PayloadType::kHash:
      body->emplace<HashPayload>().data = r.Rest();
      return std::nullopt;
    case PayloadType::kSignature:
      body->emplace<SignaturePayload>().data = r.Rest();
      return std::nullopt;
    case PayloadType::kNonce:
      body->emplace<NoncePayload>().data = r.Rest();
      return CheckNonceLength(std::get<NoncePayload>(*body), at);
    case PayloadType::kNotification:
      return ParseNotify(r, &body->emplace<NotifyPayload>());
    case PayloadType::kDelete:
      return ParseDelete(r, &body->emplace<DeletePayload>());
    case PayloadType::kVendorId:
      body->emplace<VendorIdPayload>().data = r.Rest();
      return std::nullopt;
    case PayloadType::kNatD:  // RFC 3947: kept opaque, type preserved
    case PayloadType::kNatOa:
    case PayloadType::kNatDDraft:  // the drafts' numbers for the same
    case PayloadType::kNatOaDraft:
      break;
    case PayloadType::kProposal:  // only inside an SA (RFC 2408 3.5)
    case PayloadType::kTransform:
    case PayloadType::kNone:
      return Error(NotifyType::kInvalidPayloadType,
                   std::string(PayloadTypeName(type)) + " payload outside an SA", at);
    default:
      if (!allow_unknown)
        return Error(NotifyType::kInvalidPayloadType,
                     "unknown payload type " + std::to_string(static_cast<unsigned>(type)), at);
      break;
  }
  auto& u = body->emplace<UnknownPayload>();
  u.type = static_cast<uint8_t>(type);
  u.data = r.Rest();
  return std::nullopt;
}

// ---- encoding ---------------------------------------------------------------

void EncodeAttribute(Writer& w, const Attribute& a) {
  if (a.basic) {
    w.U16(static_cast<uint16_t>(a.type | kAttributeFormatBit));
    w.U16(a.value);
  } else {
    w.U16(static_cast<uint16_t>(a.type & ~kAttributeFormatBit));
    w.U16(static_cast<uint16_t>(a.data.size()));
    w.Put(a.data);
  }
}

// RFC 2408 3.4-3.6: SA body with nested proposal and transform payloads; the
// last of each has next payload 0, the others 2 (proposal) or 3 (transform).
void EncodeSa(Writer& w, const SaPayload& sa) {
  w.U32(sa.doi);
  w.U32(sa.situation);
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    const size_t p_start = w.size();
    w.U8(i + 1 < sa.proposals.size() ? static_cast<uint8_t>(PayloadType::kProposal) : 0);
    w.U8(0);
    const size_t p_len = w.Reserve16();
    w.U8(p.number);
    w.U8(p.protocol);
    w.U8(static_cast<uint8_t>(p.spi.size()));
    w.U8(static_cast<uint8_t>(p.transforms.size()));
    w.Put(p.spi);
    for (size_t j = 0; j < p.transforms.size(); ++j) {
      const Transform& t = p.transforms[j];
      const size_t t_start = w.size();
      w.U8(j + 1 < p.transforms.size() ? static_cast<uint8_t>(PayloadType::kTransform) : 0);
      w.U8(0);
      const size_t t_len = w.Reserve16();
      w.U8(t.number);
      w.U8(t.id);
      w.U16(0);
      for (const Attribute& a : t.attributes) EncodeAttribute(w, a);
      w.PatchLength(t_len, t_start);
    }
    w.PatchLength(p_len, p_start);
  }
}

// Visitor writing each body type in its RFC layout.
struct BodyEncoder {
  Writer& w;
  void operator()(const SaPayload& b) { EncodeSa(w, b); }
  void operator()(const KeyExchangePayload& b) { w.Put(b.data); }
  void operator()(const IdPayload& b) {  // RFC 2407 4.6.2
    w.U8(b.type);
    w.U8(b.protocol);
    w.U16(b.port);
    w.Put(b.data);
  }
  void operator()(const HashPayload& b) { w.Put(b.data); }
  void operator()(const SignaturePayload& b) { w.Put(b.data); }
  void operator()(const NoncePayload& b) { w.Put(b.data); }
  void operator()(const VendorIdPayload& b) { w.Put(b.data); }
  void operator()(const CertificatePayload& b) {  // RFC 2408 3.9
    w.U8(b.encoding);
    w.Put(b.data);
  }
  void operator()(const CertificateRequestPayload& b) {  // RFC 2408 3.10
    w.U8(b.type);
    w.Put(b.authority);
  }
  void operator()(const NotifyPayload& b) {  // RFC 2408 3.14
    w.U32(b.doi);
    w.U8(b.protocol);
    w.U8(static_cast<uint8_t>(b.spi.size()));
    w.U16(b.type);
    w.Put(b.spi);
    w.Put(b.data);
  }
  void operator()(const DeletePayload& b) {  // RFC 2408 3.15
    w.U32(b.doi);
    w.U8(b.protocol);
    w.U8(b.spi_size);
    w.U16(static_cast<uint16_t>(b.spis.size()));
    for (const Bytes& spi : b.spis) {
      // Each SPI is written as exactly spi_size octets so the payload stays
      // self-consistent even if a caller passed a wrong-sized SPI.
      Bytes fixed(b.spi_size, 0);
      std::copy_n(spi.begin(), std::min(spi.size(), fixed.size()), fixed.begin());
      w.Put(fixed);
    }
  }
  void operator()(const UnknownPayload& b) { w.Put(b.data); }
};

}  // namespace

// RFC 2408 3.1 and 5.2: fixed header, length and major version checks.
ParseResult<Header> ParseHeader(ByteView packet) {
  Reader r(packet, 0);
  Header h;
  uint8_t next = 0, exchange = 0;
  if (!r.Array(&h.icookie) || !r.Array(&h.rcookie) || !r.U8(&next) || !r.U8(&h.version) ||
      !r.U8(&exchange) || !r.U8(&h.flags) || !r.U32(&h.message_id) || !r.U32(&h.length))
    return Malformed("message shorter than the ISAKMP header", packet.size());
  h.next_payload = static_cast<PayloadType>(next);
  h.exchange = static_cast<ExchangeType>(exchange);
  if (h.length < kHeaderLength)
    return Malformed("header length " + std::to_string(h.length) + " below 28", 24);
  if (h.length > packet.size())
    return Malformed("header length " + std::to_string(h.length) + " exceeds the " +
                         std::to_string(packet.size()) + " octets received",
                     24);
  // The minor version is not checked: RFC 2408 5.2 leaves that to policy and
  // deployed peers send 0.
  if ((h.version >> 4) != (kIsakmpVersion >> 4))
    return Error(NotifyType::kInvalidMajorVersion,
                 "major version " + std::to_string(h.version >> 4), 17);
  return h;
}

// RFC 2408 3.2: a chain of generic payload headers. Offsets in errors are
// relative to |body|.
ParseResult<std::vector<Payload>> ParsePayloads(PayloadType first, ByteView body,
                                                bool allow_unknown) {
  std::vector<Payload> out;
  Reader r(body, 0);
  PayloadType type = first;
  while (type != PayloadType::kNone) {
    const size_t at = r.offset();
    uint8_t next = 0, reserved = 0;
    uint16_t len = 0;
    // The RESERVED octet is not checked: RFC 2408 only says "set to 0".
    if (!r.U8(&next) || !r.U8(&reserved) || !r.U16(&len))
      return Malformed(std::string("truncated generic header of ") + PayloadTypeName(type), at);
    if (len < kGenericHeaderLength)
      return Malformed(std::string(PayloadTypeName(type)) + " payload length below 4", at + 2);
    ByteView content;
    if (!r.View(len - kGenericHeaderLength, &content))
      return Malformed(std::string(PayloadTypeName(type)) + " payload length " +
                           std::to_string(len) + " overruns the message",
                       at + 2);
    Payload p;
    p.type = type;
    Reader inner(content, at + kGenericHeaderLength);
    if (auto e = ParseBody(type, inner, allow_unknown, &p.body)) return std::move(*e);
    p.raw.assign(body.begin() + static_cast<std::ptrdiff_t>(at),
                 body.begin() + static_cast<std::ptrdiff_t>(at + len));
    out.push_back(std::move(p));
    type = static_cast<PayloadType>(next);
  }
  return out;
}

Bytes EncodePayloadBody(const PayloadBody& body) {
  Bytes out;
  Writer w(out);
  std::visit(BodyEncoder{w}, body);
  return out;
}

// RFC 2408 3.2: each generic header names the type of the payload after it.
Bytes EncodePayloads(std::vector<Payload>& payloads) {
  for (auto& p : payloads) p.type = TypeOf(p.body);
  Bytes out;
  Writer w(out);
  for (size_t i = 0; i < payloads.size(); ++i) {
    const size_t start = w.size();
    w.U8(i + 1 < payloads.size() ? static_cast<uint8_t>(payloads[i + 1].type) : 0);
    w.U8(0);
    const size_t len = w.Reserve16();
    std::visit(BodyEncoder{w}, payloads[i].body);
    w.PatchLength(len, start);
    payloads[i].raw.assign(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
  }
  return out;
}

// RFC 2408 3.1.
Bytes EncodeHeader(const Header& h) {
  Bytes out;
  out.reserve(kHeaderLength);
  Writer w(out);
  w.Put(h.icookie);
  w.Put(h.rcookie);
  w.U8(static_cast<uint8_t>(h.next_payload));
  w.U8(h.version);
  w.U8(static_cast<uint8_t>(h.exchange));
  w.U8(h.flags);
  w.U32(h.message_id);
  w.U32(h.length);
  return out;
}

PayloadType TypeOf(const PayloadBody& body) {
  struct Visitor {
    PayloadType operator()(const SaPayload&) { return PayloadType::kSa; }
    PayloadType operator()(const KeyExchangePayload&) { return PayloadType::kKeyExchange; }
    PayloadType operator()(const IdPayload&) { return PayloadType::kIdentification; }
    PayloadType operator()(const HashPayload&) { return PayloadType::kHash; }
    PayloadType operator()(const SignaturePayload&) { return PayloadType::kSignature; }
    PayloadType operator()(const NoncePayload&) { return PayloadType::kNonce; }
    PayloadType operator()(const VendorIdPayload&) { return PayloadType::kVendorId; }
    PayloadType operator()(const CertificatePayload&) { return PayloadType::kCertificate; }
    PayloadType operator()(const CertificateRequestPayload&) {
      return PayloadType::kCertificateRequest;
    }
    PayloadType operator()(const NotifyPayload&) { return PayloadType::kNotification; }
    PayloadType operator()(const DeletePayload&) { return PayloadType::kDelete; }
    PayloadType operator()(const UnknownPayload& u) { return static_cast<PayloadType>(u.type); }
  };
  return std::visit(Visitor{}, body);
}

Payload MakePayload(PayloadBody body) {
  Payload p;
  p.type = TypeOf(body);
  p.body = std::move(body);
  return p;
}

const Payload* Find(const std::vector<Payload>& payloads, PayloadType type) {
  for (const auto& p : payloads)
    if (p.type == type) return &p;
  return nullptr;
}

// ---- attributes (RFC 2408 3.3) ----------------------------------------------

ParseResult<std::vector<Attribute>> ParseAttributeList(ByteView data) {
  std::vector<Attribute> out;
  Reader r(data, 0);
  if (auto e = ParseAttributes(r, &out)) return std::move(*e);
  return out;
}

Bytes EncodeAttributeList(const std::vector<Attribute>& attributes) {
  Bytes out;
  Writer w(out);
  for (const Attribute& a : attributes) EncodeAttribute(w, a);
  return out;
}

std::optional<uint64_t> Attribute::AsInteger() const {
  if (basic) return value;
  if (data.size() > 8) return std::nullopt;
  uint64_t v = 0;
  for (uint8_t b : data) v = (v << 8) | b;
  return v;
}

Attribute Attribute::Basic(uint16_t type, uint16_t value) {
  Attribute a;
  a.type = type;
  a.basic = true;
  a.value = value;
  return a;
}

// Variable form: minimal big-endian length, but at least 4 octets, which is
// what other implementations send for 32-bit life durations.
Attribute Attribute::Integer(uint16_t type, uint64_t value) {
  if (value <= 0xffff) return Basic(type, static_cast<uint16_t>(value));
  Attribute a;
  a.type = type;
  a.basic = false;
  size_t len = 8;
  while (len > 4 && (value >> ((len - 1) * 8)) == 0) --len;
  a.data.resize(len);
  for (size_t i = 0; i < len; ++i) a.data[len - 1 - i] = static_cast<uint8_t>(value >> (i * 8));
  return a;
}

}  // namespace ike::wire
