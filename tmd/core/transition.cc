// The legal status moves of a tunnel (transition.h).
#include "tmd/core/transition.h"

namespace ike::tmd {
namespace {

using S = TunnelStatus;

// kLegal[from][to], in TunnelStatus order: Negotiating, Active, Failed,
// Dormant, Clear.
constexpr bool kLegal[5][5] = {
    /* Negotiating -> */ {true, true, true, false, true},
    /* Active      -> */ {false, true, true, false, false},
    /* Failed      -> */ {true, false, true, false, false},
    /* Dormant     -> */ {true, false, false, true, false},
    /* Clear       -> */ {true, false, true, false, true},
};

}  // namespace

bool LegalMove(TunnelStatus from, TunnelStatus to) {
  return kLegal[static_cast<size_t>(from)][static_cast<size_t>(to)];
}

uint64_t TransitionCounts::refused_total() const {
  uint64_t n = 0;
  for (const auto& row : refused_) {
    for (uint64_t v : row) n += v;
  }
  return n;
}

static_assert(static_cast<int>(S::kNegotiating) == 0 && static_cast<int>(S::kActive) == 1 &&
              static_cast<int>(S::kFailed) == 2 && static_cast<int>(S::kDormant) == 3 &&
              static_cast<int>(S::kClear) == 4);

}  // namespace ike::tmd
