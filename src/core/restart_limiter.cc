#include "src/core/restart_limiter.h"

namespace ike::src {

bool RestartLimiter::Allow(TimePoint now) {
  while (!restarts_.empty() && now - restarts_.front() >= window_) restarts_.pop_front();
  if (static_cast<int>(restarts_.size()) >= max_restarts_) return false;
  restarts_.push_back(now);
  return true;
}

}  // namespace ike::src
