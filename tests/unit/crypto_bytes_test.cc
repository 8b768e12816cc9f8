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

TEST_CASE("Wipe zeroes the buffer and SecretBytes keeps its value", "[bytes]") {
  Bytes b{1, 2, 3};
  Wipe(b);
  CHECK(b == Bytes{0, 0, 0});
  Bytes empty;
  Wipe(empty);
  CHECK(empty.empty());
  SecretBytes s(Bytes{9, 8});
  CHECK(s.size() == 2);
  CHECK(s.bytes() == Bytes{9, 8});
}

}  // namespace
}  // namespace ike
