// Giving freed heap back to the kernel after a large one-off job.
#pragma once

#include <malloc.h>

#include <cstddef>

namespace ike {

// Parsing or receiving the tunnel database (or psk.db) allocates far more,
// briefly, than the result keeps; glibc leaves those freed pages resident, so
// each daemon's resident size would carry its peak for good (tens of MB with
// 20,000 tunnels, bench/README.md). Cheap enough for load and refresh; never
// on the per-packet path.
inline void ReturnFreedMemory() { malloc_trim(0); }

// When a daemon's live objects (SAs) fell well below their high-water mark,
// the freed heap is given back too: phase 1 re-establishment holds old and
// new ISAKMP SAs together for a while, and without this isakmpd kept that
// peak resident for good (bench/rekey: +14 % after the first round with
// 20,000 tunnels). Observe() is fed the count from a slow timer.
class TrimPolicy {
 public:
  // A drop of |min_drop| objects and |percent| % of the mark counts.
  explicit TrimPolicy(size_t min_drop = 256, size_t percent = 5)
      : min_drop_(min_drop), percent_(percent) {}
  // True when it is time to trim; the mark starts again from |count|.
  bool Observe(size_t count) {
    if (count > mark_) mark_ = count;
    const size_t drop = mark_ - count;
    if (drop < min_drop_ || drop * 100 < mark_ * percent_) return false;
    mark_ = count;
    return true;
  }

 private:
  size_t min_drop_, percent_;
  size_t mark_ = 0;
};

}  // namespace ike
