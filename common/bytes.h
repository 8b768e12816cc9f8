// Byte buffers and helpers shared by every layer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ike {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView View(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string ToString(ByteView b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Lower-case hex, no separators. Never call on secrets outside tests.
std::string ToHex(ByteView b);
// Accepts upper/lower case, optional "0x" prefix; false on odd length or non-hex.
bool FromHex(std::string_view hex, Bytes* out);

// Appends |tail| to |out|.
inline void Append(Bytes& out, ByteView tail) { out.insert(out.end(), tail.begin(), tail.end()); }
Bytes Concat(std::initializer_list<ByteView> parts);

// The one secure wipe for secrets (PSKs, SKEYID*, keys, g^xy): overwrites
// every byte with zeros through OPENSSL_cleanse, whose stores the optimiser
// cannot drop as dead (a plain std::fill before a free may be removed), then
// empties the buffer. The capacity is kept, already zeroed.
void SecureWipe(Bytes* b);
void SecureWipe(std::string* s);

// Bytes that are wiped on destruction: for keys and SKEYIDs.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(Bytes b) : b_(std::move(b)) {}
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  SecretBytes(SecretBytes&&) = default;
  SecretBytes& operator=(SecretBytes&&) = default;
  ~SecretBytes() { SecureWipe(&b_); }
  ByteView view() const { return b_; }
  const Bytes& bytes() const { return b_; }
  size_t size() const { return b_.size(); }
  bool empty() const { return b_.empty(); }

 private:
  Bytes b_;
};

}  // namespace ike
