#include "isakmpd/sa/message_ids.h"

namespace ike::isakmpd {

uint32_t MessageIdTable::Allocate(crypto::Random& random) {
  uint32_t id = 0;
  while (id == 0 || IsLive(id) || IsRecent(id)) id = random.NextU32();
  live_.push_back(id);
  return id;
}

bool MessageIdTable::Register(uint32_t id) {
  if (id == 0 || IsLive(id) || IsRecent(id)) return false;
  live_.push_back(id);
  return true;
}

void MessageIdTable::Finish(uint32_t id) {
  auto it = std::find(live_.begin(), live_.end(), id);
  if (it == live_.end()) return;
  *it = live_.back();
  live_.pop_back();
  if (live_.empty()) std::vector<uint32_t>().swap(live_);  // no capacity kept per idle SA
  Remember(id);
}

// The oldest recent id is overwritten once kRecentLimit are remembered.
void MessageIdTable::Remember(uint32_t id) {
  if (recent_.size() < kRecentLimit) {
    recent_.push_back(id);
    return;
  }
  recent_[next_recent_] = id;
  next_recent_ = (next_recent_ + 1) % kRecentLimit;
}

}  // namespace ike::isakmpd
