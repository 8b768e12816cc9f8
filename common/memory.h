// Giving freed heap back to the kernel after a large one-off job.
#pragma once

#include <malloc.h>

namespace ike {

// Parsing or receiving the tunnel database (or psk.db) allocates far more,
// briefly, than the result keeps; glibc leaves those freed pages resident, so
// each daemon's resident size would carry its peak for good (tens of MB with
// 20,000 tunnels, bench/README.md). Cheap enough for load and refresh; never
// on the per-packet path.
inline void ReturnFreedMemory() { malloc_trim(0); }

}  // namespace ike
