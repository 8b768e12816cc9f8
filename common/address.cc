#include "common/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace ike {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int BitCount(const IpAddress& a) { return static_cast<int>(a.size()) * 8; }

bool Bit(const IpAddress& a, int i) { return (a.octets[i / 8] >> (7 - i % 8)) & 1; }

// Sets every bit from |prefix| on to |value|: the network (false) or the
// broadcast (true) address of the block that holds |a|.
IpAddress FillHostBits(IpAddress a, int prefix, bool value) {
  for (int i = prefix; i < BitCount(a); ++i) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if (value) {
      a.octets[i / 8] |= mask;
    } else {
      a.octets[i / 8] &= static_cast<uint8_t>(~mask);
    }
  }
  return a;
}

const char* FamilyName(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

Result<IpAddress> ParseMember(std::string_view part, std::string_view whole) {
  std::optional<IpAddress> a = IpAddress::Parse(Trim(part));
  if (!a) {
    return Error{"'" + std::string(Trim(part)) + "' in '" + std::string(whole) +
                 "' is not an IPv4 or IPv6 address"};
  }
  return *a;
}

Result<AddressRange> ParseSubnet(std::string_view text, size_t slash) {
  Result<IpAddress> base = ParseMember(text.substr(0, slash), text);
  if (!base.ok()) return base.error();
  std::string_view len_text = Trim(text.substr(slash + 1));
  if (len_text.empty() || len_text.size() > 3 ||
      len_text.find_first_not_of("0123456789") != std::string_view::npos) {
    return Error{"prefix length '" + std::string(len_text) + "' in '" + std::string(text) +
                 "' is not a number"};
  }
  int len = std::stoi(std::string(len_text));
  int max = BitCount(*base);
  if (len > max) {
    return Error{"prefix length " + std::to_string(len) + " out of range (0-" +
                 std::to_string(max) + " for " + FamilyName(base->family) + ")"};
  }
  // Host bits set ("192.0.2.7/24") are accepted and masked off, as the AIX
  // database tools do.
  return AddressRange{FillHostBits(*base, len, false), FillHostBits(*base, len, true)};
}

Result<AddressRange> ParseSpan(std::string_view text, size_t dash) {
  Result<IpAddress> first = ParseMember(text.substr(0, dash), text);
  if (!first.ok()) return first.error();
  Result<IpAddress> last = ParseMember(text.substr(dash + 1), text);
  if (!last.ok()) return last.error();
  if (first->family != last->family) {
    return Error{"range '" + std::string(text) + "' mixes " + FamilyName(first->family) + " and " +
                 FamilyName(last->family) + " addresses"};
  }
  if (*last < *first) {
    return Error{"range '" + std::string(text) + "' is reversed: " + first->ToString() +
                 " is after " + last->ToString()};
  }
  return AddressRange{*first, *last};
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string and rejects surrounding junk.
  std::string s(text);
  IpAddress a;
  if (s.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, s.c_str(), a.octets.data()) != 1) return std::nullopt;
    a.family = AF_INET6;
  } else {
    if (inet_pton(AF_INET, s.c_str(), a.octets.data()) != 1) return std::nullopt;
    a.family = AF_INET;
  }
  return a;
}

std::optional<IpAddress> IpAddress::FromBytes(ByteView b) {
  IpAddress a;
  if (b.size() == 4) {
    a.family = AF_INET;
  } else if (b.size() == 16) {
    a.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  memcpy(a.octets.data(), b.data(), b.size());
  return a;
}

size_t IpAddress::size() const {
  if (family == AF_INET) return 4;
  if (family == AF_INET6) return 16;
  return 0;
}

std::string IpAddress::ToString() const {
  if (family != AF_INET && family != AF_INET6) return "(no address)";
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(family, octets.data(), buf, sizeof(buf)) == nullptr) return "(bad address)";
  return buf;
}

std::string Endpoint::ToString() const {
  return address.ToString() + "[" + std::to_string(port) + "]";
}

size_t Endpoint::ToSockaddr(sockaddr_storage* out) const {
  memset(out, 0, sizeof(*out));
  if (address.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    memcpy(&sin->sin_addr, address.octets.data(), 4);
    return sizeof(sockaddr_in);
  }
  if (address.family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    memcpy(&sin6->sin6_addr, address.octets.data(), 16);
    return sizeof(sockaddr_in6);
  }
  return 0;
}

