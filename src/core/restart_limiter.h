// Restart throttling for srcmstr: a subsystem that dies more than
// |max_restarts| times within |window| is given up on (marked inoperative)
// instead of being restarted in a tight loop.
#pragma once

#include <deque>

#include "common/clock.h"

namespace ike::src {

class RestartLimiter {
 public:
  explicit RestartLimiter(int max_restarts = 5, Duration window = Duration(60000))
      : max_restarts_(max_restarts), window_(window) {}

  // Records a restart at |now| and returns true, or returns false (recording
  // nothing) when |max_restarts| already happened within the window.
  bool Allow(TimePoint now);
  // An explicit startsrc/stopsrc starts the count afresh.
  void Reset() { restarts_.clear(); }
  size_t recent() const { return restarts_.size(); }

 private:
  int max_restarts_;
  Duration window_;
  std::deque<TimePoint> restarts_;
};

}  // namespace ike::src
