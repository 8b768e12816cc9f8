#include "common/selector.h"

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

}  // namespace ike
