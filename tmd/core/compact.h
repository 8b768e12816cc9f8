// Small value types for what tmd keeps per tunnel (issue 3: <= 4 kB per
// tunnel across the daemons). The protobuf rows ike cmd=list shows are built
// from these only when a listing asks; between listings a tunnel is numbers,
// enums (states, roles, algorithms: proto/ike.proto, tunneldb.proto) and
// addresses.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"
#include "ike.pb.h"

namespace ike::tmd {

// kDormant: an on-demand or discovery tunnel whose trap waits for traffic;
// kClear: a discovery tunnel whose negotiation failed (traffic flows clear).
enum class TunnelStatus : uint8_t { kNegotiating, kActive, kFailed, kDormant, kClear };
// Negotiating or Active: isakmpd holds (or is making) the tunnel's SAs, so
// it can be neither started again nor removed without telling isakmpd.
inline bool InIsakmpd(TunnelStatus s) {
  return s == TunnelStatus::kNegotiating || s == TunnelStatus::kActive;
}
ipc::TunnelStatus ToIpc(TunnelStatus s);
// "Negotiating", "Active", "Failed": what ike cmd=list prints (the one name
// table, tunneldb/names.h).
std::string StatusName(TunnelStatus s);

// Text that is nearly always a canonical value of T (IpAddress: an address;
// AddressRange: "first-last"): then only the value is kept; anything else
// (an FQDN id, a non-canonical spelling) is kept as given, so str() always
// returns exactly the text that was stored.
template <typename T>
class CompactText {
 public:
  CompactText() = default;
  explicit CompactText(std::string_view text) { Set(text); }
  CompactText(const CompactText& o) { *this = o; }
  CompactText& operator=(const CompactText& o) {
    value_ = o.value_;
    other_ = o.other_ ? std::make_unique<std::string>(*o.other_) : nullptr;
    return *this;
  }
  CompactText(CompactText&&) = default;
  CompactText& operator=(CompactText&&) = default;

  void Set(std::string_view text);
  std::string str() const;
  bool empty() const { return !value_ && !other_; }
  // The parsed value, when the text was canonical.
  const std::optional<T>& value() const { return value_; }

 private:
  std::optional<T> value_;
  std::unique_ptr<std::string> other_;
};

using AddressText = CompactText<IpAddress>;
using RangeText = CompactText<AddressRange>;

// An ISAKMP cookie as isakmpd reports it (16 lowercase hex digits); unknown
// until an event carries it.
struct Cookie {
  uint64_t value = 0;
  bool known = false;
  // Keeps the old value when |hex| is empty or not 16 hex digits.
  void Set(std::string_view hex);
  // "" when unknown (ike cmd=list verbose prints "-").
  std::string Hex() const;
  // "0000000000000000" when unknown (log lines).
  std::string HexOrZero() const;
};

// An optional sentence (a failure reason): one pointer while absent.
class OptionalText {
 public:
  OptionalText() = default;
  OptionalText(const OptionalText& o) { *this = o; }
  OptionalText& operator=(const OptionalText& o) {
    text_ = o.text_ ? std::make_unique<std::string>(*o.text_) : nullptr;
    return *this;
  }
  OptionalText(OptionalText&&) = default;
  OptionalText& operator=(OptionalText&&) = default;
  void Set(std::string_view text) {
    text_ = text.empty() ? nullptr : std::make_unique<std::string>(text);
  }
  void Clear() { text_.reset(); }
  bool empty() const { return !text_; }
  std::string str() const { return text_ ? *text_ : std::string(); }

 private:
  std::unique_ptr<std::string> text_;
};

}  // namespace ike::tmd
