// Byte-buffer helpers (common/bytes.h).
#include "common/bytes.h"

#include <openssl/crypto.h>

namespace ike {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Value of one hex digit, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ToHex(ByteView b) {
  std::string out;
  out.reserve(b.size() * 2);
  for (uint8_t v : b) {
    out.push_back(kHexDigits[v >> 4]);
    out.push_back(kHexDigits[v & 0x0f]);
  }
  return out;
}

bool FromHex(std::string_view hex, Bytes* out) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.size() % 2 != 0) return false;
  Bytes result(hex.size() / 2);
  for (size_t i = 0; i < result.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    result[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  *out = std::move(result);
  return true;
}

Bytes Concat(std::initializer_list<ByteView> parts) {
  size_t total = 0;
  for (ByteView p : parts) total += p.size();
  Bytes out;
  out.reserve(total);
  for (ByteView p : parts) Append(out, p);
  return out;
}

void SecureWipe(Bytes* b) {
  if (!b->empty()) OPENSSL_cleanse(b->data(), b->size());
  b->clear();
}

void SecureWipe(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

}  // namespace ike
