// Message ids of one ISAKMP SA (RFC 2408 3.1, RFC 2409 5.5): the phase 2 and
// Informational exchanges under it, in both directions. Like strongSwan's
// iv_manager: ids are unique among live exchanges whoever started them, and
// the ids of recently finished exchanges are remembered (a bounded ring), so
// a replayed Quick Mode 1 with a genuine HASH(1) is recognised and dropped
// instead of being answered with fresh SAs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

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
  bool IsLive(uint32_t id) const { return Contains(live_, id); }
  bool IsRecent(uint32_t id) const { return Contains(recent_, id); }
  size_t live_count() const { return live_.size(); }

 private:
  // Plain vectors searched linearly: a handful of live exchanges and at most
  // kRecentLimit recent ids per SA, so a search is cheaper than hashing, and
  // an SA with one finished Quick Mode costs a few bytes instead of the
  // buckets and blocks of hash sets and a deque (memory per tunnel, issue 3).
  static bool Contains(const std::vector<uint32_t>& v, uint32_t id) {
    return std::find(v.begin(), v.end(), id) != v.end();
  }
  void Remember(uint32_t id);

  std::vector<uint32_t> live_;
  std::vector<uint32_t> recent_;  // a ring once full: next_recent_ is the oldest
  size_t next_recent_ = 0;
};

}  // namespace ike::isakmpd
