// A tunnel's status moves only along this table (issue 7, item 1): one
// transition function (TunnelManager::Transition) consults it; an illegal
// move is refused, logged as "cannot switch A -> B" and counted.
#pragma once

#include <array>
#include <cstdint>

#include "tmd/core/compact.h"

namespace ike::tmd {

// Staying put is legal (a second report, a later failure reason).
//   Negotiating -> Active       established (isakmpd's report, then install)
//   Negotiating -> Failed       failed, refused, or isakmpd went away
//   Active      -> Failed       a second report for the tunnel could not be installed
//   Failed      -> Negotiating  a peer negotiates again (responder tunnel reused),
//                               or traffic hits an on-demand trap again
//   Dormant     -> Negotiating  traffic hit the trap (XFRM acquire)
//   Negotiating -> Clear        negotiation discovery failed: traffic stays clear
//   Clear       -> Negotiating  traffic after the back-off: the next attempt
//   Clear       -> Failed       isakmpd went away
// (A tunnel that leaves Active goes away; an armed trap then makes a fresh
// Dormant row: there is no move into Dormant.)
// Illegal: Active -> Negotiating (an established tunnel never renegotiates
// in place; a rekey is a new SA), Failed -> Active (a late success for a
// tunnel already reported failed; activate starts a fresh tunnel instead).
bool LegalMove(TunnelStatus from, TunnelStatus to);

// Moves done and refused, by (from, to): for introspection and tests.
class TransitionCounts {
 public:
  void Count(TunnelStatus from, TunnelStatus to, bool legal) {
    (legal ? done_ : refused_)[Index(from)][Index(to)]++;
  }
  uint64_t done(TunnelStatus from, TunnelStatus to) const { return done_[Index(from)][Index(to)]; }
  uint64_t refused(TunnelStatus from, TunnelStatus to) const {
    return refused_[Index(from)][Index(to)];
  }
  uint64_t refused_total() const;

 private:
  static size_t Index(TunnelStatus s) { return static_cast<size_t>(s); }
  using Table = std::array<std::array<uint64_t, 5>, 5>;
  Table done_{};
  Table refused_{};
};

}  // namespace ike::tmd
