// IP addresses, endpoints and address ranges (pure; no sockets here).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

struct sockaddr;
struct sockaddr_storage;

namespace ike {

struct IpAddress {
  int family = 0;                    // AF_INET or AF_INET6
  std::array<uint8_t, 16> octets{};  // first 4 used for IPv4

  static std::optional<IpAddress> Parse(std::string_view text);
  static std::optional<IpAddress> FromBytes(ByteView b);  // 4 or 16 octets
  size_t size() const;                                    // 4 or 16
  ByteView bytes() const { return ByteView(octets.data(), size()); }
  std::string ToString() const;
  bool operator==(const IpAddress& o) const = default;
  auto operator<=>(const IpAddress& o) const = default;
};

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;

  std::string ToString() const;  // "192.0.2.1[500]"
  bool operator==(const Endpoint& o) const = default;
  auto operator<=>(const Endpoint& o) const = default;
  // sockaddr conversion for the socket adapter.
  size_t ToSockaddr(sockaddr_storage* out) const;
  static std::optional<Endpoint> FromSockaddr(const sockaddr* sa);
};

// An inclusive range of addresses of one family. A host is first == last; a
// subnet a/len is [network, broadcast].
struct AddressRange {
  IpAddress first;
  IpAddress last;

  // Parses "192.0.2.1", "198.51.100.0/24" or "192.0.2.1-192.0.2.9"; the error
  // names what is wrong ("prefix length 33 out of range", ...).
  static Result<AddressRange> Parse(std::string_view text);
  static AddressRange Host(const IpAddress& a) { return {a, a}; }
  // Prefix length if the range is exactly a CIDR block, otherwise nullopt.
  std::optional<int> PrefixLength() const;
  // "first-last", the AIX ike cmd=list form.
  std::string ToString() const;
  bool Contains(const AddressRange& inner) const;
  bool operator==(const AddressRange& o) const = default;
};

// A CIDR block: |network| with the host bits zero, and its prefix length.
struct Prefix {
  IpAddress network;
  int length = 0;
  std::string ToString() const;  // "198.51.100.0/24"
  bool operator==(const Prefix& o) const = default;
  auto operator<=>(const Prefix& o) const = default;
};

// The fewest CIDR blocks that cover |range| exactly, in address order: one
// for a subnet, up to 2 * bits - 2 for an arbitrary span (AIX filter rules
// allow ranges; the kernel's XFRM selectors take prefixes only). Empty if
// the range is malformed (families differ, first > last).
std::vector<Prefix> PrefixesOf(const AddressRange& range);

// The prefix length a netmask stands for ("255.255.255.0" -> 24), or nullopt
// if its one-bits are not contiguous from the left ("255.0.255.0"): a subnet
// ID payload (RFC 2407 4.6.2.3, 4.6.2.5) names a CIDR block, and reading such
// a mask as its leading ones alone (/8) would widen the selector.
std::optional<int> MaskPrefixLength(ByteView mask);

}  // namespace ike
