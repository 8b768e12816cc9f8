// Time and timers as injected interfaces: the libevent adapter implements them
// in daemons; tests use FakeClock/FakeTimers (tests/lib/fakes.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace ike {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Wall-clock seconds since the epoch, for "established at" displays.
  virtual uint64_t UnixNow() const = 0;
};

using TimerId = uint64_t;

class Timers {
 public:
  virtual ~Timers() = default;
  // Runs |fn| once after |delay| on the owning event loop. Never 0.
  virtual TimerId Schedule(Duration delay, std::function<void()> fn) = 0;
  // Cancelling an unknown or already-fired timer is a no-op.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace ike
