// Unit tests for the byte helpers in common/bytes.h.
#include <catch2/catch.hpp>

#include "common/bytes.h"

namespace ike {
namespace {

TEST_CASE("ToHex is lower case without separators", "[bytes]") {
  CHECK(ToHex(Bytes{}) == "");
  CHECK(ToHex(Bytes{0x00, 0x0f, 0xa5, 0xff}) == "000fa5ff");
}

TEST_CASE("FromHex accepts both cases and an optional 0x prefix", "[bytes]") {
  Bytes out;
  REQUIRE(FromHex("000fA5fF", &out));
  CHECK(out == Bytes{0x00, 0x0f, 0xa5, 0xff});
  REQUIRE(FromHex("0xDEad", &out));
  CHECK(out == Bytes{0xde, 0xad});
  REQUIRE(FromHex("0X01", &out));
  CHECK(out == Bytes{0x01});
  REQUIRE(FromHex("", &out));
  CHECK(out.empty());
}

TEST_CASE("FromHex rejects odd lengths and non-hex characters", "[bytes]") {
  Bytes out{0x42};
  CHECK_FALSE(FromHex("abc", &out));
  CHECK_FALSE(FromHex("0g", &out));
  CHECK_FALSE(FromHex("0x0", &out));
  CHECK_FALSE(FromHex("12 34", &out));
  CHECK(out == Bytes{0x42});  // untouched on failure
}

TEST_CASE("ToHex and FromHex round-trip every octet", "[bytes]") {
  Bytes all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  Bytes back;
  REQUIRE(FromHex(ToHex(all), &back));
  CHECK(back == all);
}

TEST_CASE("Concat joins parts in order", "[bytes]") {
  Bytes a{1, 2};
  Bytes b;
  Bytes c{3};
  CHECK(Concat({a, b, c}) == Bytes{1, 2, 3});
  CHECK(Concat({}).empty());
}

TEST_CASE("SecureWipe zeroes the bytes in place, then empties the buffer", "[bytes]") {
  Bytes b{1, 2, 3};
  const uint8_t* at = b.data();
  SecureWipe(&b);
  CHECK(b.empty());
  // The storage is kept (no copy of the secret was freed unwiped) and zeroed.
  REQUIRE(b.data() == at);
  CHECK((at[0] == 0 && at[1] == 0 && at[2] == 0));
  Bytes empty;
  SecureWipe(&empty);
  CHECK(empty.empty());
}

TEST_CASE("SecureWipe zeroes a string in place, then empties it", "[bytes]") {
  // Longer than the small-string buffer, so the bytes live on the heap.
  std::string s(64, 'k');
  const char* at = s.data();
  SecureWipe(&s);
  CHECK(s.empty());
  REQUIRE(s.data() == at);
  CHECK(std::string_view(at, 64) == std::string(64, '\0'));
  std::string small = "psk";
  SecureWipe(&small);
  CHECK(small.empty());
}

TEST_CASE("SecretBytes keeps its value until destroyed", "[bytes]") {
  SecretBytes s(Bytes{9, 8});
  CHECK(s.size() == 2);
  CHECK(s.bytes() == Bytes{9, 8});
}

}  // namespace
}  // namespace ike
