#include "isakmpd/exchange/nat_traversal.h"

#include <array>

namespace ike::isakmpd::nat_traversal {
namespace {

using V = NatTVersion;

const Bytes kRfc3947Vid = {0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
                           0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f};
// MD5("draft-ietf-ipsec-nat-t-ike-02"), the same with "\n" appended (an
// early implementation hashed the newline and others followed), and -03.
const Bytes kDraft02Vid = {0xcd, 0x60, 0x46, 0x43, 0x35, 0xdf, 0x21, 0xf8,
                           0x7c, 0xfd, 0xb2, 0xfc, 0x68, 0xb6, 0xa4, 0x48};
const Bytes kDraft02nVid = {0x90, 0xcb, 0x80, 0x91, 0x3e, 0xbb, 0x69, 0x6e,
                            0x08, 0x63, 0x81, 0xb5, 0xec, 0x42, 0x7b, 0x1f};
const Bytes kDraft03Vid = {0x7d, 0x94, 0x19, 0xa6, 0x53, 0x10, 0xca, 0x6f,
                           0x2c, 0x17, 0x9d, 0x92, 0x15, 0x52, 0x9d, 0x56};

// Payload types of the drafts (sections 3.2 and 5.2 of -02 and -03).
constexpr uint8_t kDraftNatD = 130;
constexpr uint8_t kDraftNatOa = 131;
// RFC 2407 4.6.2.1 ID types, which NAT-OA reuses (RFC 3947 5.2).
constexpr uint8_t kIdIpv4 = 1;
constexpr uint8_t kIdIpv6 = 5;

// Most preferred first.
constexpr std::array<V, 4> kPreference = {V::kRfc3947, V::kDraft03, V::kDraft02n, V::kDraft02};

Bytes NatHash(const Phase1Context& sa, const Endpoint& e) {
  const uint8_t port[2] = {uint8_t(e.port >> 8), uint8_t(e.port)};
  return crypto::Hash(sa.suite->hash,
                      Concat({sa.icookie, sa.rcookie, e.address.bytes(), ByteView(port, 2)}));
}

wire::Payload Opaque(wire::PayloadType type, Bytes data) {
  return wire::MakePayload(wire::UnknownPayload{static_cast<uint8_t>(type), std::move(data)});
}

// RFC 3947 5.2: ID type, three reserved octets, the address.
wire::Payload NatOa(const Phase1Context& p1, const IpAddress& address) {
  Bytes body = {address.size() == 4 ? kIdIpv4 : kIdIpv6, 0, 0, 0};
  Append(body, address.bytes());
  return Opaque(NatOaType(p1.nat_t), std::move(body));
}

std::string NatOaText(const Bytes& body) {
  if (body.size() < 4) return "malformed";
  const size_t want = body[0] == kIdIpv4 ? 4 : body[0] == kIdIpv6 ? 16 : 0;
  if (want == 0 || body.size() != 4 + want) return "malformed";
  auto a = IpAddress::FromBytes(ByteView(body).subspan(4));
  return a ? a->ToString() : "malformed";
}

}  // namespace

const Bytes& VendorId(NatTVersion version) {
  static const Bytes kNone;
  switch (version) {
    case V::kRfc3947:
      return kRfc3947Vid;
    case V::kDraft03:
      return kDraft03Vid;
    case V::kDraft02n:
      return kDraft02nVid;
    case V::kDraft02:
      return kDraft02Vid;
    case V::kNone:
      break;
  }
  return kNone;
}

const char* VersionName(NatTVersion version) {
  switch (version) {
    case V::kRfc3947:
      return "RFC 3947";
    case V::kDraft03:
      return "draft-03";
    case V::kDraft02n:
      return "draft-02\\n";
    case V::kDraft02:
      return "draft-02";
    case V::kNone:
      break;
  }
  return "none";
}

std::vector<wire::Payload> OfferedVendorIds() {
  std::vector<wire::Payload> out;
  for (V v : kPreference) out.push_back(VendorIdPayload(v));
  return out;
}

wire::Payload VendorIdPayload(NatTVersion version) {
  return wire::MakePayload(wire::VendorIdPayload{VendorId(version)});
}

NatTVersion Agreed(const std::vector<wire::Payload>& payloads) {
  for (V v : kPreference)
    for (const auto& p : payloads)
      if (auto* vid = std::get_if<wire::VendorIdPayload>(&p.body))
        if (vid->data == VendorId(v)) return v;
  return V::kNone;
}

bool IsDraft(NatTVersion version) { return version != V::kNone && version != V::kRfc3947; }

wire::PayloadType NatDType(NatTVersion version) {
  return IsDraft(version) ? wire::PayloadType::kNatDDraft : wire::PayloadType::kNatD;
}

wire::PayloadType NatOaType(NatTVersion version) {
  return IsDraft(version) ? wire::PayloadType::kNatOaDraft : wire::PayloadType::kNatOa;
}

uint16_t UdpEncapsulation(NatTVersion version, bool transport) {
  if (IsDraft(version))
    return transport ? kDraftUdpEncapsulatedTransport : kDraftUdpEncapsulatedTunnel;
  return transport ? kUdpEncapsulatedTransport : kUdpEncapsulatedTunnel;
}

bool IsUdpEncapsulation(uint16_t e) {
  return e == kUdpEncapsulatedTunnel || e == kUdpEncapsulatedTransport ||
         e == kDraftUdpEncapsulatedTunnel || e == kDraftUdpEncapsulatedTransport;
}

bool IsTransport(uint16_t e) {
  return e == wire::kEncapsulationTransport || e == kUdpEncapsulatedTransport ||
         e == kDraftUdpEncapsulatedTransport;
}

std::vector<wire::Payload> NatDPayloads(const Phase1Context& sa) {
  const auto type = NatDType(sa.nat_t);
  return {Opaque(type, NatHash(sa, sa.remote)), Opaque(type, NatHash(sa, sa.local))};
}

void Detect(Phase1Context& sa, const std::vector<wire::Payload>& payloads) {
  const auto type = NatDType(sa.nat_t);
  std::vector<const Bytes*> hashes;
  for (const auto& p : payloads)
    if (p.type == type) hashes.push_back(&std::get<wire::UnknownPayload>(p.body).data);
  if (hashes.empty()) return;
  // The first names us as the peer sees us; the rest name the peer's sources.
  sa.nat_local = *hashes[0] != NatHash(sa, sa.local);
  const Bytes remote = NatHash(sa, sa.remote);
  sa.nat_remote = true;
  for (size_t i = 1; i < hashes.size(); ++i)
    if (*hashes[i] == remote) sa.nat_remote = false;
}

std::vector<wire::Payload> NatOaPayloads(const Phase1Context& p1) {
  if (IsDraft(p1.nat_t)) return {NatOa(p1, p1.local.address)};
  const bool init = p1.role == Role::kInitiator;
  const IpAddress& i = init ? p1.local.address : p1.remote.address;
  const IpAddress& r = init ? p1.remote.address : p1.local.address;
  return {NatOa(p1, i), NatOa(p1, r)};
}

std::vector<std::string> ReadNatOa(const Phase1Context& p1,
                                   const std::vector<wire::Payload>& payloads) {
  std::vector<std::string> out;
  const auto type = NatOaType(p1.nat_t);
  for (const auto& p : payloads)
    if (p.type == type) out.push_back(NatOaText(std::get<wire::UnknownPayload>(p.body).data));
  return out;
}

}  // namespace ike::isakmpd::nat_traversal
