#include "isakmpd/sa/message_ids.h"

namespace ike::isakmpd {

uint32_t MessageIdTable::Allocate(crypto::Random& random) {
  uint32_t id = 0;
  while (id == 0 || IsLive(id) || IsRecent(id)) id = random.NextU32();
  live_.insert(id);
  return id;
}

bool MessageIdTable::Register(uint32_t id) {
  if (id == 0 || IsLive(id) || IsRecent(id)) return false;
  live_.insert(id);
  return true;
}

void MessageIdTable::Finish(uint32_t id) {
  if (live_.erase(id)) Remember(id);
}

void MessageIdTable::Remember(uint32_t id) {
  recent_.push_back(id);
  recent_set_.insert(id);
  if (recent_.size() > kRecentLimit) {
    recent_set_.erase(recent_.front());
    recent_.pop_front();
  }
}

}  // namespace ike::isakmpd
