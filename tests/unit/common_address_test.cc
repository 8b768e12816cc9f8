// IpAddress, Endpoint and AddressRange parsing and formatting.
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "common/address.h"

namespace ike {
namespace {

IpAddress Ip(const char* text) {
  std::optional<IpAddress> a = IpAddress::Parse(text);
  REQUIRE(a.has_value());
  return *a;
}

std::string ParseError(const char* text) {
  Result<AddressRange> r = AddressRange::Parse(text);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

TEST_CASE("IpAddress parses and prints IPv4 and IPv6") {
  IpAddress v4 = Ip("192.0.2.1");
  CHECK(v4.family == AF_INET);
  CHECK(v4.size() == 4);
  CHECK(v4.ToString() == "192.0.2.1");
  IpAddress v6 = Ip("2001:DB8::1");
  CHECK(v6.family == AF_INET6);
  CHECK(v6.size() == 16);
  CHECK(v6.ToString() == "2001:db8::1");
  for (const char* bad : {"", "256.1.1.1", "1.2.3", "abc", "1.2.3.4 ", "2001:db8:::1", "::g"}) {
    INFO(bad);
    CHECK_FALSE(IpAddress::Parse(bad).has_value());
  }
  CHECK(IpAddress{}.ToString() == "(no address)");
}

TEST_CASE("IpAddress::FromBytes takes 4 or 16 octets") {
  const uint8_t four[] = {198, 51, 100, 7};
  CHECK(IpAddress::FromBytes(four)->ToString() == "198.51.100.7");
  uint8_t sixteen[16] = {0x20, 0x01, 0x0d, 0xb8};
  sixteen[15] = 2;
  CHECK(IpAddress::FromBytes(sixteen)->ToString() == "2001:db8::2");
  CHECK_FALSE(IpAddress::FromBytes(ByteView(four, 3)).has_value());
  CHECK(Ip("10.0.0.1") < Ip("10.0.0.2"));
}

TEST_CASE("Endpoint prints addr[port] and round-trips through sockaddr") {
  for (const char* text : {"192.0.2.1", "2001:db8::5"}) {
    Endpoint e{Ip(text), 500};
    CHECK(e.ToString() == std::string(text) + "[500]");
    sockaddr_storage ss;
    size_t len = e.ToSockaddr(&ss);
    CHECK(len == (e.address.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    std::optional<Endpoint> back = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
    REQUIRE(back.has_value());
    CHECK(*back == e);
  }
  sockaddr_storage ss;
  CHECK(Endpoint{}.ToSockaddr(&ss) == 0);
  CHECK_FALSE(Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&ss)).has_value());
}

TEST_CASE("AddressRange parses hosts, subnets and spans") {
  Result<AddressRange> host = AddressRange::Parse("192.0.2.1");
  REQUIRE(host.ok());
  CHECK(host->ToString() == "192.0.2.1-192.0.2.1");
  CHECK(host->PrefixLength() == 32);

  Result<AddressRange> net = AddressRange::Parse("198.51.100.0/24");
  REQUIRE(net.ok());
  CHECK(net->ToString() == "198.51.100.0-198.51.100.255");
  CHECK(net->PrefixLength() == 24);

  Result<AddressRange> masked = AddressRange::Parse("198.51.100.77/26");
  REQUIRE(masked.ok());
  CHECK(masked->ToString() == "198.51.100.64-198.51.100.127");

  Result<AddressRange> all = AddressRange::Parse("0.0.0.0/0");
  REQUIRE(all.ok());
  CHECK(all->ToString() == "0.0.0.0-255.255.255.255");
  CHECK(all->PrefixLength() == 0);

  Result<AddressRange> span = AddressRange::Parse("192.0.2.1-192.0.2.9");
  REQUIRE(span.ok());
  CHECK(span->ToString() == "192.0.2.1-192.0.2.9");
  CHECK_FALSE(span->PrefixLength().has_value());
  CHECK(AddressRange::Parse("10.0.0.0-10.0.0.255")->PrefixLength() == 24);
  CHECK_FALSE(AddressRange::Parse("10.0.0.1-10.0.1.0")->PrefixLength().has_value());
}

TEST_CASE("AddressRange handles IPv6") {
  Result<AddressRange> net = AddressRange::Parse("2001:db8::/32");
  REQUIRE(net.ok());
  CHECK(net->ToString() == "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
  CHECK(net->PrefixLength() == 32);
  Result<AddressRange> host = AddressRange::Parse("2001:db8::1/128");
  REQUIRE(host.ok());
  CHECK(host->first == host->last);
  Result<AddressRange> span = AddressRange::Parse("2001:db8::1-2001:db8::ff");
  REQUIRE(span.ok());
  CHECK(net->Contains(*span));
  CHECK_FALSE(span->Contains(*net));
}

TEST_CASE("AddressRange errors name what is wrong") {
  CHECK(ParseError("") == "empty address range");
  CHECK(ParseError("192.0.2.0/33") == "prefix length 33 out of range (0-32 for IPv4)");
  CHECK(ParseError("2001:db8::/129") == "prefix length 129 out of range (0-128 for IPv6)");
  CHECK(ParseError("192.0.2.0/x") == "prefix length 'x' in '192.0.2.0/x' is not a number");
  CHECK(ParseError("192.0.2.0/") == "prefix length '' in '192.0.2.0/' is not a number");
  CHECK(ParseError("192.0.2.300/24") ==
        "'192.0.2.300' in '192.0.2.300/24' is not an IPv4 or IPv6 address");
  CHECK(ParseError("host.example") ==
        "'host.example' in 'host.example' is not an IPv4 or IPv6 address");
  CHECK(ParseError("192.0.2.9-192.0.2.1") ==
        "range '192.0.2.9-192.0.2.1' is reversed: 192.0.2.9 is after 192.0.2.1");
  CHECK(ParseError("192.0.2.1-2001:db8::1") ==
        "range '192.0.2.1-2001:db8::1' mixes IPv4 and IPv6 addresses");
  CHECK(ParseError("192.0.2.1-") == "'' in '192.0.2.1-' is not an IPv4 or IPv6 address");
}

TEST_CASE("AddressRange::Contains") {
  AddressRange net = *AddressRange::Parse("10.0.0.0/8");
  CHECK(net.Contains(*AddressRange::Parse("10.1.2.3")));
  CHECK(net.Contains(*AddressRange::Parse("10.0.0.0-10.255.255.255")));
  CHECK(net.Contains(net));
  CHECK_FALSE(net.Contains(*AddressRange::Parse("9.255.255.255-10.0.0.5")));
  CHECK_FALSE(net.Contains(*AddressRange::Parse("11.0.0.0")));
  CHECK_FALSE(net.Contains(*AddressRange::Parse("::a00:1")));
  CHECK(AddressRange::Host(Ip("10.0.0.1")).Contains(*AddressRange::Parse(" 10.0.0.1 ")));
}

TEST_CASE("MaskPrefixLength accepts contiguous netmasks only") {
  auto mask = [](std::initializer_list<uint8_t> b) { return Bytes(b); };
  CHECK(MaskPrefixLength(mask({255, 255, 255, 0})) == 24);
  CHECK(MaskPrefixLength(mask({255, 255, 240, 0})) == 20);
  CHECK(MaskPrefixLength(mask({0, 0, 0, 0})) == 0);
  CHECK(MaskPrefixLength(mask({255, 255, 255, 255})) == 32);
  CHECK(MaskPrefixLength(Bytes(16, 0xff)) == 128);
  // RFC 2407 4.6.2.3: the mask names a CIDR block; these do not.
  CHECK_FALSE(MaskPrefixLength(mask({255, 0, 255, 0})).has_value());
  CHECK_FALSE(MaskPrefixLength(mask({255, 255, 0, 1})).has_value());
  CHECK_FALSE(MaskPrefixLength(mask({255, 15, 0, 0})).has_value());
  CHECK_FALSE(MaskPrefixLength(mask({254, 255, 0, 0})).has_value());
  Bytes v6(16, 0);
  v6[0] = 0xff;
  v6[15] = 0x80;
  CHECK_FALSE(MaskPrefixLength(v6).has_value());
}

TEST_CASE("PrefixesOf covers a range exactly with the fewest CIDR blocks") {
  auto prefixes = [](const char* text) {
    std::string out;
    for (const Prefix& p : PrefixesOf(*AddressRange::Parse(text))) {
      out += (out.empty() ? "" : " ") + p.ToString();
    }
    return out;
  };
  CHECK(prefixes("198.51.100.0/24") == "198.51.100.0/24");
  CHECK(prefixes("192.0.2.7") == "192.0.2.7/32");
  CHECK(prefixes("192.0.2.1-192.0.2.9") == "192.0.2.1/32 192.0.2.2/31 192.0.2.4/30 192.0.2.8/31");
  CHECK(prefixes("192.0.2.0-192.0.2.255") == "192.0.2.0/24");
  CHECK(prefixes("0.0.0.0/0") == "0.0.0.0/0");
  CHECK(prefixes("0.0.0.1-255.255.255.255").size() > 0);
  CHECK(PrefixesOf(*AddressRange::Parse("0.0.0.1-255.255.255.254")).size() == 62);
  CHECK(prefixes("::/0") == "::/0");
  CHECK(prefixes("2001:db8::1-2001:db8::3") == "2001:db8::1/128 2001:db8::2/127");
  CHECK(PrefixesOf(*AddressRange::Parse("::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")).size() ==
        254);
  // Malformed ranges: nothing, not a guess.
  AddressRange backwards{Ip("192.0.2.9"), Ip("192.0.2.1")};
  CHECK(PrefixesOf(backwards).empty());
  AddressRange mixed{Ip("192.0.2.1"), Ip("2001:db8::1")};
  CHECK(PrefixesOf(mixed).empty());
}

}  // namespace
}  // namespace ike
