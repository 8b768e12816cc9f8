// Bounds-checked big-endian reading and writing of network byte order (RFC
// 2408 section 3 and every length-prefixed frame in the suite). The one place
// that shifts octets: codecs read through ByteReader and write through
// ByteWriter, nothing casts packed structs, and a read past the end is a
// `false`, never undefined behaviour.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"

namespace ike {

// Reads from a view it does not own (the caller keeps the bytes alive).
// |base| is the offset of the view's first byte in the buffer the caller
// handed to its parser, so errors can report offsets relative to the packet.
class ByteReader {
 public:
  explicit ByteReader(ByteView data, size_t base = 0) : data_(data), base_(base) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t offset() const { return base_ + pos_; }
  bool empty() const { return pos_ == data_.size(); }

  // Each returns false, and consumes nothing, when too few bytes are left.
  bool U8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = data_[pos_++];
    return true;
  }
  bool U16(uint16_t* v) {
    if (remaining() < 2) return false;
    *v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
         (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return true;
  }
  // A sub-view of |n| bytes, consumed.
  bool View(size_t n, ByteView* v) {
    if (remaining() < n) return false;
    *v = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool Copy(size_t n, Bytes* out) {
    ByteView v;
    if (!View(n, &v)) return false;
    out->assign(v.begin(), v.end());
    return true;
  }
  template <size_t N>
  bool Array(std::array<uint8_t, N>* out) {
    ByteView v;
    if (!View(N, &v)) return false;
    std::copy(v.begin(), v.end(), out->begin());
    return true;
  }
  // Everything that is left.
  Bytes Rest() {
    Bytes out(data_.begin() + static_cast<std::ptrdiff_t>(pos_), data_.end());
    pos_ = data_.size();
    return out;
  }

 private:
  ByteView data_;
  size_t base_;
  size_t pos_ = 0;
};

// Appends to a buffer it does not own, with back-patching of 16-bit lengths.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}

  size_t size() const { return out_.size(); }
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  void Put(ByteView b) { Append(out_, b); }
  // Writes a placeholder 16-bit length; returns its position for PatchLength.
  size_t Reserve16() {
    U16(0);
    return out_.size() - 2;
  }
  // Patches the length at |pos| to cover the bytes from |start| to the end.
  // Lengths above 0xffff cannot be expressed; callers keep payloads smaller.
  void PatchLength(size_t pos, size_t start) {
    const size_t len = out_.size() - start;
    out_[pos] = static_cast<uint8_t>(len >> 8);
    out_[pos + 1] = static_cast<uint8_t>(len);
  }

 private:
  Bytes& out_;
};

// A 32-bit value as 4 octets in network order (SPIs, message ids, lengths).
inline std::array<uint8_t, 4> BigEndian32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// The first 4 octets of |b| in network order; false when |b| is shorter.
inline bool ReadBigEndian32(ByteView b, uint32_t* v) { return ByteReader(b).U32(v); }

}  // namespace ike
