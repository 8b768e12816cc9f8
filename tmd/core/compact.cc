// Compact per-tunnel values (compact.h).
#include "tmd/core/compact.h"

#include <cstdio>

#include "tunneldb/names.h"

namespace ike::tmd {

ipc::TunnelStatus ToIpc(TunnelStatus s) {
  switch (s) {
    case TunnelStatus::kNegotiating:
      return ipc::NEGOTIATING;
    case TunnelStatus::kActive:
      return ipc::ACTIVE;
    case TunnelStatus::kFailed:
      return ipc::FAILED;
    case TunnelStatus::kDormant:
      return ipc::DORMANT;
    case TunnelStatus::kClear:
      return ipc::CLEAR;
  }
  return ipc::FAILED;
}

std::string StatusName(TunnelStatus s) { return tunneldb::TunnelStatusName(ToIpc(s)); }

namespace {

std::optional<IpAddress> ParseCanonical(std::string_view text, const IpAddress*) {
  std::optional<IpAddress> a = IpAddress::Parse(text);
  if (a && a->ToString() == text) return a;
  return std::nullopt;
}

std::optional<AddressRange> ParseCanonical(std::string_view text, const AddressRange*) {
  // Only "first-last" is canonical; a lone address or a subnet is kept as text.
  if (text.find('-') == std::string_view::npos) return std::nullopt;
  Result<AddressRange> r = AddressRange::Parse(text);
  if (r.ok() && r->ToString() == text) return *r;
  return std::nullopt;
}

}  // namespace

template <typename T>
void CompactText<T>::Set(std::string_view text) {
  value_ = ParseCanonical(text, static_cast<const T*>(nullptr));
  other_ = value_ || text.empty() ? nullptr : std::make_unique<std::string>(text);
}

template <typename T>
std::string CompactText<T>::str() const {
  if (value_) return value_->ToString();
  return other_ ? *other_ : std::string();
}

template class CompactText<IpAddress>;
template class CompactText<AddressRange>;

void Cookie::Set(std::string_view hex) {
  if (hex.size() != 16) return;
  uint64_t v = 0;
  for (char c : hex) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  value = v;
  known = true;
}

std::string Cookie::Hex() const { return known ? HexOrZero() : std::string(); }

std::string Cookie::HexOrZero() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(known ? value : 0));
  return buf;
}

}  // namespace ike::tmd
