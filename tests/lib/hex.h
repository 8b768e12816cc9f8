// Hex literals for Catch2 tests: H("0a0b") is the bytes {0x0a, 0x0b}; bad hex
// fails the test that wrote it.
#pragma once

#include <catch2/catch.hpp>
#include <string_view>

#include "common/bytes.h"

namespace ike::testing {

inline Bytes H(std::string_view hex) {
  Bytes out;
  REQUIRE(FromHex(hex, &out));
  return out;
}

}  // namespace ike::testing
