// Small value types for what tmd keeps per tunnel (issue 3: <= 4 kB per
// tunnel across the daemons). The protobuf rows ike cmd=list shows are built
// from these only when a listing asks; between listings a tunnel is numbers,
// enums, addresses and pointers to shared operator names.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"

namespace ike::tmd {

enum class TunnelStatus : uint8_t { kNegotiating, kActive, kFailed };
// "Negotiating", "Active", "Failed": what ike cmd=list prints.
const char* StatusName(TunnelStatus s);

// One shared copy of each operator name ("AES-CBC-128", "WAIT KE",
// "Initiator"): a few dozen distinct values serve every tunnel. Never freed;
// the set is bounded by what isakmpd and the database can name.
class Name {
 public:
  Name() = default;
  explicit Name(std::string_view text);
  const std::string& str() const { return *text_; }
  bool empty() const { return text_->empty(); }
  bool operator==(const Name& o) const { return text_ == o.text_; }
  bool operator==(std::string_view o) const { return *text_ == o; }

 private:
  static const std::string kEmpty;
  const std::string* text_ = &kEmpty;
};

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
  std::string str() const { return text_ ? *text_ : std::string(); }

 private:
  std::unique_ptr<std::string> text_;
};

}  // namespace ike::tmd
