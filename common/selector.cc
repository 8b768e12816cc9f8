#include "common/selector.h"

#include <sys/socket.h>

namespace ike {

std::string SelectorText(const db::Selector& s) {
  switch (s.kind_case()) {
    case db::Selector::kAddress:
      return s.address();
    case db::Selector::kSubnet:
      return s.subnet();
    case db::Selector::kRange:
      return s.range();
    default:
      return "";
  }
}

std::optional<AddressRange> SelectorAddressRange(const db::Selector& s) {
  auto r = AddressRange::Parse(SelectorText(s));
  if (!r) return std::nullopt;
  return r.value();
}

std::string SelectorRangeText(const db::Selector& s) {
  std::optional<AddressRange> r = SelectorAddressRange(s);
  return r ? r->ToString() : SelectorText(s);
}

uint32_t TunnelProtocol(const db::IpsecTunnel& t) {
  return t.local().protocol() != 0 ? t.local().protocol() : t.remote().protocol();
}

ipc::IdentityType SelectorIdType(const AddressRange& range) {
  const bool v6 = range.first.family == AF_INET6;
  if (range.first == range.last) return v6 ? ipc::ID_IPV6_ADDR : ipc::ID_IPV4_ADDR;
  if (range.PrefixLength()) return v6 ? ipc::ID_IPV6_ADDR_SUBNET : ipc::ID_IPV4_ADDR_SUBNET;
  return v6 ? ipc::ID_IPV6_ADDR_RANGE : ipc::ID_IPV4_ADDR_RANGE;
}

// ike.db.IdType took its values from RFC 2407 4.6.2.1 too.
static_assert(static_cast<int>(db::IPV4_ADDR) == ipc::ID_IPV4_ADDR &&
              static_cast<int>(db::FQDN) == ipc::ID_FQDN &&
              static_cast<int>(db::USER_FQDN) == ipc::ID_USER_FQDN &&
              static_cast<int>(db::IPV6_ADDR) == ipc::ID_IPV6_ADDR &&
              static_cast<int>(db::KEY_ID) == ipc::ID_KEY_ID);

ipc::IdentityType IdentityTypeOf(db::IdType type) {
  return static_cast<ipc::IdentityType>(static_cast<int>(type));
}

}  // namespace ike
