#include "isakmpd/exchange/identity.h"

#include <sys/socket.h>

#include <cctype>

#include "common/selector.h"

namespace ike::isakmpd {
namespace {

using wire::IdType;

uint8_t AddrType(const IpAddress& a) {
  return static_cast<uint8_t>(a.family == AF_INET6 ? IdType::kIpv6Addr : IdType::kIpv4Addr);
}

// A netmask of |prefix| bits in the address family of |like|.
Bytes MaskBytes(const IpAddress& like, int prefix) {
  Bytes mask(like.size(), 0);
  for (int i = 0; i < prefix; ++i) mask[i / 8] |= uint8_t(0x80 >> (i % 8));
  return mask;
}

}  // namespace

wire::IdPayload Phase1IdPayload(const db::Identity& id, const std::string& address) {
  wire::IdPayload p;
  const std::string text = id.value().empty() ? address : id.value();
  switch (id.type()) {
    case db::FQDN:
      p.type = static_cast<uint8_t>(IdType::kFqdn);
      p.data = Bytes(text.begin(), text.end());
      return p;
    case db::USER_FQDN:
      p.type = static_cast<uint8_t>(IdType::kUserFqdn);
      p.data = Bytes(text.begin(), text.end());
      return p;
    case db::KEY_ID:
      p.type = static_cast<uint8_t>(IdType::kKeyId);
      p.data = Bytes(text.begin(), text.end());
      return p;
    default:
      break;
  }
  auto ip = IpAddress::Parse(text);
  if (!ip) ip = IpAddress::Parse(address);
  if (ip) {
    p.type = AddrType(*ip);
    p.data = Bytes(ip->bytes().begin(), ip->bytes().end());
  }
  return p;
}

std::string Phase1IdText(const db::Identity& id, const std::string& address) {
  return id.value().empty() ? address : id.value();
}

std::string IdPayloadText(const wire::IdPayload& id) {
  switch (static_cast<IdType>(id.type)) {
    case IdType::kFqdn:
    case IdType::kUserFqdn:
    case IdType::kKeyId:
      return ToString(id.data);
    default:
      break;
  }
  if (auto range = IdPayloadRange(id)) {
    if (range->first == range->last) return range->first.ToString();
    return range->ToString();
  }
  return std::string(wire::IdTypeName(id.type)) + ":" + ToHex(id.data);
}

std::optional<AddressRange> SelectorRange(const db::Selector& s) { return SelectorAddressRange(s); }

wire::IdPayload SelectorIdPayload(const db::Selector& s, uint32_t protocol) {
  wire::IdPayload p = SelectorIdPayload(s);
  p.protocol = static_cast<uint8_t>(protocol);
  return p;
}

// The IPC enum and the wire's both carry the RFC 2407 4.6.2.1 numbers.
static_assert(uint8_t(IdType::kIpv4Addr) == ipc::ID_IPV4_ADDR &&
              uint8_t(IdType::kIpv6Addr) == ipc::ID_IPV6_ADDR &&
              uint8_t(IdType::kIpv4AddrSubnet) == ipc::ID_IPV4_ADDR_SUBNET &&
              uint8_t(IdType::kIpv6AddrSubnet) == ipc::ID_IPV6_ADDR_SUBNET &&
              uint8_t(IdType::kIpv4AddrRange) == ipc::ID_IPV4_ADDR_RANGE &&
              uint8_t(IdType::kIpv6AddrRange) == ipc::ID_IPV6_ADDR_RANGE);

wire::IdPayload SelectorIdPayload(const db::Selector& s) {
  wire::IdPayload p;
  p.protocol = static_cast<uint8_t>(s.protocol());
  p.port = static_cast<uint16_t>(s.port());
  auto range = SelectorRange(s);
  if (!range) return p;
  // The one rule for the type (common/selector.h), which ike cmd=list shows.
  const ipc::IdentityType type = SelectorIdType(*range);
  p.type = static_cast<uint8_t>(type);
  Append(p.data, range->first.bytes());
  if (type == ipc::ID_IPV4_ADDR_SUBNET || type == ipc::ID_IPV6_ADDR_SUBNET) {
    Append(p.data, MaskBytes(range->first, range->PrefixLength().value_or(0)));
  } else if (type == ipc::ID_IPV4_ADDR_RANGE || type == ipc::ID_IPV6_ADDR_RANGE) {
    Append(p.data, range->last.bytes());
  }
  return p;
}

std::optional<AddressRange> IdPayloadRange(const wire::IdPayload& id) {
  const ByteView d(id.data);
  auto half = [&](size_t n, size_t at) { return IpAddress::FromBytes(d.subspan(at, n)); };
  switch (static_cast<IdType>(id.type)) {
    case IdType::kIpv4Addr:
    case IdType::kIpv6Addr: {
      auto a = IpAddress::FromBytes(d);
      if (!a) return std::nullopt;
      return AddressRange::Host(*a);
    }
    case IdType::kIpv4AddrSubnet:
    case IdType::kIpv6AddrSubnet: {
      const size_t n = id.type == uint8_t(IdType::kIpv4AddrSubnet) ? 4 : 16;
      if (d.size() != 2 * n) return std::nullopt;
      auto a = half(n, 0);
      // A non-contiguous mask names no subnet (the parser refuses it too).
      auto prefix = MaskPrefixLength(d.subspan(n, n));
      if (!a || !prefix) return std::nullopt;
      auto r = AddressRange::Parse(a->ToString() + "/" + std::to_string(*prefix));
      if (!r) return std::nullopt;
      return r.value();
    }
    case IdType::kIpv4AddrRange:
    case IdType::kIpv6AddrRange: {
      const size_t n = id.type == uint8_t(IdType::kIpv4AddrRange) ? 4 : 16;
      if (d.size() != 2 * n) return std::nullopt;
      auto a = half(n, 0), b = half(n, n);
      if (!a || !b || *b < *a) return std::nullopt;
      return AddressRange{*a, *b};
    }
    default:
      return std::nullopt;
  }
}

std::string IdentityKey(std::string_view id_text) {
  std::string key(id_text);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace ike::isakmpd
