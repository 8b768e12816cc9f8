// Message ids of one ISAKMP SA (RFC 2408 3.1, RFC 2409 5.5): the phase 2 and
// Informational exchanges under it, in both directions. Like strongSwan's
// iv_manager: ids are unique among live exchanges whoever started them, and
// the ids of recently finished exchanges are remembered (a bounded ring), so
// a replayed Quick Mode 1 with a genuine HASH(1) is recognised and dropped
// instead of being answered with fresh SAs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_set>

#include "common/crypto.h"

namespace ike::isakmpd {

class MessageIdTable {
 public:
  static constexpr size_t kRecentLimit = 64;

  // A new non-zero id that is neither live nor recent; registered live.
  uint32_t Allocate(crypto::Random& random);
  // A peer's new exchange: false if |id| is live or recently finished.
  bool Register(uint32_t id);
  // The exchange ended (done, failed or removed): the id becomes recent.
  void Finish(uint32_t id);
  bool IsLive(uint32_t id) const { return live_.count(id) != 0; }
  bool IsRecent(uint32_t id) const { return recent_set_.count(id) != 0; }
  size_t live_count() const { return live_.size(); }

 private:
  void Remember(uint32_t id);

  std::unordered_set<uint32_t> live_;
  std::deque<uint32_t> recent_;  // oldest first, at most kRecentLimit
  std::unordered_set<uint32_t> recent_set_;
};

}  // namespace ike::isakmpd