std::optional<Endpoint> Endpoint::FromSockaddr(const sockaddr* sa) {
  if (sa == nullptr) return std::nullopt;
  Endpoint e;
  if (sa->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
    e.address.family = AF_INET;
    memcpy(e.address.octets.data(), &sin->sin_addr, 4);
    e.port = ntohs(sin->sin_port);
    return e;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    e.address.family = AF_INET6;
    memcpy(e.address.octets.data(), &sin6->sin6_addr, 16);
    e.port = ntohs(sin6->sin6_port);
    return e;
  }
  return std::nullopt;
}

Result<AddressRange> AddressRange::Parse(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return Error{"empty address range"};
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) return ParseSubnet(text, slash);
  size_t dash = text.find('-');
  if (dash != std::string_view::npos) return ParseSpan(text, dash);
  Result<IpAddress> host = ParseMember(text, text);
  if (!host.ok()) return host.error();
  return Host(*host);
}

std::optional<int> AddressRange::PrefixLength() const {
  if (first.family != last.family || first.size() == 0) return std::nullopt;
  // A CIDR block: identical leading bits, then first all 0s and last all 1s.
  int bits = BitCount(first);
  int prefix = 0;
  while (prefix < bits && Bit(first, prefix) == Bit(last, prefix)) ++prefix;
  for (int i = prefix; i < bits; ++i) {
    if (Bit(first, i) || !Bit(last, i)) return std::nullopt;
  }
  return prefix;
}

std::string AddressRange::ToString() const { return first.ToString() + "-" + last.ToString(); }

bool AddressRange::Contains(const AddressRange& inner) const {
  // Within one family the defaulted <=> compares octets, i.e. numerically.
  if (first.family != inner.first.family || last.family != inner.last.family) return false;
  return first <= inner.first && inner.last <= last;
}

std::optional<int> MaskPrefixLength(ByteView mask) {
  int prefix = 0;
  size_t i = 0;
  for (; i < mask.size() && mask[i] == 0xff; ++i) prefix += 8;
  if (i == mask.size()) return prefix;
  // The first octet that is not all ones must be ones then zeros (0xf0),
  // and every octet after it zero.
  const uint8_t partial = mask[i];
  const uint8_t zeros = static_cast<uint8_t>(~partial);
  if ((zeros & (zeros + 1)) != 0) return std::nullopt;
  for (size_t j = i + 1; j < mask.size(); ++j)
    if (mask[j] != 0) return std::nullopt;
  for (uint8_t b = partial; b & 0x80; b = static_cast<uint8_t>(b << 1)) ++prefix;
  return prefix;
}

}  // namespace ike

namespace ike {
namespace {

// Addresses as 128-bit integers: IPv4 in the low 32 bits.
using U128 = unsigned __int128;

U128 ToInteger(const IpAddress& a) {
  U128 v = 0;
  for (size_t i = 0; i < a.size(); ++i) v = (v << 8) | a.octets[i];
  return v;
}

IpAddress FromInteger(U128 v, int family) {
  IpAddress a;
  a.family = family;
  for (size_t i = a.size(); i-- > 0;) {
    a.octets[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
  return a;
}

}  // namespace

std::string Prefix::ToString() const { return network.ToString() + "/" + std::to_string(length); }

std::vector<Prefix> PrefixesOf(const AddressRange& range) {
  std::vector<Prefix> out;
  const IpAddress& a = range.first;
  if (a.family != range.last.family || a.size() == 0 || range.last < a) return out;
  const int bits = static_cast<int>(a.size() * 8);
  U128 first = ToInteger(a);
  const U128 last = ToInteger(range.last);
  while (true) {
    // The largest block that starts at |first| (aligned) and ends by |last|.
    int host_bits = 0;
    while (host_bits < bits) {
      const U128 mask = host_bits + 1 == 128 ? ~U128{0} : (U128{1} << (host_bits + 1)) - 1;
      if ((first & mask) != 0 || first + mask > last) break;
      ++host_bits;
    }
    out.push_back({FromInteger(first, a.family), bits - host_bits});
    if (host_bits == bits) break;  // the whole address space
    const U128 block_last = first + ((U128{1} << host_bits) - 1);
    if (block_last >= last) break;
    first = block_last + 1;
  }
  return out;
}

}  // namespace ike
