// The bounds-checked big-endian reader and writer (common/byte_reader.h).
// Linked against ike_common alone (the "bytes" prefix), which is pure.
#include <catch2/catch.hpp>

#include "common/byte_reader.h"

namespace ike {
namespace {

// U8 0x01 | U16 0x0203 | U32 0x04050607 | 3 octets | 2 octets of rest.
const Bytes kRecord = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xa0, 0xa1, 0xa2, 0xb0, 0xb1};

// Reads kRecord's fields from |data|; false at the first field that does not fit.
bool ReadRecord(ByteView data) {
  ByteReader r(data);
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  std::array<uint8_t, 3> three{};
  Bytes two;
  if (!r.U8(&u8) || !r.U16(&u16) || !r.U32(&u32) || !r.Array(&three) || !r.Copy(2, &two)) {
    return false;
  }
  CHECK(u8 == 0x01);
  CHECK(u16 == 0x0203);
  CHECK(u32 == 0x04050607);
  CHECK(three == std::array<uint8_t, 3>{0xa0, 0xa1, 0xa2});
  CHECK(two == Bytes{0xb0, 0xb1});
  CHECK(r.empty());
  return true;
}

TEST_CASE("every truncated prefix of a record fails to read; the whole record reads") {
  for (size_t n = 0; n < kRecord.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK_FALSE(ReadRecord(ByteView(kRecord).first(n)));
  }
  CHECK(ReadRecord(kRecord));
}

TEST_CASE("a read that does not fit consumes nothing") {
  for (size_t n = 0; n < 4; ++n) {
    INFO("buffer of " << n << " bytes");
    Bytes data(n, 0xff);
    ByteReader r(data);
    uint32_t u32 = 7;
    CHECK_FALSE(r.U32(&u32));
    CHECK(u32 == 7);
    CHECK(r.remaining() == n);
    ByteView v;
    CHECK_FALSE(r.View(n + 1, &v));
    CHECK(r.remaining() == n);
    CHECK(r.Rest() == data);
    CHECK(r.empty());
    uint8_t u8 = 0;
    CHECK_FALSE(r.U8(&u8));
  }
}

TEST_CASE("offsets count from the base the caller gives") {
  ByteReader r(kRecord, 100);
  uint16_t v = 0;
  CHECK(r.offset() == 100);
  REQUIRE(r.U16(&v));
  CHECK(r.offset() == 102);
}

TEST_CASE("ByteWriter writes network order and patches lengths") {
  Bytes out;
  ByteWriter w(out);
  w.U8(0x01);
  w.U16(0x0203);
  w.U32(0x04050607);
  const size_t start = w.size();
  const size_t length_at = w.Reserve16();
  w.Put(Bytes{0xaa, 0xbb});
  w.PatchLength(length_at, start);
  CHECK(out == Bytes{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x00, 0x04, 0xaa, 0xbb});
  // What the writer wrote, the reader reads back.
  ByteReader r(out);
  uint8_t a = 0;
  uint16_t b = 0;
  uint32_t c = 0;
  REQUIRE((r.U8(&a) && r.U16(&b) && r.U32(&c)));
  CHECK((a == 0x01 && b == 0x0203 && c == 0x04050607));
}

TEST_CASE("BigEndian32 and ReadBigEndian32 round-trip and refuse short input") {
  CHECK(BigEndian32(0xdeadbeef) == std::array<uint8_t, 4>{0xde, 0xad, 0xbe, 0xef});
  const auto bytes = BigEndian32(0x01020304);
  uint32_t v = 0;
  REQUIRE(ReadBigEndian32(bytes, &v));
  CHECK(v == 0x01020304);
  for (size_t n = 0; n < 4; ++n) CHECK_FALSE(ReadBigEndian32(ByteView(bytes).first(n), &v));
}

}  // namespace
}  // namespace ike
