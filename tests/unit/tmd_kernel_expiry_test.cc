// The state-only kernel's expiry timer (tmd/core/kernel.cc) on a clock with
// microseconds: an expiry due a fraction of a millisecond after the timer
// fired must not be polled for with 0 ms timers (each one an event loop turn:
// bench/rekey measured 13-15 x the crypto bound per rekey with them).
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <vector>

#include "tmd/core/kernel.h"

namespace ike::tmd {
namespace {

// Time in microseconds; timers in whole milliseconds, as the event loop's.
class MicroClock : public Clock, public Timers {
 public:
  TimePoint Now() const override { return TimePoint() + std::chrono::microseconds(now_us_); }
  uint64_t UnixNow() const override { return 1700000000 + now_us_ / 1000000; }
  TimerId Schedule(Duration delay, std::function<void()> fn) override {
    const TimerId id = next_id_++;
    timers_.emplace(std::make_pair(now_us_ + delay.count() * 1000, id), std::move(fn));
    return id;
  }
  void Cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it)
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
  }
  // Runs timers until |until_us|, counting how many ran.
  void RunUntil(int64_t until_us) {
    while (!timers_.empty() && timers_.begin()->first.first <= until_us && runs < 10000) {
      auto it = timers_.begin();
      now_us_ = it->first.first;
      auto fn = std::move(it->second);
      timers_.erase(it);
      ++runs;
      fn();
    }
    now_us_ = until_us;
  }
  void Set(int64_t us) { now_us_ = us; }
  int runs = 0;

 private:
  int64_t now_us_ = 0;
  TimerId next_id_ = 1;
  std::map<std::pair<int64_t, TimerId>, std::function<void()>> timers_;
};

SaSpec Sa(uint32_t spi) {
  SaSpec s;
  s.tunnel = 1;
  s.direction = Direction::kInbound;
  s.spi = spi;
  s.source = *IpAddress::Parse("192.0.2.2");
  s.destination = *IpAddress::Parse("192.0.2.1");
  s.lifetime_seconds = 10;
  s.soft_seconds = 5;
  return s;
}

TEST_CASE("state-only kernel: an expiry due within a millisecond is not polled for") {
  MicroClock clock;
  StateOnlyKernel kernel(nullptr, &clock);
  std::vector<KernelEvent> events;
  kernel.Attach(clock, [&](const KernelEvent& e) { events.push_back(e); });
  clock.Set(400);  // 0.4 ms
  REQUIRE(kernel.InstallSa(Sa(0x1001)).ok());
  clock.Set(1700);  // 1.7 ms: its limits fall 1.3 ms after the first SA's
  REQUIRE(kernel.InstallSa(Sa(0x1002)).ok());
  clock.RunUntil(6'000'000);
  REQUIRE(events.size() == 2);  // both soft limits
  CHECK(events[0].spi == 0x1001);
  CHECK(events[1].spi == 0x1002);
  CHECK_FALSE(events[1].hard);
  // One timer per expiry, and at most one more for a rounding: not a turn of
  // the loop per idle poll until the due time.
  CHECK(clock.runs <= 3);
  clock.RunUntil(11'000'000);
  CHECK(events.size() == 4);
  CHECK(clock.runs <= 6);
  CHECK(kernel.ListSas().empty());
}

}  // namespace
}  // namespace ike::tmd
