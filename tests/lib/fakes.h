// Fakes for unit tests and benchmarks: a manual clock with timers, a clock
// that never moves, and seeded randomness.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <unordered_map>
#include <utility>

#include "common/clock.h"
#include "common/crypto.h"

namespace ike::testing {

// Time moves only when a test calls Advance(); due timers fire in order.
class FakeClock : public Clock, public Timers {
 public:
  TimePoint Now() const override { return now_; }
  uint64_t UnixNow() const override { return 1700000000 + elapsed_ms_ / 1000; }
  TimerId Schedule(Duration delay, std::function<void()> fn) override {
    const TimerId id = next_id_++;
    const int64_t due = elapsed_ms_ + delay.count();
    timers_.emplace(std::make_pair(due, id), std::move(fn));
    due_by_id_.emplace(id, due);
    return id;
  }
  // O(log n), so that benchmarks with thousands of timers measure the engine
  // rather than the fake.
  void Cancel(TimerId id) override {
    auto it = due_by_id_.find(id);
    if (it == due_by_id_.end()) return;
    timers_.erase(std::make_pair(it->second, id));
    due_by_id_.erase(it);
  }
  // Runs every timer due within |ms|, advancing time to each in turn.
  void Advance(int64_t ms) {
    const int64_t end = elapsed_ms_ + ms;
    while (!timers_.empty() && timers_.begin()->first.first <= end) {
      auto it = timers_.begin();
      Move(it->first.first);
      auto fn = std::move(it->second);
      due_by_id_.erase(it->first.second);
      timers_.erase(it);
      fn();
    }
    Move(end);
  }
  // Runs timers that are due now (delay 0), e.g. deferred callbacks.
  void RunDue() { Advance(0); }
  size_t pending() const { return timers_.size(); }

 private:
  void Move(int64_t to) {
    now_ += std::chrono::milliseconds(to - elapsed_ms_);
    elapsed_ms_ = to;
  }
  TimePoint now_{};
  int64_t elapsed_ms_ = 0;
  TimerId next_id_ = 1;
  std::map<std::pair<int64_t, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, int64_t> due_by_id_;
};

// A clock stopped at one instant, for code that only stamps times.
class FixedClock : public Clock {
 public:
  TimePoint Now() const override { return TimePoint{}; }
  uint64_t UnixNow() const override { return 1700000000; }
};

class SeededRandom : public crypto::Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  void Fill(std::span<uint8_t> out) override {
    for (auto& b : out) b = static_cast<uint8_t>(engine_());
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace ike::testing
